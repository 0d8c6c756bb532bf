// Command aslconformance replays the execution histories LocalStack
// recorded on AWS Step Functions on Slipway's embedded engine and prints
// how many pass, by area. See package conformance.
package main

import (
	"context"
	"os"

	"github.com/slipway-deploy/slipway/internal/asl/conformance"
)

func main() {
	os.Exit(conformance.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
