// Package plan is `slipway migrations plan`: what `up` would apply to a
// database, with each pending migration's class, reversibility, mode,
// lint findings and the manifest policy's verdict.
package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/target"
	"github.com/slipway-deploy/slipway/internal/lint"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Options are the plan command's inputs.
type Options struct {
	IO     *factory.IOStreams
	Dir    string
	DB     target.DB
	Engine string
	JSON   bool
}

// NewCmdPlan returns the plan command. runF replaces the run in tests.
func NewCmdPlan(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "plan [DIR] (--database-url URL | --local) [--json]",
		Short: "List the pending migrations with their class, reversibility and lint findings",
		Long: `Plan compares DIR (default: migrations) with the database and lists what
` + "`up`" + ` would apply. Exit status: 0, or 3 when the manifest's policy blocks a
pending migration (so a deploy would be refused), 1 when the database cannot
be migrated with these files (dirty or drifted).`,
		Args: cobra.MaximumNArgs(1),
		RunE: target.RunE(&opts.DB, &opts.Dir, func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return Run(ctx, opts)
		}),
	}
	opts.DB.Register(cmd.Flags())
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON (the exit status is the same)")
	cmd.Flags().StringVar(&opts.Engine, "engine", "", "SQL dialect to lint as (default: migrations.engine in ../slipway.yaml, else the database's)")
	return cmd
}

// Run prints the plan.
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
	if !opts.JSON {
		fmt.Fprintln(opts.IO.ErrOut, opts.DB.Target(dbs))
	}
	r := &migrate.Runner{DB: db, Engine: dbs.Family()}
	st, serr := r.Status(ctx, rel.Migrations)
	if serr != nil && st.Applied == nil {
		return fmt.Errorf("read the migration state: %s", secret.Scrub(serr.Error(), dbs.Password))
	}
	engine := rel.Engine(opts.Engine, dbs.Family())
	results := lint.Lint(rel.Migrations, lint.Options{Engine: engine})
	in := Input{Engine: dbs.Family(), LintEngine: engine, Status: st, Results: results, Policy: rel.Policy()}
	if opts.JSON {
		out := JSONOf(in)
		if serr != nil {
			out.Refused = secret.Scrub(serr.Error(), dbs.Password)
		}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
		switch {
		case serr != nil:
			return &factory.SilentError{Code: factory.ExitFailed}
		case out.Blocked > 0:
			return &factory.SilentError{Code: factory.ExitRefused}
		}
		return nil
	}
	blocked := Write(opts.IO.Out, in)
	switch {
	case serr != nil:
		fmt.Fprintf(opts.IO.Out, "\nThis database cannot be migrated with these files: %s\n", secret.Scrub(serr.Error(), dbs.Password))
		return &factory.SilentError{Code: factory.ExitFailed}
	case blocked > 0:
		return &factory.SilentError{Code: factory.ExitRefused}
	}
	return nil
}

// Input is what a plan is written from.
type Input struct {
	Engine     string
	LintEngine string
	Status     migrate.Status
	Results    []lint.Result
	Policy     lint.Policy
}

// JSON is what plan --json prints.
type JSON struct {
	Engine     string `json:"engine"`
	LintEngine string `json:"lint_engine"`
	Current    int64  `json:"current"`
	Applied    int    `json:"applied"`
	// Pending are the migrations up would apply, in order.
	Pending []PendingJSON          `json:"pending"`
	Ahead   []target.MigrationJSON `json:"ahead,omitempty"`
	// Blocked counts the pending migrations the policy blocks (exit 3).
	Blocked int `json:"blocked"`
	// Refused says why these files cannot migrate this database (exit 1).
	Refused string `json:"refused,omitempty"`
}

// PendingJSON is a pending migration with its lint verdict.
type PendingJSON struct {
	Version      int64          `json:"version"`
	Name         string         `json:"name"`
	Class        string         `json:"class"`
	Reversible   bool           `json:"reversible"`
	Irreversible string         `json:"irreversible,omitempty"`
	Mode         string         `json:"mode"`
	BlockedBy    []string       `json:"blocked_by,omitempty"`
	Allowed      bool           `json:"allowed,omitempty"`
	ResumesAt    int            `json:"resumes_at_statement,omitempty"`
	Effects      []string       `json:"effects,omitempty"`
	Findings     []lint.Finding `json:"findings,omitempty"`
	Notes        []string       `json:"notes,omitempty"`
}

