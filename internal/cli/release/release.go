// Package release is `slipway release`: build a release bundle from a
// directory, and publish one to the artifact store (the S3 bucket, or the
// embedded environment's folder), optionally announcing it as a git push.
package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/provenance"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

// BuildOptions are `release build`'s inputs.
type BuildOptions struct {
	IO *factory.IOStreams
	// TargetFlags renders the flags a printed command carries
	// (factory.Factory.TargetFlags).
	TargetFlags func() string
	Dir         string
	Version     string
	Output      string
}

// PublishOptions are `release publish`'s inputs.
type PublishOptions struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)
	// TargetFlags renders the flags a printed command carries
	// (factory.Factory.TargetFlags).
	TargetFlags func() string

	File       string
	Version    string
	PushEvent  bool
	Repository string
	Branch     string
	As         string
	// Replace publishes over a version already published with other bytes.
	Replace bool

	// Provenance: the test result (TestsPassed, or TestReports read and
	// summarised) and where the bundle was built from. Commit, Branch and
	// BuildURL default to GitHub Actions' variables when they are set.
	TestsPassed bool
	TestReports []string
	Commit      string
	BuildURL    string
	Getenv      func(string) string
}

// NewCmdRelease returns the release command and its subcommands. The run
// functions, when not nil, replace the runs.
func NewCmdRelease(f *factory.Factory, buildF func(*BuildOptions) error, publishF func(*PublishOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "release <command>",
		Short: "Build and publish release bundles",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCmdBuild(f, buildF), newCmdPublish(f, publishF), newCmdNotes(f, nil))
	return cmd
}

