// Command lock is the Slipway lock Lambda: it takes and releases the environment's lease in the ledger.
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
		slog.Error("configure the lock function", "err", err)
		os.Exit(1)
	}
	deps, err := env.Deps(lambdaenv.Ledger)
	if err != nil {
		env.Log.Error("configure the lock function", "err", err)
		os.Exit(1)
	}
	h := &pipeline.Lock{Deps: deps}
	lambda.Start(h.Handle)
}
