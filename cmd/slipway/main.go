// Command slipway deploys a web application to EC2 and RDS through AWS Step
// Functions, or to the embedded environment on this machine.
package main

import (
	"os"

	"github.com/slipway-deploy/slipway/internal/cli"
)

func main() {
	os.Exit(cli.Main())
}
