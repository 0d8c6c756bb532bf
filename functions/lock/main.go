// Command lock is the Slipway lock Lambda: it takes and releases the environment's lease in the ledger.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the handler over the clients it calls: DynamoDB.
func handler(env *lambdaenv.Env) (*pipeline.Lock, error) {
	if err := env.Require(lambdaenv.Table); err != nil {
		return nil, err
	}
	return &pipeline.Lock{Deps: &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger: &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
	}}, nil
}
