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
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/cli/approve"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/complete"
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
	"github.com/slipway-deploy/slipway/internal/cli/stats"
	"github.com/slipway-deploy/slipway/internal/cli/status"
	"github.com/slipway-deploy/slipway/internal/cli/unlock"
	"github.com/slipway-deploy/slipway/internal/cli/version"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// Main runs the command line and returns the process exit code. The root
// context is cancelled on SIGINT and SIGTERM.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := &factory.Factory{IO: factory.System()}
	return Run(ctx, f, os.Args[1:])
}

// Run runs the command line with args and returns the exit code.
func Run(ctx context.Context, f *factory.Factory, args []string) int {
	root, rf := newRoot(f)
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
		fmt.Fprintf(f.IO.ErrOut, "hint: %s\n", withTargetFlags(ee.Hint, rf.TargetFlags()))
	}
	return code
}

// NewCmdRoot returns the root command with every subcommand.
func NewCmdRoot(f *factory.Factory) *cobra.Command {
	root, _ := newRoot(f)
	return root
}

// commandInHint is a command quoted in a hint: `slipway ...`.
var commandInHint = regexp.MustCompile("`slipway [^`]*`")

// withTargetFlags adds flags (those that select the target) to every
// command quoted in hint, so that it runs as printed.
func withTargetFlags(hint, flags string) string {
	if flags == "" {
		return hint
	}
	return commandInHint.ReplaceAllStringFunc(hint, func(c string) string {
		if strings.Contains(c, flags) {
			return c
		}
		return strings.TrimSuffix(c, "`") + " " + flags + "`"
	})
}

// newRoot returns the root command and the factory its commands got.
func newRoot(f *factory.Factory) (*cobra.Command, *factory.Factory) {
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
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if near := nearestFlag(cmd, err); near != "" {
			return factory.WithHint(factory.ExitUsage, err, "did you mean --"+near+"?")
		}
		return factory.UsageError("%v", err)
	})
	root.SuggestionsMinimumDistance = 2
	bopts := backend.Options{Getwd: os.Getwd}
	pf := root.PersistentFlags()
	pf.BoolVar(&bopts.Local, "local", false, "act on the embedded environment ($SLIPWAY_LOCAL_DIR, else "+backend.DefaultLocalDir+" found from here up); a command finds one without it, and --local=false acts on AWS even there")
	pf.StringVar(&bopts.LocalDir, "local-dir", "", "the embedded environment's state directory (implies --local)")
	pf.StringVar(&bopts.ConfigFile, "config", "", "the Slipway configuration file, JSON (default: $SLIPWAY_CONFIG)")
	pf.StringVar(&bopts.Region, "region", "", "the AWS region (default: the SDK's: AWS_REGION, the profile)")
	pf.StringVar(&bopts.Profile, "profile", "", "the AWS profile (default: AWS_PROFILE)")
	// The command that runs, for the target line (not with --json).
	var running *cobra.Command
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		running = cmd
		if pf.Changed("local") && !bopts.Local {
			bopts.NoLocal = true
		}
		return nil
	}
	// A copy, so that the factory the caller holds keeps no tie to this
	// root's flags.
	withFlags := *f
	f = &withFlags
	f.TargetFlags = func() string { return bopts.Flags() }
	if f.Backend == nil {
		f.Backend = func(ctx context.Context) (backend.Backend, error) {
			b, err := backend.Open(ctx, bopts)
			if err == nil && !jsonOutput(running) {
				fmt.Fprintf(f.IO.ErrOut, "target: %s\n", backend.Resolve(bopts))
			}
			return b, err
		}
	}
	if f.Resolver == nil {
		f.Resolver = func(ctx context.Context) (asl.Resolver, map[string]string, func() error, error) {
			dir := backend.LocalDir(bopts.LocalDir)
			r, subs, closeFn, err := localResolver(dir)
			if err == nil {
				// Standard output stays the execution's JSON.
				fmt.Fprintf(f.IO.ErrOut, "target: %s\n", backend.Target{Local: true, Dir: dir})
			}
			return r, subs, closeFn, err
		}
	}
	root.AddCommand(deploy.NewCmdDeploy(f, nil))
	root.AddCommand(promote.NewCmdPromote(f, nil))
	root.AddCommand(approve.NewCmdApprove(f, nil))
	root.AddCommand(reject.NewCmdReject(f, nil))
	root.AddCommand(status.NewCmdStatus(f, nil))
	root.AddCommand(history.NewCmdHistory(f, nil))
	root.AddCommand(stats.NewCmdStats(f, nil))
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
	complete.Register(root, f)
	return root, f
}

// nearestFlag returns the flag of cmd closest to the unknown one err
// names, when it is within two edits; "" otherwise.
func nearestFlag(cmd *cobra.Command, err error) string {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return ""
	}
	name, _, _ = strings.Cut(name, "=")
	best, bestD := "", 3
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if fl.Hidden {
			return
		}
		if d := distance(name, fl.Name); d < bestD {
			best, bestD = fl.Name, d
		}
	})
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// jsonOutput reports whether cmd's output must be its data alone, which
// the target line must not precede: JSON (--json, --format json) or shell
// completion candidates.
func jsonOutput(cmd *cobra.Command) bool {
	if cmd == nil {
		return false
	}
	if cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd {
		return true // completion prints candidates, nothing else
	}
	if fl := cmd.Flags().Lookup("json"); fl != nil && fl.Value.String() == "true" {
		return true
	}
	fl := cmd.Flags().Lookup("format")
	return fl != nil && fl.Value.String() == "json"
}

// localResolver opens the embedded environment in dir and returns its
// handlers for `states run`.
func localResolver(dir string) (asl.Resolver, map[string]string, func() error, error) {
	env, err := localenv.Open(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	r, subs := env.Handlers()
	return r, subs, env.Close, nil
}