// JSONOf is the plan of in as JSON prints it.
func JSONOf(in Input) JSON {
	st := in.Status
	out := JSON{Engine: in.Engine, LintEngine: in.LintEngine, Current: st.Current, Applied: len(st.Applied), Pending: []PendingJSON{}, Ahead: target.NamesOf(st.Ahead)}
	byVersion := map[int64]lint.Result{}
	for _, r := range in.Results {
		byVersion[r.Version] = r
	}
	for _, m := range st.Pending {
		r := byVersion[m.Version]
		p := PendingJSON{Version: m.Version, Name: m.Name, Class: string(r.Class), Reversible: r.Reversible, Irreversible: r.Irreversible, Mode: r.Mode,
			BlockedBy: in.Policy.Blocks(r), Effects: r.Effects, Notes: r.Notes}
		if len(p.BlockedBy) > 0 {
			out.Blocked++
		} else {
			p.Allowed = in.Policy.Allowed(r)
		}
		if st.Dirty != nil && st.Dirty.Version == m.Version {
			p.ResumesAt = st.ResumeAt
		}
		for _, f := range r.Findings {
			if !f.Ignored {
				p.Findings = append(p.Findings, f)
			}
		}
		out.Pending = append(out.Pending, p)
	}
	return out
}

// Write writes the plan and returns how many pending migrations the
// policy blocks.
func Write(w io.Writer, in Input) int {
	st := in.Status
	fmt.Fprintf(w, "Database: %s, schema at version %d (%d applied)\n", in.Engine, st.Current, len(st.Applied))
	byVersion := map[int64]lint.Result{}
	for _, r := range in.Results {
		byVersion[r.Version] = r
	}
	if len(st.Pending) == 0 {
		fmt.Fprintln(w, "Pending: none, the database is up to date with these files")
	} else {
		fmt.Fprintf(w, "Pending: %d migration(s), linted as %s\n", len(st.Pending), in.LintEngine)
	}
	blocked := 0
	for _, m := range st.Pending {
		r := byVersion[m.Version]
		rev := "reversible"
		if !r.Reversible {
			rev = "irreversible (" + r.Irreversible + ")"
		}
		verdict := ""
		why := in.Policy.Blocks(r)
		switch {
		case len(why) > 0:
			verdict, blocked = "  BLOCKED", blocked+1
		case in.Policy.Allowed(r):
			verdict = "  allowed by migrations.allow"
		}
		fmt.Fprintf(w, "\n  %s  %s, %s, %s%s\n", r.Key(), r.Class, rev, r.Mode, verdict)
		if st.Dirty != nil && st.Dirty.Version == m.Version {
			fmt.Fprintf(w, "    resumes at statement %d of %d: it stopped part way (last error: %s)\n", st.ResumeAt, st.Dirty.StatementsTotal, st.Dirty.LastError)
		}
		for _, e := range r.Effects {
			fmt.Fprintf(w, "    %s\n", e)
		}
		for _, f := range r.Findings {
			if f.Ignored {
				fmt.Fprintf(w, "    %s:%d: ignored %s: %s\n", f.File, f.Line, f.Rule, f.Reason)
				continue
			}
			fmt.Fprintf(w, "    %s\n", lint.FormatFinding(f))
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "    note: %s\n", n)
		}
		if len(why) > 0 {
			fmt.Fprintf(w, "    blocked: %s; to ship it, name %q in migrations.allow in slipway.yaml\n", strings.Join(why, "; "), r.Key())
		}
	}
	if len(st.Ahead) > 0 {
		var vs []string
		for _, a := range st.Ahead {
			vs = append(vs, fmt.Sprintf("%d_%s", a.Version, a.Name))
		}
		fmt.Fprintf(w, "\nAhead: %s applied but unknown to these files (an application rollback): left as they are\n", strings.Join(vs, ", "))
	}
	var classes []string
	for _, c := range in.Policy.Block {
		classes = append(classes, string(c))
	}
	if blocked > 0 {
		fmt.Fprintf(w, "\n%d pending migration(s) blocked by the policy (block: %s): a deploy would be refused\n", blocked, strings.Join(classes, ", "))
	}
	return blocked
}
