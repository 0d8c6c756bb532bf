// Package logs is `slipway logs`: the output of every host command a
// deployment ran, instance by instance, from the ledger.
package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/report"
)

// Options are the logs command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)

	DeploymentID string
	Instance     string
	Action       string
	// Hook keeps, of each output, only what one lifecycle hook printed
	// (its lines, prefixed "hook NAME: ", and the host script's lines
	// about it).
	Hook string
	JSON bool
}

// NewCmdLogs returns the logs command. runF, when not nil, replaces the
// run.
func NewCmdLogs(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "logs DEPLOYMENT [--instance ID] [--action ACTION] [--hook NAME] [--json]",
		Short: "Print the output of a deployment's host commands, per instance",
		Long: `Print what the host script printed on each instance for each command of the deployment (activate,
rollback, status), as the ledger keeps it. The ledger keeps the last 24,000 characters of each; the
note at the end says where the whole output is (on AWS, the command output log group).`,
		Example: `  slipway logs staging-v3-20261126T012507Z-0b7e
  slipway logs --local staging-v3-20261126T012507Z-0b7e --instance staging-1 --action activate
  slipway logs staging-v3-20261126T012507Z-0b7e --hook validate`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("want one deployment id, got %d arguments", len(args)), "`slipway history` lists the deployments and their ids")
			}
			if opts.Hook != "" && !slices.Contains(manifest.HookNames, opts.Hook) {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("--hook %q is not a hook", opts.Hook), "the hooks are "+strings.Join(manifest.HookNames, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DeploymentID = args[0]
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Instance, "instance", "", "only this instance")
	cmd.Flags().StringVar(&opts.Action, "action", "", "only this command: activate, rollback, status, before_traffic or after_traffic")
	cmd.Flags().StringVar(&opts.Hook, "hook", "", "only what this lifecycle hook printed: "+strings.Join(manifest.HookNames, ", "))
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON: the host commands' results, each with its output")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	l := b.Ledger()
	d, err := l.GetDeployment(ctx, opts.DeploymentID)
	if err != nil {
		return outcome.Error(err)
	}
	results, err := l.InstanceResults(ctx, d.ID)
	if err != nil {
		return outcome.Error(err)
	}
	if opts.Hook != "" {
		for i := range results {
			results[i].Output = fleet.HookLines(results[i].Output, opts.Hook)
			if results[i].Output == "" {
				results[i].Output = fmt.Sprintf("(hook %s did not run)", opts.Hook)
			}
		}
	}
	w := opts.IO.Out
	if opts.JSON {
		shown := []ledger.InstanceResult{}
		for _, r := range results {
			if opts.Instance != "" && r.InstanceID != opts.Instance || opts.Action != "" && r.Action != opts.Action {
				continue
			}
			shown = append(shown, r)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(shown)
	}
	shown := 0
	for _, r := range results {
		if opts.Instance != "" && r.InstanceID != opts.Instance || opts.Action != "" && r.Action != opts.Action {
			continue
		}
		shown++
		wave := "rollback"
		if r.Wave >= 0 {
			wave = fmt.Sprintf("wave %d", r.Wave+1)
		}
		took := ""
		if !r.StartedAt.IsZero() && !r.FinishedAt.IsZero() {
			took = ", " + report.FormatSeconds(r.FinishedAt.Sub(r.StartedAt))
		}
		fmt.Fprintf(w, "── %s  %s %s (%s)  %s, exit %d%s  command %s\n", r.InstanceID, r.Action, r.Version, wave, r.Status, r.ExitCode, took, r.CommandID)
		out := strings.TrimRight(r.Output, "\n")
		if out == "" {
			out = "(no output)"
		}
		fmt.Fprintln(w, out)
		if len(r.Output) >= fleet.MaxOutput {
			fmt.Fprintf(w, "(the ledger keeps the last %d characters)\n", fleet.MaxOutput)
		}
		fmt.Fprintln(w)
	}
	if shown == 0 {
		what := "no host command ran for deployment " + d.ID
		if opts.Instance != "" || opts.Action != "" {
			what += " matching --instance/--action"
		}
		fmt.Fprintf(w, "%s (%s, %s)\n", what, d.Status, d.Summary)
		return nil
	}
	if note := b.Hints(d.Environment).CommandOutput; note != "" {
		fmt.Fprintf(w, "%s\n", note)
	}
	return nil
}
