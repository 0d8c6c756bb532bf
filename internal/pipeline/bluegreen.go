package pipeline

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// BlueGreen moves an environment split in two sides behind one listener
// (config.BlueGreen): the release goes to the side that does not serve,
// the balancer must report that side's targets healthy, then the
// listener's weighted forward action shifts to it, step by step, each
// step one SetWeights call. A rollback is one SetWeights call back to the
// side that served before: no instance is restarted, the old side never
// stopped serving its share.
//
// The waves that deploy to the idle side are the ordinary Deploy and
// Health handlers run on BlueGreenState.IdleInstances; BlueGreen never
// sends a host command itself.
type BlueGreen struct{ *Deps }

// DefaultMaxAwaitAttempts bounds how many times await checks the idle
// side before giving up on it.
const DefaultMaxAwaitAttempts = 60

// Handle runs plan, await, shift and switch_back.
func (h *BlueGreen) Handle(ctx context.Context, in contract.BlueGreenInput) (contract.BlueGreenState, error) {
	if h.Traffic == nil {
		return contract.BlueGreenState{}, errors.New("bluegreen: no load balancer is configured for this deployment (Deps.Traffic is nil); a blue/green environment needs one")
	}
	if in.Action == contract.BlueGreenPlan {
		return h.plan(ctx, in)
	}
	if in.BlueGreen == nil {
		return contract.BlueGreenState{}, fmt.Errorf("bluegreen %s: the input carries no blue_green state; run plan first", in.Action)
	}
	st := *in.BlueGreen
	switch in.Action {
	case contract.BlueGreenAwait:
		return h.await(ctx, in, st)
	case contract.BlueGreenShift:
		return h.shift(ctx, in, st)
	case contract.BlueGreenSwitchBack:
		return h.switchBack(ctx, in, st)
	}
	return contract.BlueGreenState{}, fmt.Errorf("bluegreen: unknown action %q (plan, await, shift or switch_back)", in.Action)
}

// Serving reads which side of bg the listener sends traffic to: the one
// with the larger weight (blue on a tie). An error says what is wrong
// when the listener forwards to neither side, or to a group that is not
// one of them.
func Serving(ctx context.Context, port traffic.Port, bg *config.BlueGreen) (side string, weights map[string]int, err error) {
	weights, err = port.Weights(ctx, bg.Listener)
	if err != nil {
		return "", nil, fmt.Errorf("read the weights of listener %s: %w", bg.Listener, err)
	}
	for g, w := range weights {
		if _, ok := bg.SideOf(g); !ok && w > 0 {
			return "", weights, fmt.Errorf("listener %s sends weight %d to target group %s, which is neither side (blue %s, green %s); fix the listener's forward action or the blue_green configuration",
				bg.Listener, w, g, bg.Blue.TargetGroup, bg.Green.TargetGroup)
		}
	}
	b, g := weights[bg.Blue.TargetGroup], weights[bg.Green.TargetGroup]
	switch {
	case b == 0 && g == 0:
		return "", weights, fmt.Errorf("listener %s forwards to neither side (blue %s, green %s have weight 0): set one side's weight before deploying", bg.Listener, bg.Blue.TargetGroup, bg.Green.TargetGroup)
	case g > b:
		return config.Green, weights, nil
	}
	return config.Blue, weights, nil
}

func other(side string) string {
	if side == config.Blue {
		return config.Green
	}
	return config.Blue
}

func (h *BlueGreen) setup(env string) (*config.BlueGreen, error) {
	if h.Config == nil {
		return nil, errors.New("bluegreen: no configuration")
	}
	e, err := h.Config.Env(env)
	if err != nil {
		return nil, err
	}
	if e.BlueGreen == nil {
		return nil, fmt.Errorf("environment %s has no blue_green configuration (listener, blue and green target groups and instances) but the manifest asks for rollout.strategy blue-green; add it or deploy in-place", env)
	}
	return e.BlueGreen, nil
}

