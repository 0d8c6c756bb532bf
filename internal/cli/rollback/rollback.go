// Package rollback is `slipway rollback`: put an environment back on the
// release that served before its last deployment, or on a given one.
package rollback

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/execute"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
)

// Options are the rollback command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)

	Env           string
	To            string
	Reason        string
	As            string
	Wait, WaitSet bool
	Poll          time.Duration
}

// NewCmdRollback returns the rollback command. runF, when not nil,
// replaces the run.
func NewCmdRollback(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "rollback --env ENV [--to VERSION]",
		Short: "Roll an environment back to the release that served before",
		Long: `Start the rollback state machine: every instance switches back to the previous release (or --to)
without a download or a rebuild, is verified, and the rolled-back deployment's reversible migrations
are reverted; migrations that are not reversible stay, and the report says how to restore the snapshot.

Rollbacks are never stopped by a freeze window, but a person's manual lock stops them too.

Exit status: 0 when it ROLLED_BACK; 1 when it failed; 2 for bad flags; 3 when refused (a manual lock).`,
		Example: `  slipway rollback --env production
  slipway rollback --local --env staging --to v1 --reason "5xx after v2"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.WaitSet = cmd.Flags().Changed("wait")
			if opts.Env == "" {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("--env is required"), "for example: slipway rollback --env production")
			}
			if opts.To != "" {
				if err := artifact.ValidVersion(opts.To); err != nil {
					return factory.UsageError("--to: %v", err)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Env, "env", "e", "", "the environment to roll back (required)")
	cmd.Flags().StringVar(&opts.To, "to", "", "the release to return to (default: the one that served before the last deployment)")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why: recorded with the rollback")
	cmd.Flags().StringVar(&opts.As, "as", "", "who rolls back, for the record (default: the AWS caller or $USER)")
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "follow the rollback to its end (always, locally)")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	_, err = Start(ctx, opts, b)
	return err
}

// Start starts the rollback on an open backend.
func Start(ctx context.Context, opts *Options, b backend.Backend) (execute.Result, error) {
	cfg := b.Config()
	if _, err := cfg.Env(opts.Env); err != nil {
		return execute.Result{}, outcome.Error(err)
	}
	req := contract.RollbackRequest{App: cfg.App, Environment: opts.Env, ToVersion: opts.To,
		Trigger: contract.Trigger{Source: "cli", Actor: backend.Who(ctx, b, opts.As), Reason: opts.Reason}}
	in, _ := json.Marshal(req)
	what := "roll " + opts.Env + " back"
	if opts.To != "" {
		what += " to " + opts.To
	}
	return execute.Run(ctx, opts.IO.Out, b, execute.Request{
		Machine: backend.MachineRollback, Name: backend.ExecutionName(opts.Env, "rollback"), Input: in,
		What: what, Wait: opts.Wait || !opts.WaitSet && b.Local(), Poll: opts.Poll,
	})
}
