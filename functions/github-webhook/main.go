// Command github-webhook is the Slipway GitHub webhook Lambda, behind a
// Function URL: it verifies each delivery's X-Hub-Signature-256 with the
// webhook secret in Secrets Manager, drops redeliveries, answers ping,
// and puts a push to a mapped branch on EventBridge as the slipway.git
// event the push router deploys.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/slipway-deploy/slipway/internal/github"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/secret"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the receiver over the clients it calls: Secrets Manager
// (the webhook secret, slipway/<app>/github-webhook), DynamoDB (the
// deliveries seen) and EventBridge (the default bus).
func handler(env *lambdaenv.Env) (*github.Receiver, error) {
	if err := env.Require(lambdaenv.Table); err != nil {
		return nil, err
	}
	return &github.Receiver{
		Config:     env.Config,
		Secrets:    &secret.Manager{Client: secretsmanager.NewFromConfig(env.AWS)},
		SecretName: github.SecretName(env.Config.App),
		Deliveries: &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Bus:        &github.EventBus{Client: eventbridge.NewFromConfig(env.AWS)},
		Log:        env.Log,
	}, nil
}
