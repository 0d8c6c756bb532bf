// Command preflight is the Slipway preflight Lambda: it validates a deployment request, verifies the release and its checksum, checks the database and the targets, and plans the waves.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/schema"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load(context.Background()))
	deps := env.Deps()
	deps.Ledger = lambdaenv.Must(env.Ledger())
	deps.Artifacts = lambdaenv.Must(env.Artifacts())
	deps.Fleet = lambdaenv.Must(env.Fleet())
	deps.Secrets, deps.OpenDB = env.Secrets(), migrate.OpenDB
	deps.MigrationPlan = schema.Plan
	h := &pipeline.Preflight{Deps: deps}
	lambda.Start(h.Handle)
}
