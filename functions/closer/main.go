// Command closer is the Slipway closer Lambda: the execution-status rule
// sends it every deploy or rollback execution that timed out, was stopped
// or failed. When one ended without writing its outcome (its record is
// still RUNNING), the closer waits for the host commands it left running,
// observes the fleet through SSM, records STOPPED, ABANDONED or FAILED from
// that observation, releases the lease and sends the report to the topic.
package main

import (
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/notify"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/traffic/elbv2"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// settleWait bounds each of the two waits (the execution's running
// commands, then the observation), inside the function's timeout.
const settleWait = 4 * time.Minute

// handler builds the closer over the clients it calls: DynamoDB, SSM and SNS.
func handler(env *lambdaenv.Env) (*pipeline.Closer, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.SSMDocument, lambdaenv.TopicARN, lambdaenv.DeployStateMachine, lambdaenv.RollbackStateMachine); err != nil {
		return nil, err
	}
	c := &pipeline.Closer{
		Deps: &pipeline.Deps{
			Config: env.Config, Log: env.Log,
			Ledger: &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
			Fleet: &fleet.SSM{Client: ssm.NewFromConfig(env.AWS), DocumentName: env.Get(lambdaenv.SSMDocument),
				OutputBucket: env.Get(lambdaenv.OutputBucket), OutputPrefix: lambdaenv.OutputPrefix, LogGroup: env.Get(lambdaenv.OutputLogGroup),
				TimeoutSeconds: env.CommandTimeout(), HealthPort: env.HealthPort()},
			Notifier:   &notify.SNS{Client: sns.NewFromConfig(env.AWS), TopicARN: env.Get(lambdaenv.TopicARN)},
			SettleWait: settleWait,
		},
		Machines: []string{env.Get(lambdaenv.DeployStateMachine), env.Get(lambdaenv.RollbackStateMachine)},
	}
	if env.HasTargetGroups() {
		// What the deployment took out of its target groups goes back in
		// where it is healthy on a release that served (reattach).
		c.Traffic = &elbv2.ELBv2{Client: elb.NewFromConfig(env.AWS)}
	}
	return c, nil
}
