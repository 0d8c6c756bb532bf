// Package local is `slipway local`: create the embedded environment that
// every command works against with --local: instances as directories and
// processes on 127.0.0.1, a SQLite database, a ledger, an artifact folder.
package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// InitOptions are `local init`'s inputs.
type InitOptions struct {
	IO           *factory.IOStreams
	Dir          string
	App          string
	Environments []string
	Instances    int
	Balancer     bool
	// BlueGreen splits each environment in two sides behind the balancer
	// (implies Balancer; default 4 instances).
	BlueGreen bool
	// Database is a PostgreSQL or MySQL/MariaDB server URL: each
	// environment gets a database there instead of a SQLite file.
	Database string
}

// NewCmdLocal returns the local command and its subcommands. initF, when
// not nil, replaces init's run.
func NewCmdLocal(f *factory.Factory, initF func(*InitOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local <command>",
		Short: "Manage the embedded environment on this machine",
		Args:  cobra.NoArgs,
	}
	opts := &InitOptions{IO: f.IO}
	initCmd := &cobra.Command{
		Use:   "init [--dir DIR] [--app NAME] [--env staging,production] [--instances N] [--balancer=false | --blue-green] [--database URL]",
		Short: "Create an embedded environment",
		Long: `Create the embedded environment in DIR (default: $SLIPWAY_LOCAL_DIR, else .slipway/local): N instances
per environment, each a directory with its releases and a process on its own 127.0.0.1 port, a SQLite
database per environment, the ledger and an artifact folder. An environment named production needs
approvals, as on AWS. Each environment serves behind the embedded load balancer, as EC2 instances behind
an ALB (its endpoint: slipway status --local; slipway local balancer status; --balancer=false: none, the
instances only). With --blue-green (default 4 instances) each environment is split in two sides, blue and green (the larger half
blue when N is odd), each instance tagged slipway:side, each side a target group (<env>-blue,
<env>-green) behind the listener <env>, and the environment's blue_green configuration written: a
manifest with rollout.strategy blue-green deploys to the idle side and shifts the listener to it. The
listener starts on green (nothing serves yet), so the first deployment goes to blue.
With --database URL (postgres://USER[:PASSWORD]@HOST[:PORT][/ADMINDB] or mysql://USER[:PASSWORD]@HOST[:PORT]),
each environment's database is created on that server instead, named slipway_<app>_<env>, so that
migrations run on the engine production uses; the app gets DATABASE_ENGINE and DATABASE_URL instead of
DATABASE_PATH. slipway local down drops them.
Then: slipway release publish FILE --version V --local; slipway deploy --local ...`,
		Example: `  slipway local init --app demo --env staging,production --instances 3
  slipway local init --dir /tmp/plain --env staging --balancer=false
  slipway local init --dir /tmp/bg --env staging --blue-green
  slipway local init --app shop --env staging --database postgres://postgres@127.0.0.1:5432/postgres`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.BlueGreen {
				opts.Balancer = true
				if !cmd.Flags().Changed("instances") {
					opts.Instances = 4
				}
				if opts.Instances < 2 {
					return factory.UsageError("--blue-green needs at least 2 --instances (one per side), got %d", opts.Instances)
				}
			}
			if opts.Instances < 1 || opts.Instances > 50 {
				return factory.UsageError("--instances must be between 1 and 50, got %d", opts.Instances)
			}
			if opts.App == "" {
				return factory.UsageError("--app must not be empty")
			}
			if opts.Dir == "" {
				opts.Dir = os.Getenv(backend.EnvLocalDir)
			}
			if opts.Dir == "" {
				opts.Dir = backend.DefaultLocalDir
			}
			if len(opts.Environments) == 0 {
				return factory.UsageError("--env needs at least one environment")
			}
			if opts.Database != "" {
				if _, err := localenv.ParseServer(opts.Database); err != nil {
					return factory.UsageError("--database: %v", err)
				}
			}
			if initF != nil {
				return initF(opts)
			}
			return runInit(cmd.Context(), opts)
		},
	}
	initCmd.Flags().StringVar(&opts.Dir, "dir", "", "the state directory (default: $SLIPWAY_LOCAL_DIR, else "+backend.DefaultLocalDir+")")
	initCmd.Flags().StringVar(&opts.App, "app", "demo", "the app's name, as its slipway.yaml says")
	initCmd.Flags().StringSliceVar(&opts.Environments, "env", []string{"staging", "production"}, "the environments")
	initCmd.Flags().IntVar(&opts.Instances, "instances", 3, "instances per environment")
	initCmd.Flags().BoolVar(&opts.Balancer, "balancer", true, "put each environment behind the embedded load balancer (its endpoint: slipway status --local); --balancer=false for the instances only")
	initCmd.Flags().BoolVar(&opts.BlueGreen, "blue-green", false, "split each environment in two sides (blue, green) behind the embedded load balancer, for rollout.strategy blue-green (default 4 instances)")
	initCmd.Flags().StringVar(&opts.Database, "database", "", "a PostgreSQL or MySQL/MariaDB server on which to create each environment's database (postgres://postgres@127.0.0.1:5432/postgres, mysql://root@127.0.0.1:3306); default: a SQLite file each")
	cmd.AddCommand(initCmd)
	cmd.AddCommand(newCmdDown(f))
	cmd.AddCommand(newCmdStop(f), newCmdStart(f), newCmdAlarm(f))
	cmd.AddCommand(newCmdBalancer(f, nil))
	cmd.AddCommand(newCmdScaleOut(f))
	cmd.AddCommand(newCmdSecret(f, nil))
	return cmd
}

