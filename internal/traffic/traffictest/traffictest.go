// Package traffictest is an in-memory traffic.Port with ELBv2's
// semantics, for the pipeline's tests: a registered target starts
// "initial" and turns "healthy" after a number of Targets calls (the
// balancer's health checks); a deregistered target is "draining" for a
// number of Targets calls (its deregistration delay) and then gone.
// Every call is logged; any call can be made to fail.
package traffictest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slipway-deploy/slipway/internal/traffic"
)

// Call is one call made on the fake.
type Call struct {
	Op      string   // "targets", "register", "deregister", "delay", "weights", "set-weights"
	Group   string   // group or listener
	Targets []string // target ids, for register and deregister
}

func (c Call) String() string {
	if len(c.Targets) == 0 {
		return c.Op + " " + c.Group
	}
	return c.Op + " " + c.Group + " " + strings.Join(c.Targets, ",")
}

type target struct {
	traffic.TargetHealth
	polls int // Targets calls seen in the current state
}

// Group is one target group.
type Group struct {
	// Delay is what DeregistrationDelay answers.
	Delay time.Duration
	// HealthyAfter and DrainAfter are how many Targets calls a target
	// stays "initial" after registering and "draining" after
	// deregistering (0: it moves on at the first call).
	HealthyAfter, DrainAfter int

	targets map[string]*target
}

// Balancer is the fake. Its zero value is not usable: use New.
type Balancer struct {
	mu      sync.Mutex
	groups  map[string]*Group
	weights map[string]map[string]int
	calls   []Call
	fail    map[string]error
	// Unhealthy are targets that never pass health checks: they go
	// initial → unhealthy. Stuck are targets that never finish draining.
	unhealthy map[string]bool
	stuck     map[string]bool
}

// New returns a balancer without groups.
func New() *Balancer {
	return &Balancer{groups: map[string]*Group{}, weights: map[string]map[string]int{}, fail: map[string]error{},
		unhealthy: map[string]bool{}, stuck: map[string]bool{}}
}

// AddGroup creates a group whose targets are already registered and healthy.
func (b *Balancer) AddGroup(name string, g Group, healthy ...string) *Balancer {
	b.mu.Lock()
	defer b.mu.Unlock()
	g.targets = map[string]*target{}
	for _, id := range healthy {
		g.targets[id] = &target{TargetHealth: traffic.TargetHealth{Target: traffic.Target{ID: id}, State: traffic.StateHealthy}}
	}
	gg := g
	b.groups[name] = &gg
	return b
}

// SetState forces a target's state in a group (registering it if needed).
func (b *Balancer) SetState(group, id, state string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.groups[group]
	g.targets[id] = &target{TargetHealth: traffic.TargetHealth{Target: traffic.Target{ID: id}, State: state}}
}

// Unhealthy makes targets fail the balancer's health checks from now on.
func (b *Balancer) Unhealthy(ids ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		b.unhealthy[id] = true
	}
}

// Stuck makes targets never finish draining.
func (b *Balancer) Stuck(ids ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		b.stuck[id] = true
	}
}

// Fail makes every later call of op ("targets", "register", ...) fail
// with err (nil: succeed again).
func (b *Balancer) Fail(op string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		delete(b.fail, op)
		return
	}
	b.fail[op] = err
}

// SetWeightsOf sets a listener's weights without logging a call.
func (b *Balancer) SetWeightsOf(listener string, w map[string]int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.weights[listener] = copyWeights(w)
}

// Calls returns the calls made so far; with ops, only those.
func (b *Balancer) Calls(ops ...string) []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Call
	for _, c := range b.calls {
		if len(ops) == 0 || contains(ops, c.Op) {
			out = append(out, c)
		}
	}
	return out
}

// States returns group's targets and states without a health check
// passing (id → state).
func (b *Balancer) States(group string) map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]string{}
	if g := b.groups[group]; g != nil {
		for id, t := range g.targets {
			out[id] = t.State
		}
	}
	return out
}

