package pipeline

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// lbFake is an in-memory traffic.Port: groups with targets, listeners with
// weights, and a log of SetWeights calls.
type lbFake struct {
	mu      sync.Mutex
	groups  map[string]map[string]traffic.TargetHealth
	weights map[string]map[string]int
	sets    []map[string]int
}

func newLBFake() *lbFake {
	return &lbFake{
		groups:  map[string]map[string]traffic.TargetHealth{"staging-blue": {}, "staging-green": {}},
		weights: map[string]map[string]int{"staging": {"staging-blue": 100, "staging-green": 0}},
	}
}

func (f *lbFake) Targets(_ context.Context, group string) ([]traffic.TargetHealth, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.groups[group]
	if !ok {
		return nil, fmt.Errorf("no target group %s", group)
	}
	var out []traffic.TargetHealth
	for _, t := range g {
		out = append(out, t)
	}
	return out, nil
}

func (f *lbFake) Register(_ context.Context, group string, ts []traffic.Target) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range ts {
		f.groups[group][t.ID] = traffic.TargetHealth{Target: t, State: traffic.StateInitial}
	}
	return nil
}

func (f *lbFake) Deregister(_ context.Context, group string, ts []traffic.Target) error {
	return fmt.Errorf("deregister %s: a blue/green deployment deregisters nothing", group)
}

func (f *lbFake) DeregistrationDelay(context.Context, string) (time.Duration, error) {
	return 0, nil
}

func (f *lbFake) Weights(_ context.Context, l string) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for g, w := range f.weights[l] {
		out[g] = w
	}
	return out, nil
}

func (f *lbFake) SetWeights(_ context.Context, l string, w map[string]int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := map[string]int{}
	for g, v := range w {
		cp[g] = v
	}
	f.weights[l], f.sets = cp, append(f.sets, cp)
	return nil
}

// settle turns every registered target of group healthy, as the
// balancer's health checks would.
func (f *lbFake) settle(group string, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, t := range f.groups[group] {
		t.State = state
		f.groups[group][id] = t
	}
}

// fleetFake serves six instances, three per side, and counts commands.
type fleetFake struct {
	mu   sync.Mutex
	sent []fleet.Command
}

func (f *fleetFake) all() []fleet.Instance {
	var out []fleet.Instance
	for i := 1; i <= 6; i++ {
		side := config.Blue
		if i > 3 {
			side = config.Green
		}
		out = append(out, fleet.Instance{ID: fmt.Sprintf("i-%d", i), Address: fmt.Sprintf("127.0.0.1:%d", 9000+i), Online: true,
			Tags: map[string]string{"slipway:env": "staging", "slipway:side": side}})
	}
	return out
}

func (f *fleetFake) Instances(_ context.Context, _ string, tags map[string]string) ([]fleet.Instance, error) {
	var out []fleet.Instance
	for _, i := range f.all() {
		ok := true
		for k, v := range tags {
			ok = ok && i.Tags[k] == v
		}
		if ok {
			out = append(out, i)
		}
	}
	return out, nil
}

func (f *fleetFake) Lookup(_ context.Context, _ string, ids []string) ([]fleet.Instance, error) {
	var out []fleet.Instance
	for _, i := range f.all() {
		for _, id := range ids {
			if i.ID == id {
				out = append(out, i)
			}
		}
	}
	return out, nil
}

func (f *fleetFake) Send(_ context.Context, _ string, cmd fleet.Command) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, cmd)
	return "cmd", nil
}

func (f *fleetFake) Status(context.Context, string) (fleet.CommandResult, error) {
	return fleet.CommandResult{}, nil
}

func blueGreenDeps(lb traffic.Port, fl Fleet) *BlueGreen {
	return &BlueGreen{&Deps{
		Config: &config.Config{App: "shop", Environments: map[string]config.Environment{"staging": {BlueGreen: &config.BlueGreen{
			Listener: "staging",
			Blue:     config.Side{TargetGroup: "staging-blue", Tags: map[string]string{"slipway:env": "staging", "slipway:side": "blue"}},
			Green:    config.Side{TargetGroup: "staging-green", Tags: map[string]string{"slipway:env": "staging", "slipway:side": "green"}},
		}}}},
		Traffic: lb, Fleet: fl,
	}}
}

