// Command alarm-router is the Slipway alarm router Lambda: EventBridge sends
// it CloudWatch alarm state changes; for an alarm in ALARM after a
// deployment (within its watch window) it starts one rollback, and it
// records every decision in the ledger.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load(context.Background()))
	r := &trigger.AlarmRouter{
		Config:  env.Config,
		Ledger:  lambdaenv.Must(env.Ledger()),
		Starter: lambdaenv.Must(env.Starter()),
		Log:     env.Log,
	}
	lambda.Start(r.Handle)
}
