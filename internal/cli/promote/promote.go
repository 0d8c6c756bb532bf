// Package promote is `slipway promote`: deploy to one environment a
// release that succeeded on another, and refuse one that did not.
package promote

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/deploy"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Options are the promote command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)

	From, To, Version string
	Wait, WaitSet     bool
	Reason, As        string
}

// NewCmdPromote returns the promote command. runF, when not nil, replaces
// the run.
func NewCmdPromote(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "promote --from ENV --to ENV --version VERSION",
		Short: "Deploy a release that succeeded on one environment to the next",
		Long: `Promote deploys VERSION to --to only if the ledger shows that it SUCCEEDED on --from and was not
rolled back since; otherwise it refuses (exit 3) and says what VERSION's record on --from is.
A production deployment then waits for ` + "`slipway approve`" + `, as every production deployment does.`,
		Example: `  slipway promote --from staging --to production --version v2
  slipway promote --local --from staging --to production --version v2 --reason "release 2026.11"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.WaitSet = cmd.Flags().Changed("wait")
			if opts.From == "" || opts.To == "" || opts.Version == "" {
				return factory.WithHint(factory.ExitUsage, errors.New("--from, --to and --version are required"),
					"for example: slipway promote --from staging --to production --version v2")
			}
			if opts.From == opts.To {
				return factory.UsageError("--from and --to are both %q: promote moves a release from one environment to another", opts.From)
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.From, "from", "", "the environment the release succeeded on (required)")
	cmd.Flags().StringVar(&opts.To, "to", "", "the environment to deploy it to (required)")
	cmd.Flags().StringVar(&opts.Version, "version", "", "the release (required)")
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "follow the deployment to its end (always, locally)")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why: recorded with the deployment")
	cmd.Flags().StringVar(&opts.As, "as", "", "who promotes, for the record (default: the AWS caller or $USER)")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	cfg := b.Config()
	for _, e := range []string{opts.From, opts.To} {
		if _, err := cfg.Env(e); err != nil {
			return outcome.Error(err)
		}
	}
	proof, err := Check(ctx, b.Ledger(), cfg.App, opts.From, opts.Version)
	if err != nil {
		return outcome.Error(err)
	}
	fmt.Fprintf(opts.IO.Out, "%s succeeded on %s: deployment %s, finished %s\n", opts.Version, opts.From, proof.ID, proof.FinishedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	reason := opts.Reason
	if reason == "" {
		reason = fmt.Sprintf("promote %s from %s (deployment %s)", opts.Version, opts.From, proof.ID)
	}
	_, err = deploy.Start(ctx, opts.IO.Out, b, &deploy.Options{
		Env: opts.To, Version: opts.Version, Wait: opts.Wait, WaitSet: opts.WaitSet, Reason: reason, As: opts.As, Source: "promote",
	})
	return err
}

// RefusedError says why a release may not be promoted.
type RefusedError struct {
	Version, From string
	// Record is the release's latest deployment on From, nil when it was
	// never deployed there.
	Record *ledger.Deployment
}

func (e *RefusedError) Error() string {
	if e.Record == nil {
		return fmt.Sprintf("refusing to promote %s: it was never deployed to %s", e.Version, e.From)
	}
	d := e.Record
	switch {
	case d.Kind == contract.KindRollback:
		return fmt.Sprintf("refusing to promote %s: it was rolled back by %s, which returned %s to %s", e.Version, d.ID, e.From, d.Version)
	case d.RolledBackBy != "":
		return fmt.Sprintf("refusing to promote %s: its deployment to %s (%s) was rolled back by %s", e.Version, e.From, d.ID, d.RolledBackBy)
	case !d.Final():
		return fmt.Sprintf("refusing to promote %s: its deployment to %s (%s) is still %s", e.Version, e.From, d.ID, d.Status)
	}
	msg := fmt.Sprintf("refusing to promote %s: its last deployment to %s (%s) ended %s", e.Version, e.From, d.ID, d.Status)
	if d.Error != "" {
		msg += " (" + d.Error + ")"
	}
	if s := strings.TrimSpace(d.Summary); s != "" {
		msg += ": " + s
	}
	return msg
}

// Check returns the deployment that proves version succeeded on env and
// was not rolled back since, or a *RefusedError (exit 3).
func Check(ctx context.Context, l backend.Ledger, app, env, version string) (ledger.Deployment, error) {
	ds, err := l.ListDeployments(ctx, app, env, 0)
	if err != nil {
		return ledger.Deployment{}, err
	}
	var latest *ledger.Deployment
	for i := range ds {
		d := ds[i]
		// A rollback away from the version, newer than any success of it,
		// refuses it: whatever older record says it succeeded.
		if d.Kind == contract.KindRollback && d.PreviousVersion == version && d.Version != version && contract.RolledBack(d.Status) {
			if latest == nil {
				latest = &ds[i]
			}
			break
		}
		if d.Kind != contract.KindDeploy || d.Version != version {
			continue
		}
		if latest == nil {
			latest = &ds[i]
		}
		if d.Status == contract.StatusSucceeded && d.RolledBackBy == "" {
			return d, nil
		}
	}
	hint := fmt.Sprintf("deploy it to %s first: slipway deploy --env %s --version %s", env, env, version)
	return ledger.Deployment{}, factory.WithHint(factory.ExitRefused, &RefusedError{Version: version, From: env, Record: latest}, hint)
}
