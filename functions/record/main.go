// Command record is the Slipway record Lambda: it writes the deployment's final status and report to the ledger.
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
		slog.Error("configure the record function", "err", err)
		os.Exit(1)
	}
	deps, err := env.Deps(lambdaenv.Ledger)
	if err != nil {
		env.Log.Error("configure the record function", "err", err)
		os.Exit(1)
	}
	h := &pipeline.Record{Deps: deps}
	lambda.Start(h.Handle)
}
