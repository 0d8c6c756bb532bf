// Command snapshot is the Slipway snapshot Lambda: it snapshots the RDS database before migrations and reports the snapshot's status.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

func main() {
	env, err := lambdaenv.Load(context.Background())
	if err != nil {
		slog.Error("configure the snapshot function", "err", err)
		os.Exit(1)
	}
	deps, err := env.Deps(lambdaenv.Ledger, lambdaenv.Snapshots)
	if err != nil {
		env.Log.Error("configure the snapshot function", "err", err)
		os.Exit(1)
	}
	h := &pipeline.Snapshot{Deps: deps}
	lambda.Start(h.Handle)
}
