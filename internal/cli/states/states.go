// Package states is `slipway states`: the commands that work on Step
// Functions state machine definitions with the embedded engine
// (internal/asl), without AWS.
package states

import (
	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/states/run"
)

// NewCmdStates returns the states command and its subcommands.
func NewCmdStates(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "states <command>",
		Short: "Run Step Functions state machines on the embedded engine",
		Long: "Run Amazon States Language definitions in process, as Step Functions would run them: " +
			"the same statemachine/*.asl.json that deploys on AWS, with its Tasks served by the embedded environment.",
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(run.NewCmdRun(f, nil))
	return cmd
}
