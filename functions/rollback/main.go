// Command rollback is the Slipway rollback Lambda: it switches the instances a deployment moved back to the previous release through SSM.
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
	deps.Fleet = lambdaenv.Must(env.Fleet())
	h := &pipeline.Rollback{Deps: deps}
	lambda.Start(h.Handle)
}
