// Command approval is the Slipway approval Lambda: the deploy state machine
// calls it with a task token before a production deployment takes the
// lock; it records the request in the ledger and sends it to the SNS
// topic, then the execution waits for `slipway approve` or `slipway reject`.
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
	h := &pipeline.Approval{Deps: deps}
	lambda.Start(h.Handle)
}
