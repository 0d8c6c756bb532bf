// Package deploy is `slipway deploy`: start a deployment of a published
// release to an environment and follow it to its end.
package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/execute"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Options are the deploy command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)

	Env     string
	Version string
	// Wait follows the deployment to its end; WaitSet says --wait was
	// given. Without it, the embedded environment waits (its engine runs in
	// this process) and AWS returns once the execution started.
	Wait, WaitSet  bool
	OverrideFreeze bool
	// ConfigOnly deploys the configuration the manifest and the stores
	// give now to the release that serves (Version, when given, must be
	// it).
	ConfigOnly bool
	Reason     string
	As         string
	// Source is the trigger's source: cli, or promote, or demo.
	Source string
	// Poll is how often AWS is asked while following; default 2s.
	Poll time.Duration
	// TargetFlags renders the flags printed commands carry
	// (factory.Factory.TargetFlags).
	TargetFlags func() string
	// JSON prints the outcome as JSON (execute.JSON) on stdout and the
	// progress on stderr.
	JSON bool
}

// NewCmdDeploy returns the deploy command. runF, when not nil, replaces
// the run, so tests can check how flags are read.
func NewCmdDeploy(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend, Source: "cli", TargetFlags: f.TargetFlags}
	cmd := &cobra.Command{
		Use:   "deploy --env ENV (--version VERSION | --config-only) [--wait]",
		Short: "Deploy a published release to an environment",
		Long: `Start the deploy state machine for a release that ` + "`slipway release publish`" + ` published,
and print each stage as it happens: its ledger steps, then its duration.

Locally (--local) the deployment runs in this process, so deploy always waits for it.
On AWS, deploy returns once the execution started unless --wait is given.

A production deployment waits for ` + "`slipway approve`" + ` before it takes the lock.

--config-only deploys a new configuration (the values the manifest's config: section
references, as the stores give them now) to the release that serves, through the same
waves, health gate and rollback; it is refused when the configuration did not change or
nothing serves. Values never leave the hosts: the report names the keys that changed.

Exit status: 0 when it SUCCEEDED; 1 when it FAILED, ROLLED_BACK or ROLLBACK_FAILED;
2 for bad flags or settings; 3 when refused (a manual lock, a freeze, a newer push,
a rejection, the migration policy); 4 for AWS credentials.`,
		Example: `  slipway deploy --local --env staging --version v2
  slipway deploy --env production --version 3f9a2c1 --wait
  slipway deploy --env production --version 3f9a2c1 --override-freeze --reason "fix for the checkout outage"
  slipway deploy --env staging --config-only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.WaitSet = cmd.Flags().Changed("wait")
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			_, err := Run(cmd.Context(), opts)
			return err
		},
	}
	cmd.Flags().StringVarP(&opts.Env, "env", "e", "", "the environment to deploy to (required)")
	cmd.Flags().StringVar(&opts.Version, "version", "", "the release to deploy, as published (required)")
	cmd.Flags().BoolVar(&opts.ConfigOnly, "config-only", false, "deploy the current configuration to the release that serves (no --version needed)")
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "follow the deployment to its end (always, locally)")
	cmd.Flags().BoolVar(&opts.OverrideFreeze, "override-freeze", false, "deploy inside a freeze window (needs --reason; recorded)")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why: recorded with the deployment")
	cmd.Flags().StringVar(&opts.As, "as", "", "who deploys, for the record (default: the AWS caller or $USER)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the outcome as JSON on stdout (the progress goes to stderr); the exit status is the same")
	return cmd
}

func (o *Options) validate() error {
	var missing []string
	if o.Env == "" {
		missing = append(missing, "--env")
	}
	if o.Version == "" && !o.ConfigOnly {
		missing = append(missing, "--version")
	}
	if len(missing) > 0 {
		return factory.WithHint(factory.ExitUsage, fmt.Errorf("%s required", strings.Join(missing, " and ")),
			"for example: slipway deploy --env staging --version v2")
	}
	if o.Version != "" {
		if err := artifact.ValidVersion(o.Version); err != nil {
			return factory.UsageError("%v", err)
		}
	}
	if o.OverrideFreeze && strings.TrimSpace(o.Reason) == "" {
		return factory.WithHint(factory.ExitUsage, fmt.Errorf("--override-freeze needs --reason"), "say why this cannot wait: it is recorded with the deployment")
	}
	return nil
}

// Run deploys and returns the result; the error carries the exit code.
func Run(ctx context.Context, opts *Options) (execute.Result, error) {
	b, err := opts.Backend(ctx)
	if err != nil {
		return execute.Result{}, outcome.Error(err)
	}
	defer b.Close()
	if !opts.JSON {
		return Start(ctx, opts.IO.Out, b, opts)
	}
	res, err := Start(ctx, opts.IO.ErrOut, b, opts)
	if res.Execution.Name == "" && res.Deployment.ID == "" {
		return res, err // it did not start
	}
	if jerr := execute.WriteJSON(opts.IO.Out, res); jerr != nil {
		return res, jerr
	}
	return res, err
}

// Start deploys on an open backend: what deploy, promote and the demo run.
func Start(ctx context.Context, out io.Writer, b backend.Backend, opts *Options) (execute.Result, error) {
	cfg := b.Config()
	if _, err := cfg.Env(opts.Env); err != nil {
		return execute.Result{}, outcome.Error(err)
	}
	src := opts.Source
	if src == "" {
		src = "cli"
	}
	version := opts.Version
	if opts.ConfigOnly && version == "" {
		// The release that serves names the deployment; Preflight checks
		// again, under its own rules, that it still serves.
		ds, err := b.Ledger().ListDeployments(ctx, cfg.App, opts.Env, 200)
		if err != nil {
			return execute.Result{}, outcome.Error(err)
		}
		if version, _ = ledger.Serving(ds); version == "" {
			return execute.Result{}, factory.WithHint(factory.ExitRefused, fmt.Errorf("%s serves no release, so there is no configuration to change", opts.Env),
				fmt.Sprintf("deploy a release first: slipway deploy --env %s --version V", opts.Env))
		}
	}
	if !opts.ConfigOnly {
		// A version never published is refused here, before an execution
		// (and its stages) starts: Preflight would refuse it the same way.
		store, err := b.Artifacts()
		if err != nil {
			return execute.Result{}, outcome.Error(err)
		}
		if _, err := store.Stat(ctx, cfg.App, version); err != nil {
			return execute.Result{}, outcome.Error(err)
		}
	}
	req := contract.DeployRequest{App: cfg.App, Environment: opts.Env, Version: version, OverrideFreeze: opts.OverrideFreeze, ConfigOnly: opts.ConfigOnly,
		Trigger: contract.Trigger{Source: src, Actor: backend.Who(ctx, b, opts.As), Reason: opts.Reason}}
	in, _ := json.Marshal(req)
	wait := opts.Wait || !opts.WaitSet && b.Local()
	return execute.Run(ctx, out, b, execute.Request{
		Machine: backend.MachineDeploy, Name: backend.ExecutionName(opts.Env, version), Input: in,
		What: deployWhat(version, opts), Wait: wait, Poll: opts.Poll, TargetFlags: opts.TargetFlags,
	})
}

// deployWhat names the deployment in the command's output.
func deployWhat(version string, opts *Options) string {
	if opts.ConfigOnly {
		return fmt.Sprintf("deploy the configuration of %s to %s", version, opts.Env)
	}
	return fmt.Sprintf("deploy %s to %s", version, opts.Env)
}
