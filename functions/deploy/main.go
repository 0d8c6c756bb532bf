// Command deploy is the Slipway deploy Lambda: it activates the release on a wave of instances through SSM Run Command and polls the result.
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
		slog.Error("configure the deploy function", "err", err)
		os.Exit(1)
	}
	deps, err := env.Deps(lambdaenv.Ledger, lambdaenv.Fleet)
	if err != nil {
		env.Log.Error("configure the deploy function", "err", err)
		os.Exit(1)
	}
	h := &pipeline.Deploy{Deps: deps}
	lambda.Start(h.Handle)
}
