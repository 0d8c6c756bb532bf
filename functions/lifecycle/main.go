// Command lifecycle is the Slipway lifecycle Lambda: EventBridge sends it
// Auto Scaling "EC2 Instance-launch Lifecycle Action" events of the
// configured groups; it activates the environment's release on the new
// instance, probes it, and completes the launch lifecycle action with
// CONTINUE, or ABANDON when the instance cannot run the release.
package main

import (
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/autoscale/asg"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/traffic/elbv2"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the handler over the clients it calls: DynamoDB (the
// ledger), S3 (the release), SSM (the activation and the instance's
// address) and Auto Scaling (the lifecycle action), and probes the
// instance over HTTP on the health port.
func handler(env *lambdaenv.Env) (*pipeline.Lifecycle, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.ArtifactBucket, lambdaenv.SSMDocument); err != nil {
		return nil, err
	}
	lc := &pipeline.Lifecycle{Port: env.HealthPort(), Poll: time.Second, Heartbeat: time.Minute, Wait: 10 * time.Minute,
		Actions: &asg.AutoScaling{Client: autoscaling.NewFromConfig(env.AWS)},
		Deps: &pipeline.Deps{
			Config: env.Config, Log: env.Log,
			Ledger:    &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
			Artifacts: &artifact.S3{Client: s3.NewFromConfig(env.AWS), Bucket: env.Get(lambdaenv.ArtifactBucket)},
			Fleet: &fleet.SSM{Client: ssm.NewFromConfig(env.AWS), DocumentName: env.Get(lambdaenv.SSMDocument),
				OutputBucket: env.Get(lambdaenv.OutputBucket), OutputPrefix: lambdaenv.OutputPrefix, LogGroup: env.Get(lambdaenv.OutputLogGroup),
				TimeoutSeconds: env.CommandTimeout(), HealthPort: env.HealthPort()},
			Prober: health.NewProber(3 * time.Second),
		}}
	if env.HasTargetGroups() {
		// An instance launched in a blue/green side's group gets that
		// side's release: the listener says which side serves.
		lc.Traffic = &elbv2.ELBv2{Client: elb.NewFromConfig(env.AWS)}
	}
	return lc, nil
}
