// Command lock is the Slipway lock Lambda: it takes and releases the environment's lease in the ledger.
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
	h := &pipeline.Lock{Deps: deps}
	lambda.Start(h.Handle)
}