func newCmdBuild(f *factory.Factory, runF func(*BuildOptions) error) *cobra.Command {
	opts := &BuildOptions{IO: f.IO, TargetFlags: f.TargetFlags}
	cmd := &cobra.Command{
		Use:   "build --dir DIR --version VERSION [-o FILE]",
		Short: "Build a release bundle (tar.gz) from a directory",
		Long: `Pack DIR, which holds the application build, its migrations/ and its slipway.yaml, into one
tar.gz with release.env rendered for VERSION. The same input gives the same bytes. The bundle is
written to FILE (default: VERSION.tar.gz), its SHA-256 beside it to FILE.sha256 (sha256sum's format:
sha256sum -c FILE.sha256 checks it) and printed. service.start must name a file of DIR that is
executable: the host runs it from the release directory.`,
		Example: `  slipway release build --dir build/ --version "$(git rev-parse HEAD)"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Dir == "" || opts.Version == "" {
				return factory.WithHint(factory.ExitUsage, errors.New("--dir and --version are required"), "for example: slipway release build --dir build/ --version v2")
			}
			if err := artifact.ValidVersion(opts.Version); err != nil {
				return factory.UsageError("%v", err)
			}
			if opts.Output == "" {
				opts.Output = opts.Version + ".tar.gz"
			}
			if runF != nil {
				return runF(opts)
			}
			return build(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "the release directory, with "+manifest.FileName+" at its root (required)")
	cmd.Flags().StringVar(&opts.Version, "version", "", "the release's version: a tag or the commit (required)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "the bundle to write (default: VERSION.tar.gz)")
	return cmd
}

func build(opts *BuildOptions) error {
	var buf bytes.Buffer
	m, err := bundle.Build(&buf, opts.Dir, opts.Version)
	if merr := (*manifest.Error)(nil); errors.As(err, &merr) {
		return factory.WithHint(factory.ExitUsage, err, manifest.FixHint)
	}
	if err != nil {
		return factory.WithHint(factory.ExitUsage, err, "the directory needs "+manifest.FileName+" at its root")
	}
	if err := bundle.CheckStart(opts.Dir, m); err != nil {
		return factory.WithHint(factory.ExitUsage, err, "service.start in "+manifest.FileName+" names the app's program, relative to the release directory; build it there and make it executable (chmod +x)")
	}
	if err := os.WriteFile(opts.Output, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", opts.Output, err)
	}
	if err := os.WriteFile(opts.Output+".sha256", bundle.ChecksumFile(opts.Output, buf.Bytes()), 0o644); err != nil {
		return fmt.Errorf("write %s.sha256: %w", opts.Output, err)
	}
	fmt.Fprintf(opts.IO.Out, "built %s: release %s of %s, %d bytes, sha256 %s (in %s.sha256)\n", opts.Output, opts.Version, m.App, buf.Len(), bundle.SHA256(buf.Bytes()), opts.Output)
	fmt.Fprintf(opts.IO.Out, "publish it with: %s\n", factory.Command(opts.TargetFlags, fmt.Sprintf("release publish %s --version %s", opts.Output, opts.Version)))
	return nil
}

func newCmdPublish(f *factory.Factory, runF func(*PublishOptions) error) *cobra.Command {
	opts := &PublishOptions{IO: f.IO, Backend: f.Backend, TargetFlags: f.TargetFlags}
	cmd := &cobra.Command{
		Use:   "publish FILE --version VERSION [--push-event --repository REPO --branch BRANCH]",
		Short: "Publish a release bundle to the artifact store",
		Long: `Upload FILE and its SHA-256 to the artifact bucket (SLIPWAY_ARTIFACT_BUCKET), or, with --local,
copy it into the embedded environment's artifact folder. Every stage verifies the checksum before it
trusts the bundle. The bundle must be built for this app (its slipway.yaml says which).

Provenance is recorded beside the bundle: the commit, the branch, the build URL (from GitHub
Actions' variables when they are set, or --commit, --branch, --build-url), when it was published,
and the test result it is given: --tests-passed, or --test-report FILE (JUnit XML or the output
of go test -json; repeat for several), read and summarised. A manifest that says require: tested
(the default for production) makes Preflight refuse a release whose record says no passing test.

On AWS, --push-event then puts the slipway.git "Git Push" event on the default event bus, as CI does
after a push: the push router deploys the commit to the environment its branch maps to.`,
		Example: `  slipway release publish v2.tar.gz --version v2 --local --tests-passed
  slipway release publish build.tar.gz --version "$GIT_SHA" --test-report report.xml --push-event --repository github.com/acme/shop --branch main`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("want one bundle file, got %d arguments", len(args)), "build one with `slipway release build`")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.Version == "" {
				return factory.WithHint(factory.ExitUsage, errors.New("--version is required"), "the version the bundle was built for")
			}
			if err := artifact.ValidVersion(opts.Version); err != nil {
				return factory.UsageError("%v", err)
			}
			if opts.TestsPassed && len(opts.TestReports) > 0 {
				return factory.UsageError("--tests-passed and --test-report say the same thing: give the report (it is read and summarised), or --tests-passed alone")
			}
			if opts.PushEvent && (opts.Repository == "" || opts.Branch == "") {
				return factory.UsageError("--push-event needs --repository and --branch (the push router maps them to an environment)")
			}
			if runF != nil {
				return runF(opts)
			}
			return publish(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Version, "version", "", "the release's version (required)")
	cmd.Flags().BoolVar(&opts.PushEvent, "push-event", false, "then put a slipway.git \"Git Push\" event on the default bus (AWS)")
	cmd.Flags().StringVar(&opts.Repository, "repository", "", "with --push-event: the repository, as triggers.repositories names it")
	cmd.Flags().StringVar(&opts.Branch, "branch", "", "the branch it was built from (default $GITHUB_REF_NAME); with --push-event, the branch pushed to")
	cmd.Flags().BoolVar(&opts.TestsPassed, "tests-passed", false, "record that the build's tests passed")
	cmd.Flags().StringArrayVar(&opts.TestReports, "test-report", nil, "a test report to read and record (JUnit XML or go test -json output; repeatable)")
	cmd.Flags().StringVar(&opts.Commit, "commit", "", "the commit it was built from (default $GITHUB_SHA; with --push-event, the version)")
	cmd.Flags().StringVar(&opts.BuildURL, "build-url", "", "the build's URL (default the GitHub Actions run's)")
	cmd.Flags().StringVar(&opts.As, "as", "", "with --push-event: who pushed (default: the AWS caller or $USER)")
	cmd.Flags().BoolVar(&opts.Replace, "replace", false, "publish over a version already published with other bytes (hosts that have it install it again)")
	return cmd
}

func publish(ctx context.Context, opts *PublishOptions) error {
	data, err := os.ReadFile(opts.File)
	if err != nil {
		return factory.WithHint(factory.ExitUsage, fmt.Errorf("read bundle: %w", err), "build one with `slipway release build`")
	}
	// The test reports are read before anything is uploaded: a report
	// that cannot be read publishes nothing.
	tests, err := opts.tests()
	if err != nil {
		return err
	}
	// Check it opens and names this app before uploading it.
	b0, err := bundle.Open(filepath.Base(opts.File), data, bundle.SHA256(data))
	if err != nil {
		return factory.WithHint(factory.ExitUsage, err, "build bundles with `slipway release build`")
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	app := b.Config().App
	if b0.Manifest.App != app {
		return factory.UsageError("bundle %s is built for app %q (its %s says so), but this Slipway deploys %q", opts.File, b0.Manifest.App, manifest.FileName, app)
	}
	if env := releaseVersion(b0); env != "" && env != opts.Version {
		return factory.UsageError("bundle %s was built for version %s, not %s: build it again with --version %s", opts.File, env, opts.Version, opts.Version)
	}
	store, err := b.Artifacts()
	if err != nil {
		return outcome.Error(err)
	}
	// A version names one build: publishing it again with other bytes is
	// refused, so a redeploy never records one checksum while hosts keep
	// another release under the same name.
	sum := bundle.SHA256(data)
	existing, err := store.Stat(ctx, app, opts.Version)
	var notFound *artifact.NotFoundError
	switch {
	case err == nil && existing.SHA256 == sum:
	case err == nil && !opts.Replace:
		return factory.WithHint(factory.ExitRefused,
			fmt.Errorf("release %s of %s is already published with other bytes (sha256 %s, this file %s)", opts.Version, app, existing.SHA256, sum),
			fmt.Sprintf("a version names one build: publish this one under a new version, or replace it on purpose with `slipway release publish %s --version %s --replace`", opts.File, opts.Version))
	case err != nil && !errors.As(err, &notFound):
		return outcome.Error(err)
	}
	// The same bytes are stored again: a stored copy that was damaged is
	// repaired, and nothing else changes.
	meta, err := store.Publish(ctx, app, opts.Version, data)
	if err != nil {
		return outcome.Error(err)
	}
	verb := "published"
	switch {
	case existing.SHA256 == sum:
		verb = "published again (the same bytes)"
	case existing.SHA256 != "":
		verb = fmt.Sprintf("replaced (was sha256 %s)", existing.SHA256)
	}
	fmt.Fprintf(opts.IO.Out, "%s %s of %s: %s (sha256 %s)\n", verb, opts.Version, app, meta.URI, meta.SHA256)
	rec := opts.provenance(ctx, b, meta.SHA256, tests)
	if err := store.PutProvenance(ctx, app, opts.Version, rec); err != nil {
		return outcome.Error(err)
	}
	fmt.Fprintf(opts.IO.Out, "recorded its provenance: %s\n", rec.Line())
	if rec.Tests == nil || !rec.Tests.Passed {
		fmt.Fprintf(opts.IO.Out, "note: environments whose manifest requires tested builds (require: tested, the default for production) will refuse it\n")
	}
	if !opts.PushEvent {
		fmt.Fprintf(opts.IO.Out, "deploy it with: %s\n", factory.Command(opts.TargetFlags, "deploy --env ENV --version "+opts.Version))
		return nil
	}
	p := trigger.GitPush{Repository: opts.Repository, Branch: opts.Branch, Commit: opts.Version, Pusher: backend.Who(ctx, b, opts.As), App: app}
	if err := b.PutPushEvent(ctx, p); err != nil {
		return outcome.Error(err)
	}
	fmt.Fprintf(opts.IO.Out, "put the push event of %s to %s of %s on the default bus: the push router deploys it where %s maps\n", opts.Version, opts.Branch, opts.Repository, opts.Branch)
	return nil
}

// releaseVersion reads SLIPWAY_VERSION from the bundle's release.env.
func releaseVersion(b *bundle.Bundle) string {
	raw, err := fsRead(b, bundle.ReleaseEnvName)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "SLIPWAY_VERSION="); ok {
			return strings.Trim(v, `'"`)
		}
	}
	return ""
}

