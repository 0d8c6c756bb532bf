// Command snapshot is the Slipway snapshot Lambda: it snapshots the RDS database before migrations and reports the snapshot's status.
package main

import (
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/snapshot"
	"github.com/slipway-deploy/slipway/internal/snapshot/awsrds"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the handler over the clients it calls: DynamoDB, RDS, and
// S3 for the release's manifest (its migrations.keep_snapshots).
func handler(env *lambdaenv.Env) (*pipeline.Snapshot, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.ArtifactBucket); err != nil {
		return nil, err
	}
	client := rds.NewFromConfig(env.AWS)
	return &pipeline.Snapshot{Deps: &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger:    &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Artifacts: &artifact.S3{Client: s3.NewFromConfig(env.AWS), Bucket: env.Get(lambdaenv.ArtifactBucket)},
		Snapshots: func(name string, c config.Environment) (pipeline.Snapshotter, error) {
			if c.DBInstance == "" && c.DBCluster == "" {
				return nil, fmt.Errorf("environment %s has neither db_instance nor db_cluster in the Slipway configuration: Slipway will not migrate without a snapshot", name)
			}
			return &awsrds.RDS{Client: client, RDSDatabase: snapshot.RDSDatabase{DBInstance: c.DBInstance, DBCluster: c.DBCluster},
				Tags: map[string]string{"slipway:app": env.Config.App, "slipway:env": name}}, nil
		},
	}}, nil
}
