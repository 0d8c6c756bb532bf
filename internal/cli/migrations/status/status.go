// Package status is `slipway migrations status`: the state table of a
// database, one row per migration, and how it compares with a directory
// of migrations.
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/target"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Options are the status command's inputs.
type Options struct {
	IO   *factory.IOStreams
	Dir  string
	DB   target.DB
	JSON bool
}

// JSON is what status --json prints.
type JSON struct {
	// Database names the database (never its password).
	Database string               `json:"database"`
	Current  int64                `json:"current"`
	Applied  []target.AppliedJSON `json:"applied"`
	// Pending and Ahead compare the database with DIR; absent without DIR.
	Pending []target.MigrationJSON `json:"pending,omitempty"`
	Ahead   []target.MigrationJSON `json:"ahead,omitempty"`
	// Refused says why these files cannot migrate this database (exit 1).
	Refused string `json:"refused,omitempty"`
}

// NewCmdStatus returns the status command. runF replaces the run in tests.
func NewCmdStatus(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "status [DIR] (--database-url URL | --local) [--json]",
		Short: "Show the database's migration state and how it compares with DIR",
		Args:  cobra.MaximumNArgs(1),
		RunE: target.RunE(&opts.DB, &opts.Dir, func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return Run(ctx, opts)
		}),
	}
	opts.DB.Register(cmd.Flags())
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// Run prints the state. Without DIR on disk it prints the table alone.
func Run(ctx context.Context, opts *Options) error {
	var ms []migrate.Migration
	haveDir := false
	if _, err := os.Stat(opts.Dir); err == nil {
		rel, err := target.LoadDir(opts.Dir)
		if err != nil {
			return err
		}
		ms, haveDir = rel.Migrations, true
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
	applied, err := r.Applied(ctx)
	if err != nil {
		return errors.New(secret.Scrub(err.Error(), dbs.Password))
	}
	if opts.JSON {
		return writeJSON(ctx, opts, r, dbs, applied, ms, haveDir)
	}
	Write(opts.IO.Out, dbs.String(), applied)
	if !haveDir {
		return nil
	}
	st, serr := r.Status(ctx, ms)
	for _, m := range st.Pending {
		fmt.Fprintf(opts.IO.Out, "pending  %d_%s\n", m.Version, m.Name)
	}
	for _, a := range st.Ahead {
		fmt.Fprintf(opts.IO.Out, "ahead    %d_%s: applied, unknown to %s (an application rollback; not an error)\n", a.Version, a.Name, opts.Dir)
	}
	if serr != nil {
		fmt.Fprintf(opts.IO.Out, "refused: %s\n", secret.Scrub(serr.Error(), dbs.Password))
		return &factory.SilentError{Code: factory.ExitFailed}
	}
	return nil
}

// writeJSON prints the state as JSON; exit 1 when the files cannot
// migrate the database, as the text says.
func writeJSON(ctx context.Context, opts *Options, r *migrate.Runner, dbs secret.Database, applied []migrate.Applied, ms []migrate.Migration, haveDir bool) error {
	out := JSON{Database: dbs.String(), Applied: target.AppliedOf(applied)}
	for _, a := range applied {
		out.Current = max(out.Current, a.Version)
	}
	var serr error
	if haveDir {
		var st migrate.Status
		st, serr = r.Status(ctx, ms)
		out.Pending = []target.MigrationJSON{}
		for _, m := range st.Pending {
			out.Pending = append(out.Pending, target.MigrationJSON{Version: m.Version, Name: m.Name})
		}
		out.Ahead = target.NamesOf(st.Ahead)
		if serr != nil {
			out.Refused = secret.Scrub(serr.Error(), dbs.Password)
		}
	}
	enc := json.NewEncoder(opts.IO.Out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	if serr != nil {
		return &factory.SilentError{Code: factory.ExitFailed}
	}
	return nil
}

// Write prints the state table.
func Write(w io.Writer, db string, applied []migrate.Applied) {
	fmt.Fprintf(w, "%s: %d migration(s) applied\n", db, len(applied))
	if len(applied) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED AT\tTOOK\tSTATEMENTS\tSTATE\tREVERSIBLE\tDEPLOYMENT")
	for _, a := range applied {
		state := "ok"
		if a.Dirty {
			state = fmt.Sprintf("DIRTY at statement %d: %s", a.StatementsApplied+1, a.LastError)
		}
		dep := a.DeploymentID
		if dep == "" {
			dep = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%s\t%v\t%s\n", a.Version, a.Name, a.AppliedAt.UTC().Format(time.RFC3339), a.Duration.Round(time.Millisecond),
			a.StatementsApplied, a.StatementsTotal, state, a.Reversible, dep)
	}
	tw.Flush()
}
