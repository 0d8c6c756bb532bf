// Package downto is `slipway migrations down-to VERSION`: run the stored
// down migrations of the migrations above VERSION, newest first, but only
// for migrations classified reversible; it stops at the first one that is
// not and says how to restore instead.
package downto

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/target"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Options are the down-to command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Version int64
	DB      target.DB
}

// NewCmdDownTo returns the down-to command. runF replaces the run in tests.
func NewCmdDownTo(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "down-to VERSION (--database-url URL | --local)",
		Short: "Revert the migrations above VERSION, where they are reversible",
		Long: `Down-to runs, newest first, the down SQL stored when each migration above
VERSION was applied. It stops at the first migration that is not
reversible (no down file, marked irreversible, destructive, or dirty):
that one and those below it stay. Exit status 1 when it could not reach
VERSION.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || v < 0 {
				return factory.UsageError("VERSION must be a migration number (0 reverts everything reversible), got %q", args[0])
			}
			opts.Version = v
			if err := opts.DB.Check(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	opts.DB.Register(cmd.Flags())
	return cmd
}

// Run reverts.
func Run(ctx context.Context, opts *Options) error {
	db, dbs, err := opts.DB.Open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(opts.IO.ErrOut, opts.DB.Target(dbs))
	r := &migrate.Runner{DB: db, Engine: dbs.Family(), Progress: func(ev migrate.Event) {
		if ev.Action == "reverted" {
			fmt.Fprintf(opts.IO.ErrOut, "reverted %d_%s\n", ev.Version, ev.Name)
		}
	}}
	reverted, kept, err := r.DownTo(ctx, opts.Version, nil)
	if err != nil {
		return errors.New(secret.Scrub(fmt.Sprintf("%v (reverted before it: %v)", err, reverted), dbs.Password))
	}
	switch {
	case len(reverted) == 0 && len(kept) == 0:
		fmt.Fprintf(opts.IO.Out, "nothing above version %d to revert\n", opts.Version)
	case len(kept) == 0:
		fmt.Fprintf(opts.IO.Out, "reverted %v: the schema is at version %d or below\n", reverted, opts.Version)
	default:
		fmt.Fprintf(opts.IO.Out, "reverted %v; kept %v: migration %d is not reversible, so the schema was NOT brought down to %d. To go further back, restore the snapshot taken before it was applied (`%s` shows which deployment applied it).\n",
			reverted, kept, kept[0], opts.Version, opts.DB.Command("status", ""))
		return &factory.SilentError{Code: factory.ExitFailed}
	}
	return nil
}
