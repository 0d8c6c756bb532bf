// Command health is the Slipway health Lambda: it probes a wave's instances for the expected version and checks the CloudWatch alarms.
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
		slog.Error("configure the health function", "err", err)
		os.Exit(1)
	}
	deps, err := env.Deps(lambdaenv.Ledger, lambdaenv.Fleet, lambdaenv.Health)
	if err != nil {
		env.Log.Error("configure the health function", "err", err)
		os.Exit(1)
	}
	h := &pipeline.Health{Deps: deps, Port: env.HealthPort()}
	lambda.Start(h.Handle)
}
