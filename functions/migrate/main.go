// Command migrate is the Slipway migrate Lambda: it applies the release's
// migrations under a lock, and reverts reversible ones on rollback.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/schema"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/internal/snapshot"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load())
	lambda.Start(lambdaenv.Must(handler(env)).Handle)
}

// handler builds the handler over the clients it calls: DynamoDB, S3 (the
// release's migrations), Secrets Manager and the database. It names the
// snapshot's restore procedure in its errors, which takes no RDS call.
func handler(env *lambdaenv.Env) (*schema.Migrate, error) {
	if err := env.Require(lambdaenv.Table, lambdaenv.ArtifactBucket); err != nil {
		return nil, err
	}
	return &schema.Migrate{Deps: &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger:    &ledger.Dynamo{Client: dynamodb.NewFromConfig(env.AWS), Table: env.Get(lambdaenv.Table)},
		Artifacts: &artifact.S3{Client: s3.NewFromConfig(env.AWS), Bucket: env.Get(lambdaenv.ArtifactBucket)},
		Secrets:   &secret.Manager{Client: secretsmanager.NewFromConfig(env.AWS)},
		OpenDB:    migrate.OpenDB,
		Snapshots: restoreProcedures,
	}}, nil
}

// restoreProcedures gives the snapshotter of an environment without an RDS
// client: migrate only reads its restore procedure.
func restoreProcedures(_ string, c config.Environment) (pipeline.Snapshotter, error) {
	return snapshot.RDSDatabase{DBInstance: c.DBInstance, DBCluster: c.DBCluster}, nil
}
