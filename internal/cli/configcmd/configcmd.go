// Package configcmd is `slipway config check` and `slipway config diff`:
// the manifest's config: section checked against an environment (every
// required variable resolves, through the local secrets file or SSM and
// Secrets Manager), and two environments compared variable by variable.
// Neither ever prints a value: references, "literal", states, and
// same/different compared by keyed prints.
package configcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/cli/release"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

// Options are the config commands' inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)

	// Action is check or diff.
	Action string
	// Envs is the environment checked, or the two compared.
	Envs []string
	// Manifest is the slipway.yaml read; Version, when set, the published
	// release whose manifest is read instead. With neither given
	// (ManifestSet false) and no slipway.yaml here, the release the first
	// environment serves is read.
	Manifest    string
	ManifestSet bool
	Version     string
	JSON        bool
}

// NewCmdConfig returns `config check|diff`. runF, when not nil, replaces
// the run.
func NewCmdConfig(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config <command>",
		Short: "Check and compare the app's configuration (the manifest's config: section) per environment",
		Args:  cobra.NoArgs,
	}
	add := func(action string, c *cobra.Command) {
		opts := &Options{IO: f.IO, Backend: f.Backend, Action: action}
		c.Flags().StringSliceVarP(&opts.Envs, "env", "e", nil, "the environment")
		c.Flags().StringVar(&opts.Manifest, "manifest", manifest.FileName, "the manifest whose config: section is read")
		c.Flags().StringVar(&opts.Version, "version", "", "read the manifest of this published release instead")
		c.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
		c.Args = cobra.NoArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			want := 1
			if action == "diff" {
				want = 2
			}
			if len(opts.Envs) != want {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("config %s takes %d --env, got %d", action, want, len(opts.Envs)), c.Example)
			}
			if want == 2 && opts.Envs[0] == opts.Envs[1] {
				return factory.UsageError("config diff compares two different environments, got %s twice", opts.Envs[0])
			}
			opts.ManifestSet = c.Flags().Changed("manifest")
			if opts.ManifestSet && opts.Version != "" {
				return factory.UsageError("--manifest and --version both name the manifest to read: give one")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		}
		cmd.AddCommand(c)
	}
	add("check", &cobra.Command{
		Use:   "check --env ENV [--version VERSION | --manifest FILE] [--json]",
		Short: "Check that every required variable resolves in an environment",
		Long: `Resolve the manifest's config: section for ENV as a host would at activation: literals, SSM
parameters (ssm:/path, decrypted) and Secrets Manager secrets (secret:NAME[#json-key]); on the embedded
environment (--local) the local secrets file. Print each variable with where it comes from (its
reference, or "literal"; never a value), and the configuration's fingerprint (a keyed hash under the
app's key, slipway/<app>/config-key). Preflight runs the same check before it takes the lock.

The manifest read is --manifest FILE, or the published release --version VERSION; with neither, the
slipway.yaml here, or where there is none, the release ENV serves.

Exit status: 0 when every required variable resolves; 3 when one does not (each named, with where it
should come from); 2 for bad flags or manifest; 4 for AWS credentials.`,
		Example: `  slipway config check --env production
  slipway config check --local --env staging --json
  slipway config check --env production --version v42`,
	})
	add("diff", &cobra.Command{
		Use:   "diff --env A --env B [--version VERSION | --manifest FILE] [--json]",
		Short: "Compare two environments' configuration, variable by variable, never showing a value",
		Long: `One row per variable: whether each environment sets it (set, default: the manifest's default,
missing), and whether the values are the same. Values are compared by their keyed prints under the
app's key (slipway/<app>/config-key), never shown, secrets or not. A reference that does not resolve
is never the same as anything; the problems are listed after the table (on stderr with --json).
--json prints an array of {"name", "secret", "<A>": state, "<B>": state, "same"}.
The manifest read is as for check (with neither flag and no slipway.yaml here, the release A serves).`,
		Example: `  slipway config diff --env staging --env production
  slipway config diff --local --env staging --env production --json`,
	})
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	for _, env := range opts.Envs {
		if _, err := b.Config().Env(env); err != nil {
			return factory.UsageError("%v", err)
		}
	}
	m, source, err := readManifest(ctx, opts, b)
	if err != nil {
		return err
	}
	if app := b.Config().App; app != m.App {
		return factory.UsageError("%s is the manifest of app %q, but this Slipway deploys %q", source, m.App, app)
	}
	store, err := b.ConfigStore()
	if err != nil {
		return err
	}
	if opts.Action == "diff" {
		return diff(ctx, opts, m, store)
	}
	c := appconfig.Check(ctx, m, opts.Envs[0], store)
	if opts.JSON {
		if err := writeJSON(opts.IO.Out, c); err != nil {
			return err
		}
	} else {
		WriteCheck(opts.IO.Out, c, source, b.Describe())
	}
	if !c.OK() {
		return factory.WithHint(factory.ExitRefused, c.Err(), "set the missing values, then check again: Preflight refuses a deployment until every required variable resolves")
	}
	return nil
}

