// Command health is the Slipway health Lambda: it probes a wave's instances for the expected version and checks the CloudWatch alarms.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load(context.Background()))
	deps := env.Deps()
	deps.Ledger = lambdaenv.Must(env.Ledger())
	deps.Fleet = lambdaenv.Must(env.Fleet())
	deps.Prober, deps.Alarms = env.Prober(), env.Alarms()
	h := &pipeline.Health{Deps: deps, Port: env.HealthPort()}
	lambda.Start(h.Handle)
}