// newCmdScaleOut is `local scale-out`: the embedded environment's Auto
// Scaling group launches one instance, and the launch lifecycle hook's
// handler (the lifecycle function's own code) decides whether it serves.
func newCmdScaleOut(f *factory.Factory) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "scale-out --env ENV",
		Short: "Launch one more instance through the launch lifecycle hook",
		Long: `Launch one more instance in ENV of the embedded environment, as its Auto Scaling group would, and run
the launch lifecycle hook's handler on it: the instance gets the environment's release (the one being
deployed while a deployment's waves run), is health-checked, and joins the fleet (CONTINUE); if it cannot
run the release healthily it is abandoned and terminated (ABANDON), and the ledger says why.
An environment with nothing deployed yet gets the instance as it is.`,
		Example: `  slipway local scale-out --env staging`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if env == "" {
				return factory.UsageError("--env is required: the environment to scale out")
			}
			return runScaleOut(cmd, f, env)
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	return cmd
}

func runScaleOut(cmd *cobra.Command, f *factory.Factory, env string) error {
	ctx := cmd.Context()
	// The embedded environment always (on AWS the group's lifecycle hook
	// runs the lifecycle function instead).
	e, err := localenv.Open(dirFlag(cmd, ""))
	if err != nil {
		return factory.WithHint(factory.ExitUsage, err, "create it with slipway local init, or name it with --local-dir DIR")
	}
	defer e.Close()
	res, err := e.ScaleOut(ctx, env)
	if res.InstanceID != "" {
		fmt.Fprintf(f.IO.Out, "%s: %s\n", res.Action, res.Message)
	}
	if err != nil {
		return err
	}
	if res.Action != "CONTINUE" {
		return &factory.SilentError{Code: factory.ExitFailed}
	}
	return nil
}

