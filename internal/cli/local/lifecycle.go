package local

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// openEnv opens the embedded environment a `local` subcommand acts on
// (dirFlag, which says which).
func openEnv(cmd *cobra.Command, _ *factory.Factory, dir string) (*localenv.Env, error) {
	e, err := localenv.Open(dirFlag(cmd, dir))
	if err != nil {
		return nil, factory.WithHint(factory.ExitUsage, err, "create it with `slipway local init`, or name it with --dir DIR")
	}
	return e, nil
}

// newCmdStop is `local stop`: stop the app processes and the balancer,
// keep everything else.
func newCmdStop(f *factory.Factory) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "stop [--dir DIR]",
		Short: "Stop the embedded environment's app processes and load balancer (local start brings them back)",
		Long: `Stop every app process of the embedded environment (SIGTERM, then SIGKILL after 10s) and its load
balancer. The instances' releases, the ledger, the databases and the secrets stay: slipway local start
brings the apps and the balancer back as they were. slipway local down also removes it all.`,
		Example: `  slipway local stop
  slipway local stop --dir /tmp/plain`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := openEnv(cmd, f, dir)
			if err != nil {
				return err
			}
			defer e.Close()
			n, err := e.StopApps(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "stopped %s", count(n, "app process", "app processes"))
			if e.HasBalancer() {
				fmt.Fprint(f.IO.Out, " and the load balancer")
			}
			fmt.Fprintln(f.IO.Out, "; slipway local start starts them again")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the state directory (default: --local-dir, $SLIPWAY_LOCAL_DIR, else .slipway/local found from here up)")
	return cmd
}

// newCmdStart is `local start`: bring back what stop stopped.
func newCmdStart(f *factory.Factory) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "start [--dir DIR]",
		Short: "Start the embedded environment's load balancer and each instance's current release again",
		Long: `Start the embedded environment's load balancer as it was (same ports, targets and weights) and, on
every instance with a current release, that release again with the configuration it last ran with (the
host script's rollback to the current release: an app that answers healthily is left alone). After a
reboot or slipway local stop. An instance nothing was deployed to stays empty.`,
		Example: `  slipway local start`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := openEnv(cmd, f, dir)
			if err != nil {
				return err
			}
			defer e.Close()
			res, err := e.StartApps(cmd.Context())
			if res.Balancer {
				fmt.Fprintln(f.IO.Out, "load balancer: running")
			}
			fmt.Fprintf(f.IO.Out, "%s serving", count(len(res.Started), "instance", "instances"))
			if len(res.Started) > 0 {
				fmt.Fprintf(f.IO.Out, ": %s", strings.Join(res.Started, ", "))
			}
			fmt.Fprintln(f.IO.Out)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the state directory (default: --local-dir, $SLIPWAY_LOCAL_DIR, else .slipway/local found from here up)")
	return cmd
}

// newCmdAlarm is `local alarm`: drive the embedded environment's alarms,
// the stand-in for CloudWatch alarms.
func newCmdAlarm(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alarm <command>",
		Short: "Set or list the embedded environment's alarms (the local stand-in for CloudWatch alarms)",
		Long: `The embedded environment keeps its alarms' states in alarms.json in its state directory; an alarm it
does not list is OK. The health gate of every wave and the bake read them, as they read CloudWatch on AWS:
the alarms the release's slipway.yaml names (alarms:) and the environment's own.`,
		Args: cobra.NoArgs,
	}
	var dir, reason string
	set := &cobra.Command{
		Use:   "set NAME ALARM|OK|INSUFFICIENT_DATA [--reason TEXT]",
		Short: "Set an alarm's state",
		Example: `  slipway local alarm set demo-5xx ALARM
  slipway local alarm set demo-5xx OK`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return []string{health.StateAlarm, health.StateOK, health.StateInsufficientData}, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name, state := args[0], strings.ToUpper(args[1])
			if name == "" || strings.ContainsAny(name, " \t\n\r") {
				return factory.UsageError("local alarm set: %q is not an alarm name", name)
			}
			switch state {
			case health.StateAlarm, health.StateOK, health.StateInsufficientData:
			default:
				return factory.UsageError("local alarm set: the state is ALARM, OK or INSUFFICIENT_DATA, not %q", args[1])
			}
			e, err := openEnv(cmd, f, dir)
			if err != nil {
				return err
			}
			defer e.Close()
			was, err := e.Alarms.States(cmd.Context(), []string{name})
			if err != nil {
				return err
			}
			if reason == "" {
				reason = "set by slipway local alarm set"
			}
			if err := e.Alarms.Set(name, state, reason); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "alarm %s: %s (was %s)\n", name, state, was[0].State)
			return nil
		},
	}
	set.Flags().StringVar(&reason, "reason", "", "why, as the alarm's state reason")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the alarms set, with their states",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := openEnv(cmd, f, dir)
			if err != nil {
				return err
			}
			defer e.Close()
			all, err := e.Alarms.All()
			if err != nil {
				return err
			}
			if len(all) == 0 {
				fmt.Fprintln(f.IO.Out, "no alarm set: every alarm is OK")
			}
			for _, a := range all {
				fmt.Fprintf(f.IO.Out, "%-24s %-17s %s\n", a.Name, a.State, a.Reason)
			}
			return nil
		},
	}
	for _, c := range []*cobra.Command{set, list} {
		c.Flags().StringVar(&dir, "dir", "", "the state directory (default: --local-dir, $SLIPWAY_LOCAL_DIR, else .slipway/local found from here up)")
		cmd.AddCommand(c)
	}
	return cmd
}

// count is "1 instance", "2 instances".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
