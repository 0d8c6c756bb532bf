// Command migrate is the Slipway migrate Lambda: it applies the release's migrations under a lock, and reverts reversible ones on rollback.
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
		slog.Error("configure the migrate function", "err", err)
		os.Exit(1)
	}
	deps, err := env.Deps(lambdaenv.Ledger, lambdaenv.Artifacts, lambdaenv.Database, lambdaenv.Snapshots)
	if err != nil {
		env.Log.Error("configure the migrate function", "err", err)
		os.Exit(1)
	}
	h := &pipeline.Migrate{Deps: deps}
	lambda.Start(h.Handle)
}
