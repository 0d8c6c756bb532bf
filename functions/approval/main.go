// Command approval is the Slipway approval Lambda: the deploy state machine
// calls it with a task token before a production deployment takes the
// lock; it records the request in the ledger and sends it to the SNS
// topic, then the execution waits for `slipway approve` or `slipway reject`.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/notify"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the handler over the clients it calls: DynamoDB and SNS.
func handler(env *lambdaenv.Env) (*pipeline.Approval, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.TopicARN); err != nil {
		return nil, err
	}
	return &pipeline.Approval{Deps: &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger:   &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Notifier: &notify.SNS{Client: sns.NewFromConfig(env.AWS), TopicARN: env.Get(lambdaenv.TopicARN)},
	}}, nil
}
