// Command benchengine compares Slipway's embedded Step Functions engine
// with aws-local-stepfunctions on the same definitions (make
// bench-engine). See package bench.
package main

import (
	"context"
	"os"

	"github.com/slipway-deploy/slipway/internal/asl/bench"
)

func main() {
	os.Exit(bench.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
