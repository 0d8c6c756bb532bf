// Command deploy is the Slipway deploy Lambda: it activates the release on a wave of instances through SSM Run Command, polls the result, checks the hosts before the lock and the targets after the last wave.
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
	h := &pipeline.Deploy{Deps: deps}
	lambda.Start(h.Handle)
}
