package localenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/slipway-deploy/slipway/internal/traffic"
	"github.com/slipway-deploy/slipway/internal/traffic/balancer"
)

// BalancerDir is where the embedded load balancer keeps its state, pid
// and log (see internal/traffic/balancer).
func (e *Env) BalancerDir() string { return balancerDir(e.Root) }

func balancerDir(root string) string { return filepath.Join(root, "balancer") }

// HasBalancer reports whether the environment was created with a load
// balancer (slipway local init --balancer).
func (e *Env) HasBalancer() bool { return hasBalancer(e.Root) }

func hasBalancer(root string) bool {
	_, err := os.Stat(filepath.Join(balancerDir(root), balancer.StateFile))
	return err == nil
}

// startBalancer starts the balancer of root and puts each environment
// behind it: a target group named after the environment with every
// instance registered, and a listener of the same name forwarding to it.
// It sets each environment's TargetGroups and Endpoint in cfg.
func startBalancer(ctx context.Context, root string, envs []string, instances func(env string) ([]traffic.Target, error), setGroups func(env string, groups []string, endpoint string)) error {
	c, err := balancer.Start(ctx, balancerDir(root))
	if err != nil {
		return err
	}
	for _, env := range envs {
		ts, err := instances(env)
		if err != nil {
			return err
		}
		if err := c.CreateGroup(ctx, env, balancer.Group{}); err != nil {
			return err
		}
		if err := c.Register(ctx, env, ts); err != nil {
			return err
		}
		if _, err := c.CreateListener(ctx, env, 0, map[string]int{env: 100}); err != nil {
			return err
		}
		endpoint, err := c.Endpoint(ctx, env)
		if err != nil {
			return err
		}
		setGroups(env, []string{env}, endpoint)
	}
	return nil
}

// targetsOf lists env's instances as balancer targets (id and port).
func targetsOf(addrs map[string]string) ([]traffic.Target, error) {
	var ts []traffic.Target
	for id, addr := range addrs {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("instance %s address %q: %w", id, addr, err)
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("instance %s address %q: %w", id, addr, err)
		}
		ts = append(ts, traffic.Target{ID: id, Port: port})
	}
	return ts, nil
}

// StartBalancer starts the environment's load balancer again (after a
// reboot, or `slipway local balancer stop`), as it was: same ports, same
// targets and weights.
func (e *Env) StartBalancer(ctx context.Context) (*balancer.Client, error) {
	if !e.HasBalancer() {
		return nil, fmt.Errorf("the embedded environment in %s has no load balancer: create one with `slipway local init --balancer` in a new directory", e.Root)
	}
	return balancer.Start(ctx, e.BalancerDir())
}

// StopBalancer stops the environment's load balancer, if it runs. Its
// state stays, for StartBalancer.
func (e *Env) StopBalancer(ctx context.Context) error {
	if !e.HasBalancer() {
		return nil
	}
	return balancer.Stop(ctx, e.BalancerDir())
}

// Balancer returns a client of the running load balancer.
func (e *Env) Balancer() (*balancer.Client, error) {
	if !e.HasBalancer() {
		return nil, fmt.Errorf("the embedded environment in %s has no load balancer: create one with `slipway local init --balancer`", e.Root)
	}
	return balancer.Dial(e.BalancerDir())
}

// Endpoint is the URL that serves env through the load balancer,
// http://127.0.0.1:PORT.
func (e *Env) Endpoint(env string) (string, error) {
	if _, err := e.Config.Env(env); err != nil {
		return "", err
	}
	c, err := e.Balancer()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Endpoint(ctx, env)
}

// lazyPort is traffic.Port on the environment's balancer, found on each
// call: opening the environment does not need the balancer to run, and a
// balancer restarted meanwhile is found again.
type lazyPort struct{ dir string }

var _ traffic.Port = lazyPort{}

func (p lazyPort) client() (*balancer.Client, error) { return balancer.Dial(p.dir) }

func (p lazyPort) Targets(ctx context.Context, group string) ([]traffic.TargetHealth, error) {
	c, err := p.client()
	if err != nil {
		return nil, err
	}
	return c.Targets(ctx, group)
}

func (p lazyPort) Register(ctx context.Context, group string, targets []traffic.Target) error {
	c, err := p.client()
	if err != nil {
		return err
	}
	return c.Register(ctx, group, targets)
}

func (p lazyPort) Deregister(ctx context.Context, group string, targets []traffic.Target) error {
	c, err := p.client()
	if err != nil {
		return err
	}
	return c.Deregister(ctx, group, targets)
}

func (p lazyPort) DeregistrationDelay(ctx context.Context, group string) (time.Duration, error) {
	c, err := p.client()
	if err != nil {
		return 0, err
	}
	return c.DeregistrationDelay(ctx, group)
}

func (p lazyPort) Weights(ctx context.Context, listener string) (map[string]int, error) {
	c, err := p.client()
	if err != nil {
		return nil, err
	}
	return c.Weights(ctx, listener)
}

func (p lazyPort) SetWeights(ctx context.Context, listener string, weights map[string]int) error {
	c, err := p.client()
	if err != nil {
		return err
	}
	return c.SetWeights(ctx, listener, weights)
}

// target is instance id of env as a balancer target: its id and port.
func (e *Env) target(ctx context.Context, env, id string) (traffic.Target, error) {
	insts, err := e.Fleet.Instances(ctx, env)
	if err != nil {
		return traffic.Target{}, err
	}
	for _, i := range insts {
		if i.ID == id {
			ts, err := targetsOf(map[string]string{id: i.Address})
			if err != nil {
				return traffic.Target{}, err
			}
			return ts[0], nil
		}
	}
	return traffic.Target{}, fmt.Errorf("no instance %s in %s", id, env)
}
