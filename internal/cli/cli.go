// Package cli is the slipway command line: the root command, how errors
// become exit codes and messages, and the factory every command gets.
// Each command lives in its own package under internal/cli with an Options
// struct of injected dependencies.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/cli/approve"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/configcmd"
	"github.com/slipway-deploy/slipway/internal/cli/demo"
	"github.com/slipway-deploy/slipway/internal/cli/deploy"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/history"
	"github.com/slipway-deploy/slipway/internal/cli/local"
	"github.com/slipway-deploy/slipway/internal/cli/lock"
	"github.com/slipway-deploy/slipway/internal/cli/logs"
	"github.com/slipway-deploy/slipway/internal/cli/migrations"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/cli/plan"
	"github.com/slipway-deploy/slipway/internal/cli/promote"
	"github.com/slipway-deploy/slipway/internal/cli/reject"
	"github.com/slipway-deploy/slipway/internal/cli/release"
	"github.com/slipway-deploy/slipway/internal/cli/rollback"
	"github.com/slipway-deploy/slipway/internal/cli/show"
	"github.com/slipway-deploy/slipway/internal/cli/states"
	"github.com/slipway-deploy/slipway/internal/cli/status"
	"github.com/slipway-deploy/slipway/internal/cli/unlock"
	"github.com/slipway-deploy/slipway/internal/cli/version"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// LocalDirEnv names the environment variable that points at the embedded
// environment's state directory.
const LocalDirEnv = "SLIPWAY_LOCAL_DIR"

// DefaultLocalDir is the embedded environment's state directory by default.
const DefaultLocalDir = ".slipway/local"

// Main runs the command line and returns the process exit code. The root
// context is cancelled on SIGINT and SIGTERM.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := &factory.Factory{IO: factory.System(), Resolver: localResolver}
	return Run(ctx, f, os.Args[1:])
}

// Run runs the command line with args and returns the exit code.
func Run(ctx context.Context, f *factory.Factory, args []string) int {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return factory.ExitOK
	}
	var silent *factory.SilentError
	if errors.As(err, &silent) {
		return silent.Code
	}
	err = outcome.Error(err)
	var ee *factory.ExitError
	code := factory.ExitCode(err)
	fmt.Fprintf(f.IO.ErrOut, "error: %v\n", err)
	if errors.As(err, &ee) && ee.Hint != "" {
		fmt.Fprintf(f.IO.ErrOut, "hint: %s\n", ee.Hint)
	}
	return code
}

// NewCmdRoot returns the root command with every subcommand.
func NewCmdRoot(f *factory.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "slipway",
		Short:         "Deploy a web app to EC2 and RDS safely, with automatic rollback",
		Long:          "Slipway deploys through one Step Functions state machine: preflight, lock, snapshot, migrate, rollout in health-gated waves, bake, with rollback on any failure. Every command also works against the embedded environment on this machine.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// --version prints the same as `slipway version`.
	info := version.Current()
	root.Version = info.Line()
	root.SetVersionTemplate(info.Text())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return factory.UsageError("%v", err) })
	var bopts backend.Options
	pf := root.PersistentFlags()
	pf.BoolVar(&bopts.Local, "local", false, "act on the embedded environment ($SLIPWAY_LOCAL_DIR, default "+backend.DefaultLocalDir+") instead of AWS")
	pf.StringVar(&bopts.LocalDir, "local-dir", "", "the embedded environment's state directory (implies --local)")
	pf.StringVar(&bopts.ConfigFile, "config", "", "the Slipway configuration file, JSON (default: $SLIPWAY_CONFIG)")
	pf.StringVar(&bopts.Region, "region", "", "the AWS region (default: the SDK's: AWS_REGION, the profile)")
	pf.StringVar(&bopts.Profile, "profile", "", "the AWS profile (default: AWS_PROFILE)")
	if f.Backend == nil {
		// A copy, so that the factory the caller holds keeps no tie to
		// this root's flags.
		withFlags := *f
		withFlags.Backend = func(ctx context.Context) (backend.Backend, error) { return backend.Open(ctx, bopts) }
		f = &withFlags
	}
	root.AddCommand(deploy.NewCmdDeploy(f, nil))
	root.AddCommand(promote.NewCmdPromote(f, nil))
	root.AddCommand(approve.NewCmdApprove(f, nil))
	root.AddCommand(reject.NewCmdReject(f, nil))
	root.AddCommand(status.NewCmdStatus(f, nil))
	root.AddCommand(history.NewCmdHistory(f, nil))
	root.AddCommand(show.NewCmdShow(f, nil))
	root.AddCommand(plan.NewCmdPlan(f, nil))
	root.AddCommand(rollback.NewCmdRollback(f, nil))
	root.AddCommand(lock.NewCmdLock(f, nil))
	root.AddCommand(unlock.NewCmdUnlock(f, nil))
	root.AddCommand(logs.NewCmdLogs(f, nil))
	root.AddCommand(release.NewCmdRelease(f, nil, nil))
	root.AddCommand(local.NewCmdLocal(f, nil))
	root.AddCommand(demo.NewCmdDemo(f, nil))
	root.AddCommand(states.NewCmdStates(f))
	root.AddCommand(migrations.NewCmdMigrations(f))
	root.AddCommand(configcmd.NewCmdConfig(f, nil))
	root.AddCommand(version.NewCmdVersion(f, nil))
	return root
}

// localResolver opens the embedded environment (SLIPWAY_LOCAL_DIR, default
// .slipway/local) and returns its handlers for `states run`.
func localResolver(ctx context.Context) (asl.Resolver, map[string]string, func() error, error) {
	dir := os.Getenv(LocalDirEnv)
	if dir == "" {
		dir = DefaultLocalDir
	}
	env, err := localenv.Open(filepath.Clean(dir))
	if err != nil {
		return nil, nil, nil, err
	}
	r, subs := env.Handlers()
	return r, subs, env.Close, nil
}
