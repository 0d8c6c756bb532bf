// Package lock is `slipway lock`: a person's manual freeze of an
// environment. While it holds, no deployment takes the environment's lease
// (automation never overrides it), and rollbacks wait too. It is separate
// from the lease an execution holds while it deploys (`slipway unlock`).
package lock

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Options are the lock commands' inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)
	Now     func() time.Time

	// Action is status, acquire or release.
	Action  string
	Env     string
	Message string
	As      string
	JSON    bool
}

// NewCmdLock returns the lock command and its subcommands. runF, when not
// nil, replaces the run of each.
func NewCmdLock(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lock <command>",
		Short: "Freeze an environment by hand, or see who did",
		Long: "A manual lock stops every deployment of an environment until a person releases it: automation\n" +
			"never overrides it. It is not the lease a running deployment holds; for a stuck lease see `slipway unlock`.",
		Args: cobra.NoArgs,
	}
	for _, sub := range []struct{ action, use, short, example string }{
		{"status", "status --env ENV [--json]", "Show the manual lock and the lease on an environment", "  slipway lock status --env production"},
		{"acquire", "acquire --env ENV -m MESSAGE", "Freeze an environment: no deployment starts until it is released", "  slipway lock acquire --env production -m \"investigating the 5xx spike\""},
		{"release", "release --env ENV", "Release an environment's manual lock", "  slipway lock release --env production"},
	} {
		opts := &Options{IO: f.IO, Backend: f.Backend, Action: sub.action}
		c := &cobra.Command{
			Use: sub.use, Short: sub.short, Example: sub.example, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				if opts.Env == "" {
					return factory.WithHint(factory.ExitUsage, fmt.Errorf("--env is required"), "for example: "+strings.TrimSpace(sub.example))
				}
				if opts.Action == "acquire" && strings.TrimSpace(opts.Message) == "" {
					return factory.WithHint(factory.ExitUsage, fmt.Errorf("lock acquire needs -m MESSAGE"), "say why, for the people whose deployments it stops")
				}
				if runF != nil {
					return runF(opts)
				}
				return run(cmd.Context(), opts)
			},
		}
		c.Flags().StringVarP(&opts.Env, "env", "e", "", "the environment (required)")
		switch sub.action {
		case "status":
			c.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
		case "acquire":
			c.Flags().StringVarP(&opts.Message, "message", "m", "", "why (required): shown to whoever it stops")
			c.Flags().StringVar(&opts.As, "as", "", "who locks, for the record (default: the AWS caller or $USER)")
		case "release":
			c.Flags().StringVar(&opts.As, "as", "", "who releases, for the record (default: the AWS caller or $USER)")
		}
		cmd.AddCommand(c)
	}
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
	switch opts.Action {
	case "status":
		locks, err := l.Locks(ctx, app, opts.Env)
		if err != nil {
			return outcome.Error(err)
		}
		if opts.JSON {
			if locks == nil {
				locks = []ledger.Lock{}
			}
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(locks)
		}
		if len(locks) == 0 {
			fmt.Fprintf(w, "%s/%s is free: no manual lock, no lease\n", app, opts.Env)
		}
		for _, lk := range locks {
			fmt.Fprintln(w, Describe(lk, now()))
		}
		return nil
	case "acquire":
		who := backend.Who(ctx, b, opts.As)
		locks, err := l.Locks(ctx, app, opts.Env)
		if err != nil {
			return outcome.Error(err)
		}
		for _, lk := range locks {
			if lk.Kind == ledger.LockManual && lk.Owner != who {
				return factory.WithHint(factory.ExitRefused, fmt.Errorf("%s/%s is already frozen by %s: %q", app, opts.Env, lk.Owner, lk.Message),
					"ask them; their lock stays until they release it")
			}
		}
		if err := l.Freeze(ctx, app, opts.Env, who, opts.Message, now()); err != nil {
			return outcome.Error(err)
		}
		record(ctx, l, app, opts.Env, now(), "lock-acquired", fmt.Sprintf("%s froze %s: %s", who, opts.Env, opts.Message))
		fmt.Fprintf(w, "%s/%s is frozen by %s: %q\nno deployment starts until `slipway lock release --env %s`\n", app, opts.Env, who, opts.Message, opts.Env)
		for _, lk := range locks {
			if lk.Kind == ledger.LockLease && now().Before(lk.ExpiresAt) {
				fmt.Fprintf(w, "note: deployment %s holds the lease and goes on; the lock stops the next one\n", lk.DeploymentID)
			}
		}
		return nil
	case "release":
		who := backend.Who(ctx, b, opts.As)
		locks, err := l.Locks(ctx, app, opts.Env)
		if err != nil {
			return outcome.Error(err)
		}
		released, err := l.Unfreeze(ctx, app, opts.Env)
		if err != nil {
			return outcome.Error(err)
		}
		if !released {
			fmt.Fprintf(w, "%s/%s has no manual lock: nothing to release\n", app, opts.Env)
			return nil
		}
		owner := "?"
		for _, lk := range locks {
			if lk.Kind == ledger.LockManual {
				owner = lk.Owner
			}
		}
		record(ctx, l, app, opts.Env, now(), "lock-released", fmt.Sprintf("%s released the manual lock %s had taken on %s", who, owner, opts.Env))
		fmt.Fprintf(w, "%s/%s is no longer frozen (the lock was %s's)\n", app, opts.Env, owner)
		return nil
	}
	return factory.UsageError("lock: unknown action %q", opts.Action)
}

// record writes an event; the lock itself is what matters, so a failure
// here is only a warning.
func record(ctx context.Context, l backend.Ledger, app, env string, at time.Time, kind, msg string) {
	_ = l.AddEvent(ctx, ledger.Event{App: app, Environment: env, At: at, Source: "cli", Kind: kind, Message: msg})
}

// Describe says what a lock is, for people.
func Describe(l ledger.Lock, now time.Time) string {
	if l.Kind == ledger.LockManual {
		return fmt.Sprintf("manual lock: %s/%s frozen by %s since %s: %q", l.App, l.Environment, l.Owner, l.AcquiredAt.UTC().Format("2006-01-02 15:04:05 UTC"), l.Message)
	}
	state := "expires " + l.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC")
	if !now.Before(l.ExpiresAt) {
		state = "EXPIRED at " + l.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return fmt.Sprintf("lease: held by execution %s for deployment %s since %s, %s", l.Owner, l.DeploymentID, l.AcquiredAt.UTC().Format("2006-01-02 15:04:05 UTC"), state)
}