// readManifest reads the manifest opts name, and says where it came from:
// the file, a published release, or (with neither flag and no file here)
// the release the first environment serves.
func readManifest(ctx context.Context, opts *Options, b backend.Backend) (*manifest.Manifest, string, error) {
	version := opts.Version
	if version == "" {
		raw, err := os.ReadFile(opts.Manifest)
		switch {
		case err == nil:
			m, err := manifest.ParseFile(opts.Manifest, raw)
			if err != nil {
				return nil, "", factory.WithHint(factory.ExitUsage, err, manifest.FixHint)
			}
			return m, opts.Manifest, nil
		case opts.ManifestSet || !errors.Is(err, fs.ErrNotExist):
			return nil, "", factory.WithHint(factory.ExitUsage, fmt.Errorf("read the manifest: %w", err), "name a readable file with --manifest FILE, or a published release with --version VERSION")
		}
		ds, err := b.Ledger().ListDeployments(ctx, b.Config().App, opts.Envs[0], 50)
		if err != nil {
			return nil, "", outcome.Error(err)
		}
		if version, _ = ledger.Serving(ds); version == "" {
			return nil, "", factory.WithHint(factory.ExitUsage, fmt.Errorf("no %s here and nothing serves %s yet, so there is no manifest to read", manifest.FileName, opts.Envs[0]),
				"name the release with --version VERSION, or run it where the app's "+manifest.FileName+" is")
		}
	}
	bn, _, err := release.Open(ctx, b, version, "publish it first (slipway release publish), or name another with --version")
	if err != nil {
		return nil, "", err
	}
	source := "release " + version
	if opts.Version == "" {
		source += " (what " + opts.Envs[0] + " serves)"
	}
	return bn.Manifest, source, nil
}

func diff(ctx context.Context, opts *Options, m *manifest.Manifest, store appconfig.Store) error {
	res, err := appconfig.Diff(ctx, m, opts.Envs[0], opts.Envs[1], store)
	if err != nil {
		return err
	}
	if opts.JSON {
		rows := res.Rows
		if rows == nil {
			rows = []appconfig.DiffRow{}
		}
		if err := writeJSON(opts.IO.Out, rows); err != nil {
			return err
		}
		writeProblems(opts.IO.ErrOut, res, opts.Envs)
		return nil
	}
	WriteDiff(opts.IO.Out, m.App, opts.Envs, res)
	writeProblems(opts.IO.Out, res, opts.Envs)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteCheck prints a check: one line per variable with where it comes
// from, then the fingerprint (or nothing: the problems are the error).
func WriteCheck(w io.Writer, c *appconfig.CheckResult, manifestFile, where string) {
	fmt.Fprintf(w, "%s/%s: %s from %s, resolved through %s\n", c.App, c.Environment, count(len(c.Variables), "variable"), manifestFile, where)
	if len(c.Variables) == 0 {
		fmt.Fprintf(w, "the manifest declares no configuration (config:)\n")
	}
	bad := map[string]bool{}
	for _, p := range c.Problems {
		bad[p.Name] = true
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range c.Variables {
		kind, req, from, state := "", "optional", e.From, "ok"
		if e.Secret {
			kind = "secret"
		}
		if e.Required {
			req = "required"
		}
		switch {
		case e.State == appconfig.StateMissing && e.Required:
			from, state = "-", "MISSING"
		case e.State == appconfig.StateMissing:
			from, state = "-", "not set"
		case e.State == appconfig.StateDefault:
			from += " (default)"
		}
		if bad[e.Name] && state == "ok" {
			state = "DOES NOT RESOLVE"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Name, kind, req, from, state)
	}
	tw.Flush()
	if c.OK() {
		fmt.Fprintf(w, "fingerprint %s: every required variable resolves\n", c.Fingerprint)
	}
}

// WriteDiff prints a diff's table.
func WriteDiff(w io.Writer, app string, envs []string, res *appconfig.DiffResult) {
	same := 0
	for _, r := range res.Rows {
		if r.Same {
			same++
		}
	}
	fmt.Fprintf(w, "%s: configuration of %s and %s, %s, %d the same (values compared by keyed prints, never shown)\n",
		app, envs[0], envs[1], count(len(res.Rows), "variable"), same)
	if len(res.Rows) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "VARIABLE\tSECRET\t%s\t%s\tVALUES\n", strings.ToUpper(envs[0]), strings.ToUpper(envs[1]))
	for _, r := range res.Rows {
		secret, values := "", "different"
		if r.Secret {
			secret = "yes"
		}
		switch {
		case r.Same && r.States[0] == appconfig.StateMissing:
			values = "-"
		case r.Same:
			values = "same"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, secret, r.States[0], r.States[1], values)
	}
	tw.Flush()
}

func writeProblems(w io.Writer, res *appconfig.DiffResult, envs []string) {
	for _, env := range envs {
		for _, p := range res.Problems[env] {
			fmt.Fprintf(w, "%s: %s\n", env, p)
		}
	}
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
