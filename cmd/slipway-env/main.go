// Command slipway-env resolves a release's configuration on a host: the
// host script runs it at activation (SLIPWAY_CONFIG_RESOLVER) to write the
// release's environment file from SSM Parameter Store and Secrets Manager,
// with the instance role. See internal/hostconfig.
package main

import (
	"context"
	"os"

	"github.com/slipway-deploy/slipway/internal/hostconfig"
)

func main() {
	os.Exit(hostconfig.Main(context.Background(), os.Args[1:], os.Stderr, nil))
}
