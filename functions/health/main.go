// Command health is the Slipway health Lambda: it probes a wave's instances for the expected version, checks the CloudWatch alarms, runs the smoke checks and the canary analysis (CloudWatch metrics per instance).
package main

import (
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the handler over the clients it calls: DynamoDB, SSM (the
// instances' addresses), CloudWatch, and SSM Parameter Store and Secrets
// Manager (the release's secret configuration values, redacted from what
// the smoke checks record), and probes instances over HTTP.
func handler(env *lambdaenv.Env) (*pipeline.Health, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.SSMDocument); err != nil {
		return nil, err
	}
	return &pipeline.Health{Port: env.HealthPort(), Deps: &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger: &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Fleet: &fleet.SSM{Client: ssm.NewFromConfig(env.AWS), DocumentName: env.Get(lambdaenv.SSMDocument),
			OutputBucket: env.Get(lambdaenv.OutputBucket), OutputPrefix: lambdaenv.OutputPrefix, LogGroup: env.Get(lambdaenv.OutputLogGroup),
			TimeoutSeconds: env.CommandTimeout(), HealthPort: env.HealthPort()},
		Prober:      health.NewProber(3 * time.Second),
		Alarms:      &health.CloudWatch{Client: cloudwatch.NewFromConfig(env.AWS)},
		ConfigStore: &appconfig.AWS{SSM: ssm.NewFromConfig(env.AWS), Secrets: secretsmanager.NewFromConfig(env.AWS)},
		// The canary analysis's metrics, per instance (GetMetricData).
		CanaryMetrics: &health.CloudWatchCanary{Client: cloudwatch.NewFromConfig(env.AWS)},
	}}, nil
}
