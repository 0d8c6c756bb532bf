// Command snapshot is the Slipway snapshot Lambda: it snapshots the RDS database before migrations and reports the snapshot's status.
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
	deps.Artifacts = lambdaenv.Must(env.Artifacts()) // the manifest's keep_snapshots
	deps.Snapshots = env.Snapshots()
	h := &pipeline.Snapshot{Deps: deps}
	lambda.Start(h.Handle)
}
