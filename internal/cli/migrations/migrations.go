// Package migrations is `slipway migrations`: lint, plan, status, up and
// down-to, each in its own package.
package migrations

import (
	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/downto"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/lint"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/plan"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/status"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/up"
)

// NewCmdMigrations returns the migrations command and its subcommands.
func NewCmdMigrations(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrations <command>",
		Short: "Lint, plan and apply database migrations; show their state; revert reversible ones",
	}
	cmd.AddCommand(lint.NewCmdLint(f, nil))
	cmd.AddCommand(plan.NewCmdPlan(f, nil))
	cmd.AddCommand(status.NewCmdStatus(f, nil))
	cmd.AddCommand(up.NewCmdUp(f, nil))
	cmd.AddCommand(downto.NewCmdDownTo(f, nil))
	return cmd
}
