// Package demo is `slipway demo`: the whole pipeline, end to end, on the
// embedded environment — deploy v1 and v2 of the demo app, then v3, which
// fails its health check and is rolled back to v2 automatically.
package demo

import (
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	deploycmd "github.com/slipway-deploy/slipway/internal/cli/deploy"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/scenario"
)

// Options are the demo command's inputs.
type Options struct {
	IO        *factory.IOStreams
	Dir       string
	AppDir    string
	Instances int
	Keep      bool
	Database  string
}

// NewCmdDemo returns the demo command. runF replaces the run in tests.
func NewCmdDemo(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy the demo app three times on the embedded environment; the third release fails and is rolled back",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Instances < 1 || opts.Instances > 50 {
				return factory.UsageError("--instances must be between 1 and 50, got %d", opts.Instances)
			}
			if runF != nil {
				return runF(opts)
			}
			_, err := Run(cmd.Context(), opts)
			return err
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", ".slipway/demo", "state directory of the demo's embedded environment (emptied first)")
	cmd.Flags().StringVar(&opts.AppDir, "app-dir", "examples/demo-app", "the demo app's source and releases")
	cmd.Flags().IntVar(&opts.Instances, "instances", 3, "number of instances")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "leave the apps running at the end")
	cmd.Flags().StringVar(&opts.Database, "database", "", "a PostgreSQL or MySQL/MariaDB server (postgres://postgres@127.0.0.1:5432/postgres, mysql://root@127.0.0.1:3306) on which to create the demo's database, slipway_demo_staging, instead of a SQLite file")
	return cmd
}

// Run runs the demo scenario (internal/scenario) with each deployment
// going through `slipway deploy --local`'s own code.
func Run(ctx context.Context, opts *Options) ([]scenario.Outcome, error) {
	return scenario.Run(ctx, scenario.Options{Root: opts.Dir, AppDir: opts.AppDir, Out: opts.IO.Out, Instances: opts.Instances, Keep: opts.Keep,
		Database: opts.Database, Deploy: deployLocal})
}

// deployLocal is `slipway deploy --local --env staging --version VERSION`
// on env, waiting for the end.
func deployLocal(ctx context.Context, env *localenv.Env, out io.Writer, version string) (scenario.Deployed, error) {
	res, err := deploycmd.Start(ctx, out, backend.NewLocal(env, false),
		&deploycmd.Options{Env: "staging", Version: version, Wait: true, Source: "demo", As: os.Getenv("USER")})
	return scenario.Deployed{Deployment: res.Deployment, Recorded: res.Recorded, Error: res.Execution.Error, Cause: res.Execution.Cause}, err
}
