// Command push-router is the Slipway push router Lambda: EventBridge sends
// it git pushes (CodeCommit or slipway.git events); it starts the
// deployment of the pushed commit's release to the mapped environment,
// once per commit, coalescing pushes that arrive while a deployment runs.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load(context.Background()))
	r := &trigger.PushRouter{
		Config:    env.Config,
		Ledger:    lambdaenv.Must(env.Ledger()),
		Artifacts: lambdaenv.Must(env.Artifacts()),
		Starter:   lambdaenv.Must(env.Starter()),
		Log:       env.Log,
	}
	lambda.Start(r.Handle)
}
