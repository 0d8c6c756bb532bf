// Package history is `slipway history`: an environment's deployments and
// rollbacks, newest first, from the ledger.
package history

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/report"
)

// Options are the history command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)

	Env   string
	Limit int
	JSON  bool
}

// NewCmdHistory returns the history command. runF, when not nil, replaces
// the run.
func NewCmdHistory(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "history [--env ENV] [--limit N] [--json]",
		Short: "List deployments and rollbacks, newest first",
		Long: "List the ledger's deployments and rollbacks of every environment, or of --env, newest first:\n" +
			"id, kind, version, status, when, how long, and what started it. `slipway show ID` has the full report.",
		Example: `  slipway history --env production
  slipway history --local --json --limit 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Limit < 0 {
				return factory.UsageError("--limit must be 0 (all) or more, got %d", opts.Limit)
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Env, "env", "e", "", "only this environment")
	cmd.Flags().IntVarP(&opts.Limit, "limit", "n", 20, "at most this many (0: all)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// Entry is one deployment as history lists it.
type Entry struct {
	ID                 string           `json:"id"`
	Environment        string           `json:"environment"`
	Kind               string           `json:"kind"`
	Version            string           `json:"version"`
	PreviousVersion    string           `json:"previous_version,omitempty"`
	Status             string           `json:"status"`
	Error              string           `json:"error,omitempty"`
	Summary            string           `json:"summary,omitempty"`
	Trigger            contract.Trigger `json:"trigger"`
	StartedAt          time.Time        `json:"started_at"`
	FinishedAt         time.Time        `json:"finished_at,omitzero"`
	Seconds            float64          `json:"seconds,omitempty"`
	RolledBackBy       string           `json:"rolled_back_by,omitempty"`
	TargetDeploymentID string           `json:"target_deployment_id,omitempty"`
	// Config is the configuration the deployment activated (a rollback:
	// restored), for a release that declares one: its fingerprint and the
	// keys changed since what served before. Never a value.
	Config *EntryConfig `json:"config,omitempty"`
}

// EntryConfig is a deployment's configuration in history.
type EntryConfig struct {
	Fingerprint string   `json:"fingerprint"`
	Changed     []string `json:"changed"`
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	cfg := b.Config()
	if opts.Env != "" {
		if _, err := cfg.Env(opts.Env); err != nil {
			return outcome.Error(err)
		}
	}
	envs := cfg.Names()
	if opts.Env != "" {
		envs = []string{opts.Env}
	}
	for _, e := range envs {
		// A deployment whose process is gone is closed first: history
		// never shows a dead execution as RUNNING.
		if _, err := b.Reconcile(ctx, e); err != nil {
			return outcome.Error(err)
		}
	}
	ds, err := b.Ledger().ListDeployments(ctx, cfg.App, opts.Env, opts.Limit)
	if err != nil {
		return outcome.Error(err)
	}
	entries := Entries(ds)
	if opts.JSON {
		return JSON(opts.IO.Out, entries)
	}
	if len(entries) == 0 {
		where := "any environment"
		if opts.Env != "" {
			where = opts.Env
		}
		fmt.Fprintf(opts.IO.Out, "no deployments of %s to %s yet\n", cfg.App, where)
		return nil
	}
	return Text(opts.IO.Out, entries, opts.Env == "")
}

// Entries turns ledger records into history entries.
func Entries(ds []ledger.Deployment) []Entry {
	out := make([]Entry, 0, len(ds))
	for _, d := range ds {
		e := Entry{ID: d.ID, Environment: d.Environment, Kind: d.Kind, Version: d.Version, PreviousVersion: d.PreviousVersion, Status: d.Status,
			Error: d.Error, Summary: d.Summary, Trigger: d.Trigger, StartedAt: d.StartedAt.UTC(), FinishedAt: d.FinishedAt.UTC(),
			RolledBackBy: d.RolledBackBy, TargetDeploymentID: d.TargetDeploymentID}
		if !d.FinishedAt.IsZero() {
			e.Seconds = float64(d.FinishedAt.Sub(d.StartedAt).Milliseconds()) / 1000
		}
		if d.Config != nil && d.Config.Fingerprint != "" {
			e.Config = &EntryConfig{Fingerprint: d.Config.Fingerprint, Changed: d.Config.Changed}
			if e.Config.Changed == nil {
				e.Config.Changed = []string{}
			}
		}
		out = append(out, e)
	}
	return out
}

// JSON writes entries as a JSON array.
func JSON(w io.Writer, entries []Entry) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(entries)
}

// Text writes entries as a table; withEnv adds the environment column.
// When a deployment has a configuration, a CONFIG column shows its
// fingerprint, shortened, and the keys it changed.
func Text(w io.Writer, entries []Entry, withEnv bool) error {
	withConfig := slices.ContainsFunc(entries, func(e Entry) bool { return e.Config != nil })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if withEnv {
		fmt.Fprint(tw, "ENV\t")
	}
	fmt.Fprint(tw, "DEPLOYMENT\tKIND\tVERSION\tSTATUS\tSTARTED (UTC)\tTOOK\tTRIGGER")
	if withConfig {
		fmt.Fprint(tw, "\tCONFIG")
	}
	fmt.Fprintln(tw)
	for _, e := range entries {
		if withEnv {
			fmt.Fprintf(tw, "%s\t", e.Environment)
		}
		status := e.Status
		if e.Error != "" && e.Status != contract.StatusSucceeded {
			status += " (" + e.Error + ")"
		}
		if e.RolledBackBy != "" {
			status += " ↩"
		}
		took := "-"
		if !e.FinishedAt.IsZero() {
			took = report.FormatSeconds(e.FinishedAt.Sub(e.StartedAt))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s", e.ID, e.Kind, e.Version, status, e.StartedAt.Format("2006-01-02 15:04:05"), took, trigger(e.Trigger))
		if withConfig {
			fmt.Fprintf(tw, "\t%s", configCell(e.Config))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range entries {
		if e.RolledBackBy != "" {
			fmt.Fprintln(w, "↩ rolled back later by another execution: `slipway show ID` names it")
			break
		}
	}
	return nil
}

// configCell is a deployment's configuration in the table: the
// fingerprint's first 8 hex digits and the keys it changed ("-" none).
func configCell(c *EntryConfig) string {
	if c == nil {
		return "-"
	}
	fp := c.Fingerprint
	if _, hex, ok := strings.Cut(fp, ":"); ok {
		fp = hex
	}
	if len(fp) > 8 {
		fp = fp[:8]
	}
	switch n := len(c.Changed); {
	case n == 0:
		return fp
	case n <= 3:
		return fp + " (" + strings.Join(c.Changed, ", ") + " changed)"
	default:
		return fmt.Sprintf("%s (%d keys changed)", fp, n)
	}
}

func trigger(t contract.Trigger) string {
	s := t.Source
	if s == "" {
		s = "-"
	}
	if t.Actor != "" {
		s += " by " + t.Actor
	}
	if t.Alarm != "" {
		s += " (" + t.Alarm + ")"
	}
	return s
}
