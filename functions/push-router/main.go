// Command push-router is the Slipway push router Lambda: EventBridge sends
// it git pushes (CodeCommit or slipway.git events); it starts the
// deployment of the pushed commit's release to the mapped environment,
// once per event, coalescing pushes that arrive while a deployment runs.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/execution"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the router over the clients it calls: DynamoDB, S3 and
// Step Functions.
func handler(env *lambdaenv.Env) (*trigger.PushRouter, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.ArtifactBucket, lambdaenv.DeployStateMachine); err != nil {
		return nil, err
	}
	return &trigger.PushRouter{
		Config:    env.Config,
		Ledger:    &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Artifacts: &artifact.S3{Client: s3.NewFromConfig(env.AWS), Bucket: env.Get(lambdaenv.ArtifactBucket)},
		Starter: &execution.SFN{Client: sfn.NewFromConfig(env.AWS),
			Machines: map[string]string{trigger.MachineDeploy: env.Get(lambdaenv.DeployStateMachine)}},
		Log: env.Log,
	}, nil
}
