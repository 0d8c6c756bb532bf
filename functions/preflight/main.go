// Command preflight is the Slipway preflight Lambda: it validates a deployment request, verifies the release and its checksum, checks the database and the targets, and plans the waves.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/schema"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/internal/traffic/elbv2"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the handler over the clients it calls: DynamoDB, S3, SSM
// (the targets and the configuration's parameters), Secrets Manager (the
// database secret, the configuration's secrets and its fingerprint key),
// the database (the migration plan),
// and ELBv2 when an environment names target groups.
func handler(env *lambdaenv.Env) (*pipeline.Preflight, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.ArtifactBucket, lambdaenv.SSMDocument); err != nil {
		return nil, err
	}
	deps := &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger:    &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Artifacts: &artifact.S3{Client: s3.NewFromConfig(env.AWS), Bucket: env.Get(lambdaenv.ArtifactBucket)},
		Fleet: &fleet.SSM{Client: ssm.NewFromConfig(env.AWS), DocumentName: env.Get(lambdaenv.SSMDocument),
			OutputBucket: env.Get(lambdaenv.OutputBucket), OutputPrefix: lambdaenv.OutputPrefix, LogGroup: env.Get(lambdaenv.OutputLogGroup),
			TimeoutSeconds: env.CommandTimeout(), HealthPort: env.HealthPort()},
		Secrets: &secret.Manager{Client: secretsmanager.NewFromConfig(env.AWS)},
		// The release's configuration: every reference resolved (the
		// values are dropped), fingerprinted under the app's key.
		ConfigStore:   &appconfig.AWS{SSM: ssm.NewFromConfig(env.AWS), Secrets: secretsmanager.NewFromConfig(env.AWS)},
		OpenDB:        migrate.OpenDB,
		MigrationPlan: schema.Plan,
		// A canary analysis's metrics are only named here (the plan shows
		// them); the health function reads them.
		CanaryMetrics: &health.CloudWatchCanary{},
	}
	if env.HasTargetGroups() {
		// Only environments behind a load balancer need ELBv2.
		deps.Traffic = &elbv2.ELBv2{Client: elb.NewFromConfig(env.AWS)}
	}
	return &pipeline.Preflight{Deps: deps}, nil
}
