// Command rollback is the Slipway rollback Lambda: it switches the instances a deployment moved back to the previous release through SSM.
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
		slog.Error("configure the rollback function", "err", err)
		os.Exit(1)
	}
	deps, err := env.Deps(lambdaenv.Ledger, lambdaenv.Fleet)
	if err != nil {
		env.Log.Error("configure the rollback function", "err", err)
		os.Exit(1)
	}
	h := &pipeline.Rollback{Deps: deps}
	lambda.Start(h.Handle)
}
