// Command rollback is the Slipway rollback Lambda: it switches the instances a deployment moved back to the previous release through SSM.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the handler over the clients it calls: DynamoDB and SSM.
func handler(env *lambdaenv.Env) (*pipeline.Rollback, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.SSMDocument); err != nil {
		return nil, err
	}
	return &pipeline.Rollback{Deps: &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger: &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Fleet: &fleet.SSM{Client: ssm.NewFromConfig(env.AWS), DocumentName: env.Get(lambdaenv.SSMDocument),
			OutputBucket: env.Get(lambdaenv.OutputBucket), OutputPrefix: lambdaenv.OutputPrefix, LogGroup: env.Get(lambdaenv.OutputLogGroup),
			TimeoutSeconds: env.CommandTimeout(), HealthPort: env.HealthPort()},
	}}, nil
}
