// Command lock is the Slipway lock Lambda: it takes and releases the
// environment's lease in the ledger. A lease whose execution is no longer
// running is taken over: the lock function then closes that execution's
// record from what it observes of the fleet (through SSM) and sends it to
// the topic.
package main

import (
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/slipway-deploy/slipway/internal/execution"
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

// settleWait bounds each of the two waits of a takeover (the orphan's
// running commands, then the observation), inside the function's timeout.
const settleWait = 100 * time.Second

// handler builds the handler over the clients it calls: DynamoDB; Step
// Functions to ask whether a lease's execution still runs; SSM and SNS to
// close the record of one that does not.
func handler(env *lambdaenv.Env) (*pipeline.Lock, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.SSMDocument, lambdaenv.TopicARN); err != nil {
		return nil, err
	}
	executions := &execution.SFN{Client: sfn.NewFromConfig(env.AWS)}
	l := &pipeline.Lock{Deps: &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger: &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Fleet: &fleet.SSM{Client: ssm.NewFromConfig(env.AWS), DocumentName: env.Get(lambdaenv.SSMDocument),
			OutputBucket: env.Get(lambdaenv.OutputBucket), OutputPrefix: lambdaenv.OutputPrefix, LogGroup: env.Get(lambdaenv.OutputLogGroup),
			TimeoutSeconds: env.CommandTimeout(), HealthPort: env.HealthPort()},
		Notifier:   &notify.SNS{Client: sns.NewFromConfig(env.AWS), TopicARN: env.Get(lambdaenv.TopicARN)},
		Alive:      executions.Alive,
		SettleWait: settleWait,
	}}
	if env.HasTargetGroups() {
		// A takeover puts back into its target groups what the orphan took
		// out, where it is healthy on a release that served (reattach).
		l.Traffic = &elbv2.ELBv2{Client: elb.NewFromConfig(env.AWS)}
	}
	return l, nil
}
