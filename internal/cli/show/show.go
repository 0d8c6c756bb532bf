// Package show is `slipway show`: a deployment's full report, in the six
// sections of a plan, with its outcome, timings per stage, per-instance
// results and, for a rollback, what was reverted and what was not; as
// text, JSON or one self-contained HTML page with a timeline.
package show

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/report"
)

// Options are the show command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)
	Now     func() time.Time

	DeploymentID string
	JSON         bool
	// HTML is the file the HTML page is written to; "-" is standard
	// output.
	HTML string
}

// NewCmdShow returns the show command. runF, when not nil, replaces the
// run.
func NewCmdShow(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "show DEPLOYMENT [--json | --html FILE]",
		Short: "Show a deployment's full report",
		Long: `Print the report Record stored in the ledger when the deployment finished, brought up to date
with the ledger (steps written after it, per-instance results) and, on AWS, the stage timings of the
execution's history. A deployment without a stored report (still running, or refused before Record)
gets one rebuilt from the ledger.

With --html FILE, the same report is written as one HTML page that loads nothing from anywhere
(no script, stylesheet, font or image), with the stages and waves drawn on a timeline.`,
		Example: `  slipway show staging-v3-20261126T012507Z-0b7e
  slipway show --local staging-v3-20261126T012507Z-0b7e --json
  slipway show staging-v3-20261126T012507Z-0b7e --html report.html`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("want one deployment id, got %d arguments", len(args)), "`slipway history` lists the deployments and their ids")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DeploymentID = args[0]
			if opts.JSON && opts.HTML != "" {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("--json and --html both name the output"), "run show once with --json and once with --html FILE")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&opts.HTML, "html", "", "write the report as a self-contained HTML page to `FILE` (- for standard output)")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	r, err := Build(ctx, b, opts.DeploymentID, now())
	if err != nil {
		return outcome.Error(err)
	}
	switch {
	case opts.JSON:
		out, err := r.JSON()
		if err != nil {
			return err
		}
		_, err = opts.IO.Out.Write(out)
		return err
	case opts.HTML == "-":
		return r.HTML(opts.IO.Out)
	case opts.HTML != "":
		var page bytes.Buffer
		if err := r.HTML(&page); err != nil {
			return err
		}
		if err := os.WriteFile(opts.HTML, page.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write report %s: %w", opts.HTML, err)
		}
		_, err := fmt.Fprintf(opts.IO.Out, "wrote %s: the report of %s (%s), one page that needs nothing else to open\n", opts.HTML, r.DeploymentID, outcomeOf(r))
		return err
	}
	return r.Text(opts.IO.Out)
}

func outcomeOf(r *report.Report) string {
	if r.Outcome == nil {
		return "no outcome yet"
	}
	return r.Outcome.Status
}

// Build returns a deployment's report as it stands now.
func Build(ctx context.Context, b backend.Backend, id string, now time.Time) (*report.Report, error) {
	l := b.Ledger()
	d, err := l.GetDeployment(ctx, id)
	if err != nil {
		return nil, err
	}
	steps, err := l.Steps(ctx, id)
	if err != nil {
		return nil, err
	}
	results, err := l.InstanceResults(ctx, id)
	if err != nil {
		return nil, err
	}
	in := report.DeploymentInput{Deployment: d, Steps: steps, Results: results, Hints: b.Hints(d.Environment), Now: now,
		Production: production(b.Config(), d.Environment)}
	if d.Final() {
		// The history's stage timings, where it is kept; the ledger's otherwise.
		if t, err := b.Timings(ctx, d); err == nil {
			in.Timings = t
		}
	}
	var r *report.Report
	if stored, ok := report.Parse(d.Report); ok {
		r = report.Refresh(stored, in)
	} else {
		r = report.NewDeployment(in)
	}
	return r.WithHints(b.Hints(d.Environment)), nil
}

func production(c *config.Config, env string) bool {
	e, err := c.Env(env)
	return err == nil && e.Production
}
