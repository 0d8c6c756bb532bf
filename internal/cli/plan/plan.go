// Package plan is `slipway plan`: what a deployment would do, read-only.
// It runs Preflight's own checks without writing the ledger, sending a
// command or touching the database, and prints the six sections of a
// report: Deployment Plan, Risk Assessment, Execution Steps, Validation
// Checklist, Rollback Procedure, Monitoring Points.
package plan

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/report"
)

// Options are the plan command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)
	Now     func() time.Time

	Env     string
	Version string
	JSON    bool
	// Format is text, json or markdown (a pull request comment).
	Format string
}

// NewCmdPlan returns the plan command. runF, when not nil, replaces the
// run.
func NewCmdPlan(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "plan --env ENV --version VERSION [--json | --format text|json|markdown]",
		Short: "Show what a deployment would do, changing nothing",
		Long: `Run Preflight's checks read-only and print the plan in six sections:

  1. Deployment Plan       the release, the targets resolved from their tags, the waves, the migrations
  2. Risk Assessment       a score from 0 to 100 with its reasons
  3. Execution Steps       what each stage would do
  4. Validation Checklist  the health probe and the alarms
  5. Rollback Procedure    the exact commands, and how to restore the snapshot where a migration is not reversible
  6. Monitoring Points     alarms, dashboards, log groups

It writes nothing and sends no command, so it needs only read permissions (the ledger, the artifact
bucket, SSM's instance list, CloudWatch alarms, the database secret). A database it cannot reach is
reported as unknown, not as an error. --json prints the same data; --format markdown a pull request
comment: the summary, breaking changes called out, the migrations with their class and findings, the
configuration keys that change, what to keep in mind, and the rollback procedure.

Exit status: 0 when the deployment would go ahead; 1 when Preflight would refuse it; 3 when a manual
lock, a freeze window or the migration policy would; 2 for bad flags; 4 for AWS credentials.`,
		Example: `  slipway plan --env production --version v2
  slipway plan --local --env staging --version v3 --json
  slipway plan --env production --version v2 --format markdown > plan.md && gh pr comment --body-file plan.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Env == "" || opts.Version == "" {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("--env and --version are required"), "for example: slipway plan --env staging --version v2")
			}
			if err := artifact.ValidVersion(opts.Version); err != nil {
				return factory.UsageError("%v", err)
			}
			switch {
			case opts.JSON && cmd.Flags().Changed("format") && opts.Format != "json":
				return factory.UsageError("--json and --format %s disagree: give one", opts.Format)
			case opts.JSON:
				opts.Format = "json"
			case opts.Format != "text" && opts.Format != "json" && opts.Format != "markdown":
				return factory.UsageError("--format is text, json or markdown, not %q", opts.Format)
			}
			opts.JSON = opts.Format == "json"
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Env, "env", "e", "", "the environment (required)")
	cmd.Flags().StringVar(&opts.Version, "version", "", "the release (required)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the plan as JSON (--format json)")
	cmd.Flags().StringVar(&opts.Format, "format", "text", "text, json, or markdown for a pull request comment")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	r, err := Make(ctx, b, opts.Env, opts.Version, opts.Now)
	if err != nil {
		return outcome.Error(err)
	}
	if opts.JSON {
		out, err := r.JSON()
		if err != nil {
			return err
		}
		if _, err := opts.IO.Out.Write(out); err != nil {
			return err
		}
	} else if opts.Format == "markdown" {
		if _, err := io.WriteString(opts.IO.Out, r.Markdown()); err != nil {
			return err
		}
	} else if err := r.Text(opts.IO.Out); err != nil {
		return err
	}
	return Verdict(r)
}

// Make builds the plan of deploying version to env, and adds what the
// lock would say: a person's manual lock refuses it, another deployment's
// lease makes it wait.
func Make(ctx context.Context, b backend.Backend, env, version string, now func() time.Time) (*report.Report, error) {
	cfg := b.Config()
	if _, err := cfg.Env(env); err != nil {
		return nil, err
	}
	who := backend.Who(ctx, b, "")
	r, err := b.Plan(ctx, contract.DeployRequest{App: cfg.App, Environment: env, Version: version, Trigger: contract.Trigger{Source: "cli", Actor: who}})
	if err != nil {
		return nil, err
	}
	if now != nil {
		r.GeneratedAt = now().UTC()
	}
	locks, err := b.Ledger().Locks(ctx, cfg.App, env)
	if err != nil {
		return nil, err
	}
	at := r.GeneratedAt
	for _, l := range locks {
		switch {
		case l.Kind == ledger.LockManual:
			held := &ledger.HeldError{Lock: l}
			if r.Plan.Refusal == "" {
				r.Plan.Refusal, r.Plan.RefusalKind = held.Error(), "LockHeld"
			} else {
				r.Notes = append(r.Notes, "also: "+held.Error())
			}
		case at.Before(l.ExpiresAt):
			r.Notes = append(r.Notes, fmt.Sprintf("deployment %s holds the lease until %s: this one would wait for it", l.DeploymentID, l.ExpiresAt.UTC().Format(time.RFC3339)))
		}
	}
	return r, nil
}

// Verdict is the plan's exit status: nil when the deployment would go
// ahead, exit 3 when a lock, a freeze or the migration policy would refuse
// it, exit 1 when Preflight would.
func Verdict(r *report.Report) error {
	if r.Plan.Refusal == "" {
		return nil
	}
	msg := fmt.Errorf("a deployment of %s to %s would be refused (%s)", r.Version, r.Environment, r.Plan.RefusalKind)
	switch r.Plan.RefusalKind {
	case "LockHeld", "Frozen", "Gate":
		return factory.WithHint(factory.ExitRefused, msg, hint(r))
	}
	return factory.WithHint(factory.ExitFailed, msg, "the REFUSED line of the plan says what to fix; then run plan again")
}

func hint(r *report.Report) string {
	switch r.Plan.RefusalKind {
	case "LockHeld":
		return fmt.Sprintf("a person froze %s: `slipway lock status --env %s`", r.Environment, r.Environment)
	case "Frozen":
		return "deploy after the freeze, or with --override-freeze --reason \"why this cannot wait\""
	}
	return "fix the migrations the policy blocks, or allow them by name in the manifest's migrations.allow"
}