func TestBlueGreenPlanPicksTheIdleSide(t *testing.T) {
	ctx := context.Background()
	lb := newLBFake()
	h := blueGreenDeps(lb, &fleetFake{})
	st, err := h.Handle(ctx, contract.BlueGreenInput{Action: contract.BlueGreenPlan, Environment: "staging", Shift: []int{10, 50, 100}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Serving != config.Blue || st.Idle != config.Green || st.IdleGroup != "staging-green" || !reflect.DeepEqual(st.IdleInstances, []string{"i-4", "i-5", "i-6"}) ||
		!reflect.DeepEqual(st.ServingInstances, []string{"i-1", "i-2", "i-3"}) {
		t.Errorf("plan with blue serving = %+v", st)
	}
	lb.weights["staging"] = map[string]int{"staging-blue": 0, "staging-green": 100}
	st, err = h.Handle(ctx, contract.BlueGreenInput{Action: contract.BlueGreenPlan, Environment: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Serving != config.Green || st.Idle != config.Blue || !reflect.DeepEqual(st.IdleInstances, []string{"i-1", "i-2", "i-3"}) || !reflect.DeepEqual(st.Steps, []int{100}) ||
		!reflect.DeepEqual(st.ServingInstances, []string{"i-4", "i-5", "i-6"}) {
		t.Errorf("plan with green serving = %+v", st)
	}
}

func TestBlueGreenPlanRefusesAnUnclearListener(t *testing.T) {
	for _, tt := range []struct {
		name    string
		weights map[string]int
		want    string
	}{
		{"split", map[string]int{"staging-blue": 50, "staging-green": 50}, "splits traffic between blue (50) and green (50)"},
		{"neither", map[string]int{"staging-blue": 0}, "forwards to neither side"},
		{"stranger", map[string]int{"staging-blue": 90, "other": 10}, "target group other, which is neither side"},
	} {
		lb := newLBFake()
		lb.weights["staging"] = tt.weights
		_, err := blueGreenDeps(lb, &fleetFake{}).Handle(context.Background(), contract.BlueGreenInput{Action: contract.BlueGreenPlan, Environment: "staging"})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

// run drives the handler like the state machine: plan, await until
// healthy, then each shift step with its bake; alarmAt is the step
// (1-based) during whose bake an alarm fires (0: none).
func runBlueGreen(t *testing.T, h *BlueGreen, lb *lbFake, alarmAt int) contract.BlueGreenState {
	t.Helper()
	ctx := context.Background()
	in := contract.BlueGreenInput{Environment: "staging", Shift: []int{10, 50, 100}, ShiftBakeSeconds: 20, BakeSeconds: 45}
	in.Action = contract.BlueGreenPlan
	st, err := h.Handle(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Action, in.BlueGreen = contract.BlueGreenAwait, &st
	if st, err = h.Handle(ctx, in); err != nil {
		t.Fatal(err)
	}
	if st.Healthy || !strings.Contains(st.Waiting, "i-4 not registered") {
		t.Fatalf("first await = %+v, want the idle side registered and not yet healthy", st)
	}
	// Before the balancer reports the idle side healthy it gets no weight.
	in.Action = contract.BlueGreenShift
	if _, err := h.Handle(ctx, in); err == nil || !strings.Contains(err.Error(), "not healthy") {
		t.Fatalf("shift before healthy: error = %v", err)
	}
	lb.settle("staging-green", traffic.StateHealthy)
	in.Action = contract.BlueGreenAwait
	if st, err = h.Handle(ctx, in); err != nil || !st.Healthy {
		t.Fatalf("await after settle = %+v, %v", st, err)
	}
	for !st.Shifted {
		in.Action, in.BlueGreen = contract.BlueGreenShift, &st
		if st, err = h.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
		// Each step bakes rollout.shift_bake, the last bake.duration.
		if want := map[bool]int{false: 20, true: 45}[st.Shifted]; st.StepBakeSeconds != want {
			t.Errorf("step %d (weight %d) bakes %ds, want %ds", st.Step, st.Weight, st.StepBakeSeconds, want)
		}
		if st.Step == alarmAt {
			in.Action, in.BlueGreen = contract.BlueGreenSwitchBack, &st
			if st, err = h.Handle(ctx, in); err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	return st
}

func TestBlueGreenShiftsInSteps(t *testing.T) {
	lb, fl := newLBFake(), &fleetFake{}
	h := blueGreenDeps(lb, fl)
	st := runBlueGreen(t, h, lb, 0)
	want := []map[string]int{
		{"staging-green": 10, "staging-blue": 90},
		{"staging-green": 50, "staging-blue": 50},
		{"staging-green": 100, "staging-blue": 0},
	}
	if !reflect.DeepEqual(lb.sets, want) {
		t.Errorf("SetWeights calls = %v, want one per step %v", lb.sets, want)
	}
	if !st.Shifted || st.Weight != 100 || st.Step != 3 || st.ObserveTags["slipway:side"] != config.Green {
		t.Errorf("state = %+v", st)
	}
	// The next deployment goes to blue, the side that now idles.
	next, err := h.Handle(context.Background(), contract.BlueGreenInput{Action: contract.BlueGreenPlan, Environment: "staging"})
	if err != nil || next.Idle != config.Blue {
		t.Errorf("next plan = %+v, %v", next, err)
	}
	if len(fl.sent) != 0 {
		t.Errorf("the handler sent host commands: %v", fl.sent)
	}
}

func TestBlueGreenAlarmAtAStepSwitchesBackInOneCall(t *testing.T) {
	lb, fl := newLBFake(), &fleetFake{}
	h := blueGreenDeps(lb, fl)
	st := runBlueGreen(t, h, lb, 2)
	want := []map[string]int{
		{"staging-green": 10, "staging-blue": 90},
		{"staging-green": 50, "staging-blue": 50},
		{"staging-blue": 100, "staging-green": 0}, // the switch back: one call
	}
	if !reflect.DeepEqual(lb.sets, want) {
		t.Errorf("SetWeights calls = %v, want %v", lb.sets, want)
	}
	if !st.SwitchedBack || st.Shifted || st.Weight != 0 || st.SwitchBackMillis < 0 || st.ObserveTags["slipway:side"] != config.Blue {
		t.Errorf("state = %+v", st)
	}
	if line := SwitchBackLine(st); !strings.HasPrefix(line, fmt.Sprintf("switched back in %d ms", st.SwitchBackMillis)) || !strings.Contains(line, "blue") {
		t.Errorf("line = %q", line)
	}
	if len(fl.sent) != 0 {
		t.Errorf("rollback sent host commands (it must only switch weights): %v", fl.sent)
	}
	if w, _ := lb.Weights(context.Background(), "staging"); w["staging-blue"] != 100 {
		t.Errorf("listener after switch back = %v", w)
	}
}

func TestBlueGreenNeedsItsConfiguration(t *testing.T) {
	h := blueGreenDeps(newLBFake(), &fleetFake{})
	h.Config.Environments["prod"] = config.Environment{}
	_, err := h.Handle(context.Background(), contract.BlueGreenInput{Action: contract.BlueGreenPlan, Environment: "prod"})
	if err == nil || !strings.Contains(err.Error(), "no blue_green configuration") {
		t.Errorf("error = %v", err)
	}
	_, err = h.Handle(context.Background(), contract.BlueGreenInput{Action: contract.BlueGreenShift, Environment: "staging"})
	if err == nil || !strings.Contains(err.Error(), "run plan first") {
		t.Errorf("error = %v", err)
	}
}

func TestBlueGreenIdleSideThatNeverGetsHealthyGetsNoWeight(t *testing.T) {
	ctx := context.Background()
	lb := newLBFake()
	h := blueGreenDeps(lb, &fleetFake{})
	st, err := h.Handle(ctx, contract.BlueGreenInput{Action: contract.BlueGreenPlan, Environment: "staging", MaxAwaitAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; ; i++ {
		lb.settle("staging-green", traffic.StateUnhealthy)
		st, err = h.Handle(ctx, contract.BlueGreenInput{Action: contract.BlueGreenAwait, Environment: "staging", BlueGreen: &st})
		if err != nil {
			var df *contract.DeployFailed
			if !errors.As(err, &df) || !strings.Contains(err.Error(), "never became healthy") || !strings.Contains(err.Error(), "i-4 unhealthy") || i != 3 {
				t.Fatalf("await %d: error = %v", i, err)
			}
			break
		}
	}
	if len(lb.sets) != 0 {
		t.Errorf("the listener was changed: %v", lb.sets)
	}
}

func TestDeployFunctionRunsTheBlueGreenActions(t *testing.T) {
	ctx := context.Background()
	lb := newLBFake()
	d := &Deploy{blueGreenDeps(lb, &fleetFake{}).Deps}
	out, err := d.Handle(ctx, contract.DeployInput{Action: contract.DeployBlueGreenPlan, Environment: "staging", BlueGreen: &contract.BlueGreenInput{Shift: []int{100}}})
	if err != nil || out.BlueGreen == nil || out.BlueGreen.Idle != config.Green {
		t.Fatalf("plan = %+v, %v", out, err)
	}
	lb.Register(ctx, "staging-green", []traffic.Target{{ID: "i-4"}, {ID: "i-5"}, {ID: "i-6"}})
	lb.settle("staging-green", traffic.StateHealthy)
	for _, a := range []string{contract.DeployBlueGreenAwait, contract.DeployBlueGreenShift, contract.DeployBlueGreenSwitchBack} {
		out, err = d.Handle(ctx, contract.DeployInput{Action: a, Environment: "staging", BlueGreen: &contract.BlueGreenInput{BlueGreen: out.BlueGreen}})
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	if !out.BlueGreen.SwitchedBack || !reflect.DeepEqual(lb.sets, []map[string]int{{"staging-green": 100, "staging-blue": 0}, {"staging-blue": 100, "staging-green": 0}}) {
		t.Errorf("after shift and switch back: %+v, sets %v", out.BlueGreen, lb.sets)
	}
}

func TestJudgeBlueGreen(t *testing.T) {
	pre := &contract.PreflightOutput{App: "demo", Environment: "staging", Version: "v2", PreviousVersion: "v1", Migrations: contract.MigrationPlan{Current: 1}}
	on := func(v string) *contract.Observation {
		return &contract.Observation{Status: "Success", Fleet: &contract.FleetObservation{Total: 3, Versions: map[string]int{v: 3}, Uniform: v, Healthy: 3},
			Schema: &contract.SchemaObservation{Known: true, Version: 1, Dirty: []int64{}}}
	}
	shifted := &contract.DeployOutput{BlueGreen: &contract.BlueGreenState{Serving: "blue", Idle: "green", IdleGroup: "staging-green", Steps: []int{10, 50, 100}, Shifted: true}}
	back := &contract.DeployOutput{BlueGreen: &contract.BlueGreenState{Serving: "blue", ServingGroup: "staging-blue", Idle: "green", Step: 1, SwitchedBack: true, SwitchBackMillis: 3}}
	r := &Record{Deps: &Deps{}}
	got, summary := r.judge(contract.State{Preflight: pre, Observation: on("v2"), BlueGreen: shifted}, true, "v2")
	if got != contract.StatusSucceeded || !strings.Contains(summary, "all traffic shifted to green (staging-green) in 3 steps, blue kept warm") {
		t.Errorf("after the shift: %s %q", got, summary)
	}
	got, summary = r.judge(contract.State{Preflight: pre, Observation: on("v1"), BlueGreen: back, Error: &contract.StateError{Error: "AlarmFired", Cause: "5xx"}}, true, "v2")
	if got != contract.StatusRolledBack || !strings.Contains(summary, "switched back in 3 ms: all traffic on blue (staging-blue), no restart") {
		t.Errorf("after the switch back: %s %q", got, summary)
	}
	// A failure on the idle side before the first shift: no weight moved.
	before := &contract.DeployOutput{BlueGreen: &contract.BlueGreenState{Serving: "blue", ServingGroup: "staging-blue", Idle: "green", SwitchedBack: true, SwitchBackMillis: 2}}
	got, summary = r.judge(contract.State{Preflight: pre, Observation: on("v1"), BlueGreen: before, Error: &contract.StateError{Error: "HealthCheckFailed", Cause: "wave 1"}}, true, "v2")
	if got != contract.StatusRolledBack || !strings.Contains(summary, "no weight had moved, all traffic stayed on blue (staging-blue), no restart; the green side got no traffic") {
		t.Errorf("after a failure before the first shift: %s %q", got, summary)
	}
}

// TestBlueGreenAwaitPacedWaitsForHealthy: with TrafficPace (the embedded
// environment, whose engine skips the Wait states), one await call keeps
// reading the idle side's health until the balancer says healthy, instead
// of using up its attempts in no time.
func TestBlueGreenAwaitPacedWaitsForHealthy(t *testing.T) {
	ctx := context.Background()
	lb := newLBFake()
	h := blueGreenDeps(lb, &fleetFake{})
	h.TrafficPace = time.Minute
	st, err := h.Handle(ctx, contract.BlueGreenInput{Action: contract.BlueGreenPlan, Environment: "staging", MaxAwaitAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		// The balancer's health checks: once await registered the side,
		// its targets turn healthy.
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if ts, _ := lb.Targets(ctx, "staging-green"); len(ts) == 3 {
				lb.settle("staging-green", traffic.StateHealthy)
				return
			}
		}
	}()
	st, err = h.Handle(ctx, contract.BlueGreenInput{Action: contract.BlueGreenAwait, Environment: "staging", BlueGreen: &st})
	if err != nil || !st.Healthy || st.AwaitAttempts != 1 {
		t.Fatalf("await = %+v, %v; want healthy after one attempt", st, err)
	}
}
