// Package complete is the shell completion of slipway's dynamic values:
// environment names, versions and deployment ids, read from the target
// the command line selects (cobra's ValidArgsFunction and
// RegisterFlagCompletionFunc). A target that cannot be read completes
// nothing; completion never fails the shell.
package complete

import (
	"context"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

// Func is a cobra completion function.
type Func = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective)

// deploymentArgs are the commands whose one argument is a deployment id.
var deploymentArgs = []string{"show", "logs", "approve", "reject"}

// Register adds completion to every command under root: --env, --from
// and --to complete environment names, --version and --to-version
// versions, and the argument of show, logs, approve and reject a
// deployment id. A command's own completion is kept.
func Register(root *cobra.Command, f *factory.Factory) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, name := range []string{"env", "from", "to"} {
			if c.Flags().Lookup(name) != nil && !(c.Name() == "rollback" && name == "to") {
				_ = c.RegisterFlagCompletionFunc(name, Environments(f))
			}
		}
		if c.Flags().Lookup("version") != nil && c.Name() != "version" {
			_ = c.RegisterFlagCompletionFunc("version", Versions(f))
		}
		if c.Name() == "rollback" && c.Flags().Lookup("to") != nil {
			_ = c.RegisterFlagCompletionFunc("to", Versions(f))
		}
		if slices.Contains(deploymentArgs, c.Name()) && c.Parent() == root && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = Deployments(f)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// open opens the target, or returns nil.
func open(ctx context.Context, f *factory.Factory) backend.Backend {
	if f.Backend == nil {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	b, err := f.Backend(ctx)
	if err != nil {
		return nil
	}
	return b
}

// Environments completes the target's environment names.
func Environments(f *factory.Factory) Func {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		b := open(cmd.Context(), f)
		if b == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer b.Close()
		return prefixed(b.Config().Names(), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// Versions completes versions: those the ledger has deployed (newest
// first) and, on the embedded environment, those published.
func Versions(f *factory.Factory) Func {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		b := open(cmd.Context(), f)
		if b == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer b.Close()
		var vs []string
		ds, err := b.Ledger().ListDeployments(cmd.Context(), b.Config().App, "", 100)
		if err == nil {
			for _, d := range ds {
				vs = append(vs, d.Version)
			}
		}
		if l, ok := b.(*backend.Local); ok {
			files, _ := filepath.Glob(filepath.Join(l.Env().Artifacts.Root, b.Config().App, "*.tar.gz"))
			for _, p := range files {
				vs = append(vs, strings.TrimSuffix(filepath.Base(p), ".tar.gz"))
			}
		}
		return prefixed(unique(vs), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// Deployments completes deployment ids, newest first, with each one's
// status as its description.
func Deployments(f *factory.Factory) Func {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		b := open(cmd.Context(), f)
		if b == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer b.Close()
		ds, err := b.Ledger().ListDeployments(cmd.Context(), b.Config().App, "", 50)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, d := range ds {
			if strings.HasPrefix(d.ID, toComplete) {
				out = append(out, cobra.CompletionWithDesc(d.ID, d.Status))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func prefixed(vs []string, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, v := range vs {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

func unique(vs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range vs {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
