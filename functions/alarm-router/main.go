// Command alarm-router is the Slipway alarm router Lambda: EventBridge sends
// it CloudWatch alarm state changes; for an alarm in ALARM after a
// deployment (within its watch window) it starts one rollback, and it
// records every decision in the ledger.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/slipway-deploy/slipway/internal/execution"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the router over the clients it calls: DynamoDB and Step
// Functions.
func handler(env *lambdaenv.Env) (*trigger.AlarmRouter, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.RollbackStateMachine); err != nil {
		return nil, err
	}
	return &trigger.AlarmRouter{
		Config: env.Config,
		Ledger: &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Starter: &execution.SFN{Client: sfn.NewFromConfig(env.AWS),
			Machines: map[string]string{trigger.MachineRollback: env.Get(lambdaenv.RollbackStateMachine)}},
		Log: env.Log,
	}, nil
}
