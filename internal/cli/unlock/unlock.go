// Package unlock is `slipway unlock --force`: clear the lease a stuck
// deployment left on an environment. It says whose lease it breaks and
// records that in the ledger. A person's manual lock is `slipway lock
// release`, never this.
package unlock

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/lock"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Options are the unlock command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)
	Now     func() time.Time

	Env    string
	Force  bool
	Reason string
	As     string
}

// NewCmdUnlock returns the unlock command. runF, when not nil, replaces
// the run.
func NewCmdUnlock(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "unlock --env ENV --force [--reason TEXT]",
		Short: "Break the lease a stuck deployment left on an environment",
		Long: `A running deployment holds its environment's lease and releases it when it ends; a lease also
expires by itself. When an execution died without releasing it, unlock --force deletes the lease,
says whose it was, and records that in the ledger. If that deployment is in fact still running, it
goes on without a lease, so check ` + "`slipway status`" + ` first. It never touches a manual lock.`,
		Example: `  slipway unlock --env staging --force --reason "execution aborted in the console"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Env == "" {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("--env is required"), "for example: slipway unlock --env staging --force")
			}
			if !opts.Force {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("unlock breaks a deployment's lease and needs --force"),
					"check `slipway status --env "+opts.Env+"` first; a manual lock is released with `slipway lock release`")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Env, "env", "e", "", "the environment (required)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "really break the lease (required)")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why: recorded with the event")
	cmd.Flags().StringVar(&opts.As, "as", "", "who breaks it, for the record (default: the AWS caller or $USER)")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	app := b.Config().App
	if _, err := b.Config().Env(opts.Env); err != nil {
		return outcome.Error(err)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	l := b.Ledger()
	w := opts.IO.Out
	broken, ok, err := l.BreakLease(ctx, app, opts.Env)
	if err != nil {
		return outcome.Error(err)
	}
	if !ok {
		fmt.Fprintf(w, "%s/%s has no lease: nothing to break\n", app, opts.Env)
		if locks, err := l.Locks(ctx, app, opts.Env); err == nil {
			for _, lk := range locks {
				fmt.Fprintf(w, "%s (release it with `slipway lock release --env %s`, if it is yours to release)\n", lock.Describe(lk, now()), opts.Env)
			}
		}
		return nil
	}
	who := backend.Who(ctx, b, opts.As)
	msg := fmt.Sprintf("%s broke the lease of deployment %s (execution %s, held since %s)", who, broken.DeploymentID, broken.Owner,
		broken.AcquiredAt.UTC().Format(time.RFC3339))
	if opts.Reason != "" {
		msg += ": " + opts.Reason
	}
	detail, _ := json.Marshal(broken)
	if err := l.AddEvent(ctx, ledger.Event{App: app, Environment: opts.Env, At: now(), Source: "cli", Kind: "lease-broken", Message: msg,
		DeploymentID: broken.DeploymentID, Detail: detail}); err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "warning: the lease is broken but the event was not recorded: %v\n", err)
	}
	fmt.Fprintf(w, "broke the lease on %s/%s: %s\n", app, opts.Env, lock.Describe(broken, now()))
	if d, err := l.GetDeployment(ctx, broken.DeploymentID); err == nil && !d.Final() {
		fmt.Fprintf(w, "warning: the ledger says deployment %s is still %s; if its execution is alive, it goes on without a lease\n", d.ID, d.Status)
	}
	return nil
}
