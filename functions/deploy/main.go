// Command deploy is the Slipway deploy Lambda: it activates the release on a wave of instances through SSM Run Command, polls the result, checks the hosts before the lock and the targets after the last wave.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/traffic/elbv2"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the handler over the clients it calls: DynamoDB and SSM, and
// ELBv2 when an environment names target groups.
func handler(env *lambdaenv.Env) (*pipeline.Deploy, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.SSMDocument); err != nil {
		return nil, err
	}
	deps := &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger: &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Fleet: &fleet.SSM{Client: ssm.NewFromConfig(env.AWS), DocumentName: env.Get(lambdaenv.SSMDocument),
			OutputBucket: env.Get(lambdaenv.OutputBucket), OutputPrefix: lambdaenv.OutputPrefix, LogGroup: env.Get(lambdaenv.OutputLogGroup),
			TimeoutSeconds: env.CommandTimeout(), HealthPort: env.HealthPort()},
	}
	if env.HasTargetGroups() {
		// Only environments behind a load balancer need ELBv2.
		deps.Traffic = &elbv2.ELBv2{Client: elb.NewFromConfig(env.AWS)}
	}
	return &pipeline.Deploy{Deps: deps}, nil
}
