// Command record is the Slipway record Lambda: it writes the deployment's final status and report to the ledger.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load(context.Background()))
	deps := env.Deps()
	deps.Ledger = lambdaenv.Must(env.Ledger())
	deps.Notifier = lambdaenv.Must(env.Notifier())
	// For the report: the change since the served release, the freeze
	// windows (from the bundles) and the exact restore procedure.
	deps.Artifacts = lambdaenv.Must(env.Artifacts())
	deps.Snapshots = env.Snapshots()
	h := &pipeline.Record{Deps: deps}
	lambda.Start(h.Handle)
}