func (h *BlueGreen) plan(ctx context.Context, in contract.BlueGreenInput) (contract.BlueGreenState, error) {
	bg, err := h.setup(in.Environment)
	if err != nil {
		return contract.BlueGreenState{}, err
	}
	serving, weights, err := Serving(ctx, h.Traffic, bg)
	if err != nil {
		return contract.BlueGreenState{}, err
	}
	idle := other(serving)
	st := contract.BlueGreenState{
		Listener: bg.Listener, Serving: serving, Idle: idle,
		ServingGroup: bg.Side(serving).TargetGroup, IdleGroup: bg.Side(idle).TargetGroup,
		Steps: in.Shift, Weight: weights[bg.Side(idle).TargetGroup], MaxAwaitAttempts: in.MaxAwaitAttempts,
		ServingTags: bg.Side(serving).Tags, IdleTags: bg.Side(idle).Tags, ObserveTags: bg.Side(serving).Tags,
		ShiftBakeSeconds: in.ShiftBakeSeconds, FinalBakeSeconds: in.BakeSeconds,
	}
	if st.MaxAwaitAttempts <= 0 {
		st.MaxAwaitAttempts = DefaultMaxAwaitAttempts
	}
	if len(st.Steps) == 0 {
		st.Steps = []int{100}
	}
	if st.Weight > 0 {
		return st, fmt.Errorf("listener %s splits traffic between blue (%d) and green (%d): a blue/green deployment starts with one side serving everything; finish or undo the earlier shift first",
			bg.Listener, weights[bg.Blue.TargetGroup], weights[bg.Green.TargetGroup])
	}
	if st.IdleInstances, err = h.sideInstances(ctx, in.Environment, idle, bg.Side(idle)); err != nil {
		return st, err
	}
	// The serving side's instances: a switch back after weight moved
	// runs the after_traffic hook of the release they serve on them.
	if st.ServingInstances, err = h.sideInstances(ctx, in.Environment, serving, bg.Side(serving)); err != nil {
		return st, err
	}
	if len(st.IdleInstances) == 0 {
		return st, fmt.Errorf("the idle %s side of %s has no instances: start them (or scale its Auto Scaling groups out) before a blue/green deployment", idle, in.Environment)
	}
	return st, nil
}