func runInit(_ context.Context, opts *InitOptions) error {
	fmt.Fprintf(opts.IO.ErrOut, "target: %s, created\n", backend.Target{Local: true, Dir: opts.Dir})
	env, err := localenv.Init(opts.Dir, localenv.Options{App: opts.App, Environments: opts.Environments, Instances: opts.Instances, Balancer: opts.Balancer, BlueGreen: opts.BlueGreen,
		Database: opts.Database})
	if err != nil {
		hint := "use another --dir, or remove the directory (slipway local down --dir DIR)"
		if opts.Database != "" {
			hint = "check that the server in --database answers and lets that user create databases; " + hint
		}
		return factory.WithHint(factory.ExitUsage, err, hint)
	}
	defer env.Close()
	fmt.Fprintf(opts.IO.Out, "embedded environment for %s in %s: %s, %d instances each\n", opts.App, opts.Dir, strings.Join(opts.Environments, ", "), opts.Instances)
	for _, n := range env.InitNotes {
		fmt.Fprintln(opts.IO.Out, n)
	}
	for _, e := range opts.Environments {
		if d, err := env.Database(context.Background(), e); err == nil && d.Family() != "sqlite" {
			fmt.Fprintf(opts.IO.Out, "%s database: %s (created; slipway local down drops it)\n", e, d)
		}
	}
	if opts.Balancer {
		for _, e := range opts.Environments {
			if url, err := env.Endpoint(e); err == nil {
				fmt.Fprintf(opts.IO.Out, "%s endpoint: %s (through the embedded load balancer)\n", e, url)
			}
			if c, err := env.Config.Env(e); err == nil && c.BlueGreen != nil {
				fmt.Fprintf(opts.IO.Out, "%s blue/green: target groups %s and %s behind listener %s; the first deployment goes to blue\n", e, c.BlueGreen.Blue.TargetGroup, c.BlueGreen.Green.TargetGroup, c.BlueGreen.Listener)
			}
		}
	}
	fmt.Fprintf(opts.IO.Out, "secrets in %s: the configuration fingerprint key %s", env.Secrets.Path, appconfig.KeySecretName(opts.App))
	if opts.App == "demo" {
		fmt.Fprintf(opts.IO.Out, ", and the demo's API_TOKEN per environment (%s, …)", localenv.DemoTokenSecret(opts.Environments[0]))
	}
	fmt.Fprintf(opts.IO.Out, "; add the ones your slipway.yaml's config: references with slipway local secret set NAME\n")
	// Commands run here find the environment by themselves when it is
	// the one they would find; else the printed ones name it.
	flags := ""
	if !samePath(backend.LocalDir(""), env.Root) {
		flags = " --local-dir " + opts.Dir
	}
	fmt.Fprintf(opts.IO.Out, "next: slipway release publish BUNDLE --version V%s; slipway deploy --env %s --version V%s\n", flags, opts.Environments[0], flags)
	if flags != "" {
		fmt.Fprintf(opts.IO.Out, "(or set %s=%s so that commands find it)\n", backend.EnvLocalDir, opts.Dir)
	}
	return nil
}

// newCmdDown is `local down`: take the embedded environment down for good.
func newCmdDown(f *factory.Factory) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "down [--dir DIR]",
		Short: "Stop the embedded environment, drop the databases it created, remove its directory",
		Long: `Stop every app process and the load balancer of the embedded environment in DIR (default:
$SLIPWAY_LOCAL_DIR, else .slipway/local), drop the databases local init --database created on the server
(each only if it still records DIR as its owner), and remove DIR. Removing DIR by hand leaves those
databases on the server; the next local init of the same app finds and replaces them.`,
		Example: `  slipway local down
  slipway local down --dir /tmp/plain`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := localenv.Down(cmd.Context(), dirFlag(cmd, dir))
			for _, d := range res.Databases {
				fmt.Fprintf(f.IO.Out, "dropped database %s\n", d)
			}
			if errors.Is(err, localenv.ErrNotInitialized) {
				return factory.WithHint(factory.ExitUsage, err, "name the environment's directory with --dir")
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "removed the embedded environment in %s\n", res.Root)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the state directory (default: --local-dir, $SLIPWAY_LOCAL_DIR, else "+backend.DefaultLocalDir+" found from here up)")
	return cmd
}

// dirFlag is the embedded environment a `local` subcommand acts on: dir
// (its --dir), else --local-dir, else as every command finds it
// (backend.LocalDir: $SLIPWAY_LOCAL_DIR, else .slipway/local from the
// working directory up). It says which on stderr's first line.
func dirFlag(cmd *cobra.Command, dir string) string {
	if dir == "" {
		if fl := cmd.Flag("local-dir"); fl != nil {
			dir = fl.Value.String()
		}
	}
	dir = backend.LocalDir(dir)
	fmt.Fprintf(cmd.ErrOrStderr(), "target: %s\n", backend.Target{Local: true, Dir: dir})
	return dir
}

// samePath reports whether a and b name the same directory.
func samePath(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
