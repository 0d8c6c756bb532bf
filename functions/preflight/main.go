// Command preflight is the Slipway preflight Lambda: it validates a deployment request, verifies the release and its checksum, checks the database and the targets, and plans the waves.
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
		slog.Error("configure the preflight function", "err", err)
		os.Exit(1)
	}
	deps, err := env.Deps(lambdaenv.Ledger, lambdaenv.Artifacts, lambdaenv.Fleet, lambdaenv.Database)
	if err != nil {
		env.Log.Error("configure the preflight function", "err", err)
		os.Exit(1)
	}
	h := &pipeline.Preflight{Deps: deps}
	lambda.Start(h.Handle)
}