// sideInstances lists a side's instances, sorted: by its tags, or, for a
// side given by Auto Scaling groups, the targets registered in its group.
func (h *BlueGreen) sideInstances(ctx context.Context, env, name string, s config.Side) ([]string, error) {
	var ids []string
	if len(s.Tags) > 0 {
		insts, err := h.Fleet.Instances(ctx, env, s.Tags)
		if err != nil {
			return nil, fmt.Errorf("find the %s side's instances: %w", name, err)
		}
		for _, i := range insts {
			ids = append(ids, i.ID)
		}
	} else {
		ts, err := h.Traffic.Targets(ctx, s.TargetGroup)
		if err != nil {
			return nil, fmt.Errorf("list the %s side's targets in %s: %w", name, s.TargetGroup, err)
		}
		for _, t := range ts {
			ids = append(ids, t.ID)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// await registers the idle side's instances that are missing from its
// target group (their weight is 0: no traffic reaches them) and reports
// whether the balancer says they are all healthy.
//
// With Deps.TrafficPace set (the embedded environment, whose engine skips
// the Wait states between awaits), one call waits up to that long, in
// real time, for the side to turn healthy before it answers that it still
// waits.
func (h *BlueGreen) await(ctx context.Context, in contract.BlueGreenInput, st contract.BlueGreenState) (contract.BlueGreenState, error) {
	pace := time.Now().Add(h.TrafficPace)
	for {
		next, err := h.awaitOnce(ctx, st)
		if err != nil || next.Healthy || !time.Now().Before(pace) {
			st = next
			break
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	st.AwaitAttempts++
	if !st.Healthy && st.MaxAwaitAttempts > 0 && st.AwaitAttempts >= st.MaxAwaitAttempts {
		return st, &contract.DeployFailed{Message: fmt.Sprintf("the %s side never became healthy in %s after %d checks (%s); it got no traffic: check the app's health answer and the target group's health check",
			st.Idle, st.IdleGroup, st.AwaitAttempts, st.Waiting)}
	}
	return st, nil
}

// awaitOnce reads the idle side's target health once, registers the
// missing targets, and sets Healthy and Waiting.
func (h *BlueGreen) awaitOnce(ctx context.Context, st contract.BlueGreenState) (contract.BlueGreenState, error) {
	ts, err := h.Traffic.Targets(ctx, st.IdleGroup)
	if err != nil {
		return st, fmt.Errorf("read target health of %s: %w", st.IdleGroup, err)
	}
	state := traffic.ByID(ts)
	var missing []string
	var waiting []string
	for _, id := range st.IdleInstances {
		t, ok := state[id]
		switch {
		case !ok:
			missing = append(missing, id)
			waiting = append(waiting, id+" not registered")
		case t.State != traffic.StateHealthy:
			w := id + " " + t.State
			if t.Reason != "" {
				w += " (" + t.Reason + ")"
			}
			waiting = append(waiting, w)
		}
	}
	if len(missing) > 0 {
		if err := h.Traffic.Register(ctx, st.IdleGroup, targetsOf(missing)); err != nil {
			return st, fmt.Errorf("register %s in %s: %w", strings.Join(missing, ", "), st.IdleGroup, err)
		}
	}
	st.Healthy = len(waiting) == 0
	st.Waiting = strings.Join(waiting, ", ")
	return st, nil
}

// targetsOf names instances as targets on the group's own port (as the
// in-place path registers them): the fleet's address is the host's, not
// necessarily the app's.
func targetsOf(ids []string) []traffic.Target {
	out := make([]traffic.Target, len(ids))
	for i, id := range ids {
		out[i] = traffic.Target{ID: id}
	}
	return out
}

// shift moves the listener to the next step in one SetWeights call.
func (h *BlueGreen) shift(ctx context.Context, in contract.BlueGreenInput, st contract.BlueGreenState) (contract.BlueGreenState, error) {
	if !st.Healthy {
		return st, fmt.Errorf("bluegreen shift: the %s side is not healthy in %s (%s); it gets no weight", st.Idle, st.IdleGroup, st.Waiting)
	}
	if st.Step >= len(st.Steps) {
		return st, fmt.Errorf("bluegreen shift: all %d steps are done", len(st.Steps))
	}
	w := st.Steps[st.Step]
	if err := h.Traffic.SetWeights(ctx, st.Listener, map[string]int{st.IdleGroup: w, st.ServingGroup: 100 - w}); err != nil {
		return st, fmt.Errorf("shift listener %s to %d%% %s: %w", st.Listener, w, st.Idle, err)
	}
	st.Step++
	st.Weight = w
	st.Shifted = w == 100
	// The last step bakes bake.duration, as the deployment's bake; the
	// others rollout.shift_bake.
	st.StepBakeSeconds = st.ShiftBakeSeconds
	if st.Shifted {
		st.ObserveTags = st.IdleTags
		st.StepBakeSeconds = st.FinalBakeSeconds
	}
	h.event(ctx, in, "shift", fmt.Sprintf("shifted %d%% of traffic to %s (step %d of %d)", w, st.Idle, st.Step, len(st.Steps)))
	return st, nil
}

// switchBack puts all the weight back on the side that served before in
// one SetWeights call, reads the weights back to confirm, and records how
// long it took.
func (h *BlueGreen) switchBack(ctx context.Context, in contract.BlueGreenInput, st contract.BlueGreenState) (contract.BlueGreenState, error) {
	start := time.Now()
	want := map[string]int{st.ServingGroup: 100, st.IdleGroup: 0}
	if err := h.Traffic.SetWeights(ctx, st.Listener, want); err != nil {
		return st, fmt.Errorf("switch listener %s back to %s: %w", st.Listener, st.Serving, err)
	}
	got, err := h.Traffic.Weights(ctx, st.Listener)
	if err != nil {
		return st, fmt.Errorf("read listener %s back after switching to %s: %w", st.Listener, st.Serving, err)
	}
	if !sameWeights(got, want) {
		return st, fmt.Errorf("listener %s after switching back to %s forwards %v, not %v", st.Listener, st.Serving, got, want)
	}
	elapsed := time.Since(start)
	st.SwitchBackMillis = elapsed.Milliseconds()
	st.SwitchedBack, st.Weight, st.Shifted = true, 0, false
	st.ObserveTags = st.ServingTags
	h.event(ctx, in, "switched-back", SwitchBackLine(st))
	return st, nil
}

// SwitchBackLine is the report's line for a switch back.
func SwitchBackLine(st contract.BlueGreenState) string {
	if st.Step == 0 {
		// It failed before the first shift: no weight had moved.
		return fmt.Sprintf("switched back in %d ms: no weight had moved, all traffic stayed on %s (%s), no restart; the %s side got no traffic and keeps the failed release until the next deployment goes to it",
			st.SwitchBackMillis, st.Serving, st.ServingGroup, st.Idle)
	}
	return fmt.Sprintf("switched back in %d ms: all traffic on %s (%s), no restart", st.SwitchBackMillis, st.Serving, st.ServingGroup)
}

func (h *BlueGreen) event(ctx context.Context, in contract.BlueGreenInput, kind, msg string) {
	if h.Ledger == nil || in.App == "" {
		return
	}
	if err := h.Ledger.AddEvent(context.WithoutCancel(ctx), ledger.Event{App: in.App, Environment: in.Environment, At: h.Time(),
		Source: "bluegreen", Kind: kind, Message: msg, DeploymentID: in.DeploymentID}); err != nil {
		h.Logger().Warn("bluegreen: record event", "kind", kind, "err", err)
	}
}

// sameWeights reports whether two weight maps agree, a missing group
// counting as 0.
func sameWeights(a, b map[string]int) bool {
	clean := func(m map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range m {
			if v != 0 {
				out[k] = v
			}
		}
		return out
	}
	return reflect.DeepEqual(clean(a), clean(b))
}

// blueGreen runs a bluegreen-* action of the deploy function.
func (h *Deploy) blueGreen(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	if in.BlueGreen == nil {
		return contract.DeployOutput{}, fmt.Errorf("deploy %s: the input carries no blue_green", in.Action)
	}
	bin := *in.BlueGreen
	bin.Action = strings.ReplaceAll(strings.TrimPrefix(in.Action, "bluegreen-"), "-", "_")
	bin.DeploymentID, bin.App, bin.Environment = in.DeploymentID, in.App, in.Environment
	st, err := (&BlueGreen{h.Deps}).Handle(ctx, bin)
	if err != nil {
		return contract.DeployOutput{}, err
	}
	return contract.DeployOutput{BlueGreen: &st, Unreachable: []string{}}, nil
}
