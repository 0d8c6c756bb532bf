package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/lint"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/report"
)

// NotesOptions are `release notes`'s inputs.
type NotesOptions struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)

	From, To string
	// Format is markdown or json.
	Format string
}

func newCmdNotes(f *factory.Factory, runF func(*NotesOptions) error) *cobra.Command {
	opts := &NotesOptions{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "notes --from VERSION --to VERSION [--format markdown|json]",
		Short: "Release notes between two published releases, for a pull request",
		Long: `Compare two published releases' bundles: the migrations the newer one adds, with their class
(expand, contract, destructive), reversibility and lint findings, the configuration declarations
that changed (names and environments, never values), breaking changes called out, and the rollback
procedure, with the snapshot restore where a migration is not reversible. Markdown renders as a
GitHub pull request comment; --format json prints the same data.`,
		Example: `  slipway release notes --from v41 --to v42 > notes.md && gh pr comment --body-file notes.md`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, v := range []string{opts.From, opts.To} {
				if v == "" {
					return factory.WithHint(factory.ExitUsage, errors.New("--from and --to are required"), "for example: slipway release notes --from v1 --to v2")
				}
				if err := artifact.ValidVersion(v); err != nil {
					return factory.UsageError("%v", err)
				}
			}
			if opts.Format != "markdown" && opts.Format != "json" {
				return factory.UsageError("--format is markdown or json, not %q", opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return runNotes(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.From, "from", "", "the older release (required)")
	cmd.Flags().StringVar(&opts.To, "to", "", "the newer release (required)")
	cmd.Flags().StringVar(&opts.Format, "format", "markdown", "markdown or json")
	return cmd
}

func runNotes(ctx context.Context, opts *NotesOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	app := b.Config().App
	open := func(v string) (*bundle.Bundle, int64, error) {
		bn, meta, err := Open(ctx, b, v, "publish it first (slipway release publish)")
		return bn, meta.Size, err
	}
	from, _, err := open(opts.From)
	if err != nil {
		return err
	}
	to, size, err := open(opts.To)
	if err != nil {
		return err
	}
	n, err := Notes(app, opts.From, opts.To, from, to)
	if err != nil {
		return err
	}
	n.Artifact = report.NotesArtifact{SHA256: to.SHA256, Size: size}
	if opts.Format == "json" {
		out, err := n.JSON()
		if err != nil {
			return err
		}
		_, err = opts.IO.Out.Write(out)
		return err
	}
	_, err = io.WriteString(opts.IO.Out, n.Markdown())
	return err
}

// Open reads published release version of b's app: its bundle and its
// metadata. A version that is not published is a usage error with
// notFoundHint; a bundle that does not open names the release.
func Open(ctx context.Context, b backend.Backend, version, notFoundHint string) (*bundle.Bundle, contract.Artifact, error) {
	arts, err := b.Artifacts()
	if err != nil {
		return nil, contract.Artifact{}, outcome.Error(err)
	}
	meta, err := arts.Stat(ctx, b.Config().App, version)
	if err != nil {
		var nf *artifact.NotFoundError
		if errors.As(err, &nf) {
			return nil, meta, factory.WithHint(factory.ExitUsage, err, notFoundHint)
		}
		return nil, meta, outcome.Error(err)
	}
	data, err := arts.Fetch(ctx, meta)
	if err != nil {
		return nil, meta, outcome.Error(err)
	}
	bn, err := bundle.Open(version, data, meta.SHA256)
	if err != nil {
		return nil, meta, fmt.Errorf("release %s: %w", version, err)
	}
	return bn, meta, nil
}

// Notes compares two bundles: the migrations to has and from has not,
// linted for to's engine under to's policy, and the config: declarations
// that changed.
func Notes(app, fromVersion, toVersion string, from, to *bundle.Bundle) (*report.Notes, error) {
	load := func(v string, b *bundle.Bundle) ([]migrate.Migration, error) {
		ms, err := migrate.Load(b.Migrations())
		if err != nil {
			return nil, fmt.Errorf("release %s's migrations: %w", v, err)
		}
		return ms, nil
	}
	fromMs, err := load(fromVersion, from)
	if err != nil {
		return nil, err
	}
	toMs, err := load(toVersion, to)
	if err != nil {
		return nil, err
	}
	had := map[int64]bool{}
	for _, m := range fromMs {
		had[m.Version] = true
	}
	has := map[int64]bool{}
	for _, m := range toMs {
		has[m.Version] = true
	}
	n := &report.Notes{App: app, From: fromVersion, To: toVersion}
	for _, m := range fromMs {
		if !has[m.Version] {
			n.Dropped = append(n.Dropped, m.Version)
		}
	}
	mm := to.Manifest.Migrations
	engine := mm.Engine
	n.Migrations = report.Migrations{Known: true, Engine: engine, Pending: []report.Migration{}}
	policy := lint.NewPolicy(mm.Allow, mm.BlockedClasses())
	for _, res := range lint.Lint(toMs, lint.Options{Engine: engine}) {
		if had[res.Version] {
			continue
		}
		m := report.Migration{Version: res.Version, Name: res.Name, Class: string(res.Class), Reversible: res.Reversible, Mode: res.Mode, Allowed: policy.Allowed(res)}
		for _, f := range res.Findings {
			m.Findings = append(m.Findings, report.Finding{File: f.File, Line: f.Line, Rule: f.Rule, Severity: string(f.Severity), Message: f.Message, Ignored: f.Ignored, Reason: f.Reason})
		}
		n.Migrations.Pending = append(n.Migrations.Pending, m)
	}
	slices.SortFunc(n.Migrations.Pending, func(a, b report.Migration) int { return int(a.Version - b.Version) })
	if len(n.Migrations.Pending) > 0 {
		n.Migrations.Current, n.Migrations.Target = n.Migrations.Pending[0].Version-1, n.Migrations.Pending[len(n.Migrations.Pending)-1].Version
	}
	if d := pipeline.DeclarationChanges(from.Manifest, to.Manifest); len(d) > 0 {
		n.Config = &report.ConfigChange{Declarations: d}
	}
	return n, nil
}