func fsRead(b *bundle.Bundle, name string) ([]byte, error) { return fs.ReadFile(b.FS(), name) }

// tests is the test result the publish is given: --tests-passed, or the
// reports read and summarised; nil when neither.
func (opts *PublishOptions) tests() (*provenance.Tests, error) {
	switch {
	case opts.TestsPassed:
		return &provenance.Tests{Passed: true, Source: "--tests-passed"}, nil
	case len(opts.TestReports) > 0:
		t, err := provenance.ReadReports(opts.TestReports)
		if err != nil {
			return nil, factory.WithHint(factory.ExitUsage, err, "--test-report takes JUnit XML or the output of go test -json")
		}
		return t, nil
	}
	return nil, nil
}

// provenance builds the record of this publish.
func (opts *PublishOptions) provenance(ctx context.Context, b backend.Backend, sum string, tests *provenance.Tests) provenance.Record {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	rec := provenance.Record{Version: opts.Version, SHA256: sum, BuiltAt: time.Now().UTC(), Tests: tests,
		Commit: opts.Commit, Branch: opts.Branch, BuildURL: opts.BuildURL, PublishedBy: backend.Who(ctx, b, opts.As)}
	if rec.Commit == "" {
		rec.Commit = getenv("GITHUB_SHA")
	}
	if rec.Commit == "" && opts.PushEvent {
		rec.Commit = opts.Version
	}
	if rec.Branch == "" {
		rec.Branch = getenv("GITHUB_REF_NAME")
	}
	if rec.BuildURL == "" && getenv("GITHUB_RUN_ID") != "" {
		rec.BuildURL = strings.TrimSuffix(getenv("GITHUB_SERVER_URL"), "/") + "/" + getenv("GITHUB_REPOSITORY") + "/actions/runs/" + getenv("GITHUB_RUN_ID")
	}
	return rec
}
