// Package up is `slipway migrations up`: apply the pending migrations of
// a directory to a database under the runner lock, after the same lint
// gate a deploy goes through.
package up

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/target"
	"github.com/slipway-deploy/slipway/internal/lint"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Options are the up command's inputs.
type Options struct {
	IO               *factory.IOStreams
	Dir              string
	DB               target.DB
	Retry            bool
	IgnorePolicy     bool
	LockWait         time.Duration
	LockTimeout      time.Duration
	StatementTimeout time.Duration
}

// NewCmdUp returns the up command. runF replaces the run in tests.
func NewCmdUp(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "up [DIR] (--database-url URL | --local)",
		Short: "Apply the pending migrations of DIR, once, under the migration lock",
		Long: `Up applies DIR's pending migrations (default: migrations) the way a deploy
does: under the runner lock, with the manifest's timeouts, resuming a
migration that stopped part way. It takes no snapshot: a deploy does.
It refuses (exit 3) when the manifest's policy blocks a pending migration.`,
		Args: cobra.MaximumNArgs(1),
		RunE: target.RunE(&opts.DB, &opts.Dir, func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return Run(ctx, opts)
		}),
	}
	opts.DB.Register(cmd.Flags())
	cmd.Flags().BoolVar(&opts.Retry, "retry", false, "run a dirty migration's failed statement again although the file is unchanged")
	cmd.Flags().BoolVar(&opts.IgnorePolicy, "ignore-policy", false, "apply migrations the manifest's policy blocks")
	cmd.Flags().DurationVar(&opts.LockWait, "lock-wait", 0, "how long to wait for another runner (default: migrations.lock_wait, 1m)")
	cmd.Flags().DurationVar(&opts.LockTimeout, "lock-timeout", 0, "lock_timeout for each statement (default: migrations.lock_timeout, 5s)")
	cmd.Flags().DurationVar(&opts.StatementTimeout, "statement-timeout", 0, "statement_timeout (default: migrations.statement_timeout, 15m)")
	return cmd
}

// Run applies the migrations.
func Run(ctx context.Context, opts *Options) error {
	rel, err := target.LoadDir(opts.Dir)
	if err != nil {
		return err
	}
	db, dbs, err := opts.DB.Open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(opts.IO.ErrOut, opts.DB.Target(dbs))
	r := &migrate.Runner{DB: db, Engine: dbs.Family(), DeploymentID: "cli", Retry: opts.Retry,
		LockWait: opts.LockWait, LockTimeout: opts.LockTimeout, StatementTimeout: opts.StatementTimeout,
		Progress: func(ev migrate.Event) {
			switch ev.Action {
			case "apply", "resume":
				fmt.Fprintf(opts.IO.ErrOut, "%s %d_%s ...\n", ev.Action, ev.Version, ev.Name)
			case "applied":
				fmt.Fprintf(opts.IO.ErrOut, "applied %d_%s in %s\n", ev.Version, ev.Name, ev.Duration.Round(time.Millisecond))
			}
		}}
	if m := rel.Manifest; m != nil {
		mm := m.Migrations
		r.LockWait = pick(opts.LockWait, mm.LockWait.Duration)
		r.LockTimeout = pick(opts.LockTimeout, mm.LockTimeout.Duration)
		r.StatementTimeout = pick(opts.StatementTimeout, mm.StatementTimeout.Duration)
	}
	st, err := r.Status(ctx, rel.Migrations)
	if err != nil {
		return errors.New(secret.Scrub(err.Error(), dbs.Password))
	}
	if len(st.Pending) == 0 {
		fmt.Fprintf(opts.IO.Out, "schema is at %d: nothing to apply\n", st.Current)
		return nil
	}
	if !opts.IgnorePolicy {
		policy := rel.Policy()
		pending := map[int64]bool{}
		for _, m := range st.Pending {
			pending[m.Version] = true
		}
		var blocked []lint.Result
		for _, res := range lint.Lint(rel.Migrations, lint.Options{Engine: rel.Engine("", dbs.Family())}) {
			if pending[res.Version] && len(policy.Blocks(res)) > 0 {
				blocked = append(blocked, res)
			}
		}
		if len(blocked) > 0 {
			return factory.WithHint(factory.ExitRefused, fmt.Errorf("the migration policy blocks %d pending migration(s); nothing was applied:%s", len(blocked), policy.Explain(blocked)),
				fmt.Sprintf("`%s` shows the verdicts; `%s --ignore-policy` applies them anyway", opts.DB.Command("plan", opts.Dir), opts.DB.Command("up", opts.Dir)))
		}
	}
	applied, err := r.Up(ctx, rel.Migrations)
	if err != nil {
		return errors.New(secret.Scrub(fmt.Sprintf("%v (applied before it: %v)", err, applied), dbs.Password))
	}
	fmt.Fprintf(opts.IO.Out, "schema %d → %d: applied %v\n", st.Current, applied[len(applied)-1], applied)
	return nil
}

func pick(flag, manifest time.Duration) time.Duration {
	if flag > 0 {
		return flag
	}
	return manifest
}
