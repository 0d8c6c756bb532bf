package local

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/traffic"
	"github.com/slipway-deploy/slipway/internal/traffic/balancer"
)

// BalancerOptions are `local balancer`'s inputs.
type BalancerOptions struct {
	IO     *factory.IOStreams
	Dir    string
	Action string // start, stop or status
}

// newCmdBalancer returns `local balancer start|stop|status`. runF, when not
// nil, replaces the run.
func newCmdBalancer(f *factory.Factory, runF func(*BalancerOptions) error) *cobra.Command {
	opts := &BalancerOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "balancer start|stop|status [--dir DIR]",
		Short: "Start, stop or show the embedded load balancer",
		Long: `The embedded load balancer (created by slipway local init --balancer) is a process of its own on
127.0.0.1: per environment a listener (its endpoint) and a target group with the environment's instances,
each health-checked, drained when a deployment takes it out. It keeps running after the command that
started it. start brings it back as it was (same ports, targets and weights), after a reboot or a stop;
stop stops it; status lists its listeners, groups and targets with their states.`,
		Example: `  slipway local balancer status
  slipway local balancer stop`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"start", "stop", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains([]string{"start", "stop", "status"}, args[0]) {
				return factory.UsageError("local balancer: %q is not start, stop or status", args[0])
			}
			opts.Action = args[0]
			opts.Dir = dirFlag(cmd, opts.Dir)
			if runF != nil {
				return runF(opts)
			}
			return runBalancer(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "the state directory (default: --local-dir, $SLIPWAY_LOCAL_DIR, else "+backend.DefaultLocalDir+" found from here up)")
	return cmd
}

func runBalancer(ctx context.Context, opts *BalancerOptions) error {
	env, err := localenv.Open(opts.Dir)
	if err != nil {
		return factory.WithHint(factory.ExitUsage, err, "give the environment's --dir")
	}
	defer env.Close()
	if !env.HasBalancer() {
		return factory.WithHint(factory.ExitUsage, fmt.Errorf("the embedded environment in %s has no load balancer", opts.Dir),
			"create one with slipway local init --balancer (in a new --dir)")
	}
	switch opts.Action {
	case "start":
		c, err := env.StartBalancer(ctx)
		if err != nil {
			return err
		}
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "load balancer running (pid %d); log: %s\n", st.PID, env.BalancerDir()+"/"+balancer.LogFile)
		return printEndpoints(ctx, opts, env, c)
	case "stop":
		if err := env.StopBalancer(ctx); err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.Out, "load balancer stopped (slipway local balancer start brings it back as it was)")
		return nil
	}
	c, err := env.Balancer()
	if errors.Is(err, balancer.ErrNotRunning) {
		fmt.Fprintln(opts.IO.Out, "load balancer: not running (start it with slipway local balancer start)")
		return nil
	}
	if err != nil {
		return err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "load balancer running (pid %d)\n", st.PID)
	return printEndpoints(ctx, opts, env, c)
}

func printEndpoints(ctx context.Context, opts *BalancerOptions, env *localenv.Env, c *balancer.Client) error {
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(st.Listeners)) {
		l := st.Listeners[name]
		var ws []string
		for _, g := range slices.Sorted(maps.Keys(l.Weights)) {
			ws = append(ws, fmt.Sprintf("%s %d", g, l.Weights[g]))
		}
		fmt.Fprintf(opts.IO.Out, "listener %s: http://127.0.0.1:%d -> %s\n", name, l.Port, strings.Join(ws, ", "))
	}
	for _, g := range slices.Sorted(maps.Keys(st.Groups)) {
		ts, err := c.Targets(ctx, g)
		if err != nil {
			return err
		}
		// By instance, staging-2 before staging-10, whatever the order
		// they were registered in.
		slices.SortFunc(ts, func(a, b traffic.TargetHealth) int {
			return cmp.Or(cmp.Compare(len(a.ID), len(b.ID)), strings.Compare(a.ID, b.ID))
		})
		var parts []string
		for _, t := range ts {
			parts = append(parts, fmt.Sprintf("%s (:%d) %s", t.ID, t.Port, t.State))
		}
		if len(parts) == 0 {
			parts = []string{"no targets"}
		}
		fmt.Fprintf(opts.IO.Out, "target group %s: %s\n", g, strings.Join(parts, "; "))
	}
	_ = env
	return nil
}
