// Command migrate is the Slipway migrate Lambda: it applies the release's
// migrations under a lock, and reverts reversible ones on rollback.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/schema"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load(context.Background()))
	deps := env.Deps()
	deps.Ledger = lambdaenv.Must(env.Ledger())
	deps.Artifacts = lambdaenv.Must(env.Artifacts())
	deps.Secrets, deps.OpenDB = env.Secrets(), migrate.OpenDB
	deps.Snapshots = env.Snapshots()
	h := &schema.Migrate{Deps: deps}
	lambda.Start(h.Handle)
}
