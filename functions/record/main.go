// Command record is the Slipway record Lambda: it writes the deployment's final status and report to the ledger.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/notify"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/snapshot"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the handler over the clients it calls: DynamoDB, SNS, and
// S3 for the report (the change since the served release, the freeze
// windows). The report names the snapshot's exact restore procedure, which
// takes no RDS call.
func handler(env *lambdaenv.Env) (*pipeline.Record, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.TopicARN, lambdaenv.ArtifactBucket); err != nil {
		return nil, err
	}
	return &pipeline.Record{Deps: &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger:    &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Notifier:  &notify.SNS{Client: sns.NewFromConfig(env.AWS), TopicARN: env.Get(lambdaenv.TopicARN)},
		Artifacts: &artifact.S3{Client: s3.NewFromConfig(env.AWS), Bucket: env.Get(lambdaenv.ArtifactBucket)},
		Snapshots: restoreProcedures,
		// Embedded-metric-format lines: CloudWatch Logs turns the
		// function's stdout into the Slipway metrics the dashboard shows.
		Metrics: os.Stdout,
	}}, nil
}

// restoreProcedures gives the snapshotter of an environment without an RDS
// client: the report only reads its restore procedure.
func restoreProcedures(_ string, c config.Environment) (pipeline.Snapshotter, error) {
	return snapshot.RDSDatabase{DBInstance: c.DBInstance, DBCluster: c.DBCluster}, nil
}