func (b *Balancer) call(op, group string, ts []traffic.Target) (*Group, error) {
	c := Call{Op: op, Group: group}
	for _, t := range ts {
		c.Targets = append(c.Targets, t.ID)
	}
	b.calls = append(b.calls, c)
	if err := b.fail[op]; err != nil {
		return nil, err
	}
	if op == "weights" || op == "set-weights" {
		return nil, nil
	}
	g := b.groups[group]
	if g == nil {
		return nil, fmt.Errorf("traffictest: target group %q not found", group)
	}
	return g, nil
}

// Targets answers like DescribeTargetHealth, then moves targets on as
// health checks and draining would.
func (b *Balancer) Targets(_ context.Context, group string) ([]traffic.TargetHealth, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g, err := b.call("targets", group, nil)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(g.targets))
	for id := range g.targets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]traffic.TargetHealth, 0, len(ids))
	for _, id := range ids {
		t := g.targets[id]
		switch t.State {
		case traffic.StateInitial:
			if t.polls >= g.HealthyAfter {
				t.State, t.polls = traffic.StateHealthy, 0
				if b.unhealthy[id] {
					t.State, t.Reason = traffic.StateUnhealthy, "Target.FailedHealthChecks"
				}
			}
		case traffic.StateHealthy:
			if b.unhealthy[id] {
				t.State, t.Reason = traffic.StateUnhealthy, "Target.FailedHealthChecks"
			}
		case traffic.StateDraining:
			if t.polls >= g.DrainAfter && !b.stuck[id] {
				delete(g.targets, id)
				continue
			}
		}
		t.polls++
		out = append(out, t.TargetHealth)
	}
	return out, nil
}

// Register puts targets in group, "initial" (a healthy target stays
// healthy; a draining one starts over).
func (b *Balancer) Register(_ context.Context, group string, ts []traffic.Target) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	g, err := b.call("register", group, ts)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if cur := g.targets[t.ID]; cur != nil && cur.State == traffic.StateHealthy {
			continue
		}
		g.targets[t.ID] = &target{TargetHealth: traffic.TargetHealth{Target: t, State: traffic.StateInitial, Reason: "Elb.RegistrationInProgress"}}
	}
	return nil
}

// Deregister starts draining targets; deregistering a target that is not
// registered is not an error, as on ELBv2.
func (b *Balancer) Deregister(_ context.Context, group string, ts []traffic.Target) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	g, err := b.call("deregister", group, ts)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if cur := g.targets[t.ID]; cur != nil && cur.State != traffic.StateDraining {
			cur.State, cur.Reason, cur.polls = traffic.StateDraining, "Target.DeregistrationInProgress", 0
		}
	}
	return nil
}

// DeregistrationDelay answers the group's Delay.
func (b *Balancer) DeregistrationDelay(_ context.Context, group string) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g, err := b.call("delay", group, nil)
	if err != nil {
		return 0, err
	}
	return g.Delay, nil
}

// Weights returns a listener's weights.
func (b *Balancer) Weights(_ context.Context, listener string) (map[string]int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.call("weights", listener, nil); err != nil {
		return nil, err
	}
	w, ok := b.weights[listener]
	if !ok {
		return nil, fmt.Errorf("traffictest: listener %q not found", listener)
	}
	return copyWeights(w), nil
}

// SetWeights sets a listener's weights; every group must exist.
func (b *Balancer) SetWeights(_ context.Context, listener string, w map[string]int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.call("set-weights", listener, nil); err != nil {
		return err
	}
	for g := range w {
		if b.groups[g] == nil {
			return fmt.Errorf("traffictest: target group %q not found", g)
		}
	}
	b.weights[listener] = copyWeights(w)
	return nil
}

func copyWeights(w map[string]int) map[string]int {
	out := make(map[string]int, len(w))
	for k, v := range w {
		out[k] = v
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

var _ traffic.Port = (*Balancer)(nil)
