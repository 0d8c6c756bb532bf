package statemachine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/statemachine"
)

// blueGreenWorld wraps the flow stubs: preflight says blue-green, the
// deploy function answers the bluegreen-* actions like pipeline.BlueGreen
// (blue serves, green idles), and an alarm can fire during a shift step's
// bake.
type blueGreenWorld struct {
	alarmAt  int // shift step (1-based) whose bake sees an alarm; 0: none
	actions  []string
	step     int
	observed map[string]string // the tags the final observation looked at
	sentTo   [][]string        // instance ids of each host command
	bakes    []string          // "step:seconds" of each shift step's alarm checks, once per step
	// validated gives the release smoke checks (run through the balancer
	// at http://lb) and before_traffic and after_traffic hooks.
	validated bool
}

const (
	shiftBakeSeconds = 20
	bakeSeconds      = 45
)

func (w *blueGreenWorld) wrap(h asl.Handlers) asl.Handlers {
	pre, dep, hea := h[localenv.ARN("preflight")], h[localenv.ARN("deploy")], h[localenv.ARN("health")]
	h[localenv.ARN("preflight")] = asl.HandlerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
		b, err := pre.Invoke(ctx, p)
		if err != nil {
			return nil, err
		}
		var out contract.PreflightOutput
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, err
		}
		out.Instances = []string{"a", "b", "c", "d", "e", "f"}
		out.BlueGreen = &contract.BlueGreenSpec{Shift: []int{10, 50, 100}, ShiftBakeSeconds: shiftBakeSeconds, KeepWarmSeconds: 3600}
		out.Bake = contract.BakeSpec{Seconds: bakeSeconds, IntervalSeconds: bakeSeconds}
		if w.validated {
			out.Health.Smoke = []contract.SmokeCheck{{Name: "home", Method: "GET", Path: "/", ExpectStatus: 200}}
			out.SmokeEndpoint, out.BeforeTraffic, out.AfterTraffic, out.RollbackAfterTraffic = "http://lb", true, true, true
		}
		return json.Marshal(out)
	})
	h[localenv.ARN("deploy")] = asl.HandlerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
		var in contract.DeployInput
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		w.actions = append(w.actions, in.Action)
		if in.Action == "send" || in.Action == "hook" && in.Version == "v2" {
			w.sentTo = append(w.sentTo, in.InstanceIDs)
		}
		if in.Action == "observe" {
			w.observed = in.Tags
		}
		if !strings.HasPrefix(in.Action, "bluegreen-") {
			return dep.Invoke(ctx, p)
		}
		var st contract.BlueGreenState
		if in.BlueGreen == nil {
			return nil, fmt.Errorf("%s without blue_green", in.Action)
		}
		switch in.Action {
		case contract.DeployBlueGreenPlan:
			if fmt.Sprint(in.BlueGreen.Shift) != "[10 50 100]" || in.BlueGreen.ShiftBakeSeconds != shiftBakeSeconds || in.BlueGreen.BakeSeconds != bakeSeconds {
				return nil, fmt.Errorf("plan with shift %v, shift bake %ds, bake %ds", in.BlueGreen.Shift, in.BlueGreen.ShiftBakeSeconds, in.BlueGreen.BakeSeconds)
			}
			st = contract.BlueGreenState{Serving: "blue", Idle: "green", IdleInstances: []string{"d", "e", "f"}, ServingInstances: []string{"a", "b", "c"}, Steps: in.BlueGreen.Shift,
				ServingTags: map[string]string{"side": "blue"}, IdleTags: map[string]string{"side": "green"}, ObserveTags: map[string]string{"side": "blue"},
				ShiftBakeSeconds: in.BlueGreen.ShiftBakeSeconds, FinalBakeSeconds: in.BlueGreen.BakeSeconds}
		case contract.DeployBlueGreenAwait:
			st = *in.BlueGreen.BlueGreen
			st.AwaitAttempts++
			st.Healthy = st.AwaitAttempts >= 2
		case contract.DeployBlueGreenShift:
			st = *in.BlueGreen.BlueGreen
			st.Weight = st.Steps[st.Step]
			st.Step++
			w.step = st.Step
			st.StepBakeSeconds = st.ShiftBakeSeconds
			if st.Shifted = st.Weight == 100; st.Shifted {
				st.ObserveTags, st.StepBakeSeconds = st.IdleTags, st.FinalBakeSeconds
			}
		case contract.DeployBlueGreenSwitchBack:
			st = *in.BlueGreen.BlueGreen
			st.SwitchedBack, st.Weight, st.Shifted, st.ObserveTags = true, 0, false, st.ServingTags
		}
		return json.Marshal(contract.DeployOutput{BlueGreen: &st, Unreachable: []string{}})
	})
	h[localenv.ARN("health")] = asl.HandlerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
		var in contract.HealthInput
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		if in.Action == "alarms" && w.step > 0 {
			if b := fmt.Sprintf("%d:%d", w.step, in.DurationSeconds); !slices.Contains(w.bakes, b) {
				w.bakes = append(w.bakes, b)
			}
		}
		if in.Action == "alarms" && in.DurationSeconds == shiftBakeSeconds && w.step == w.alarmAt {
			return nil, &contract.AlarmFired{Message: fmt.Sprintf("5xx during shift step %d", w.step)}
		}
		return hea.Invoke(ctx, p)
	})
	return h
}

func TestBlueGreenFlow(t *testing.T) {
	sm, err := asl.Parse(mustSubstitute(t, statemachine.Deploy))
	if err != nil {
		t.Fatal(err)
	}
	head := []string{"Preflight", "AcquireLock", "Resolve", "SendHostCheck", "CheckHosts", "Snapshot", "CheckSnapshot", "CheckSnapshot", "Migrate",
		"BlueGreenPlan", "BlueGreenDeploy", "BlueGreenCheckDeploy", "BlueGreenCheckDeploy", "BlueGreenAwait", "BlueGreenAwait"}
	step := []string{"ShiftStep", "ShiftCheckAlarms"}
	tail := []string{"BlueGreenObserve", "CheckObservation", "ObserveSchema", "Record", "ReleaseLock"}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name        string
		fail        map[string]error
		alarmAt     int
		wantTasks   []string
		wantStatus  string
		wantError   string
		wantActions string // the bluegreen-* actions, in order
		wantObserve string // the side the final observation looked at
		wantBakes   string // "step:seconds" each shift step baked
		validated   bool
		wantHooks   []string // the traffic hooks and smoke checks on the idle side
	}{
		// Each step bakes rollout.shift_bake but the last, which bakes
		// bake.duration, the deployment's bake.
		{name: "deploy to the idle side, then shift in three steps", wantTasks: join(head, step, step, step, tail), wantStatus: "SUCCEEDED",
			wantActions: "plan await await shift shift shift", wantObserve: "green", wantBakes: "1:20 2:20 3:45"},
		{name: "an alarm during a shift step switches back in one call", alarmAt: 2, wantTasks: join(head, step, step, []string{"BlueGreenSwitchBack", "BlueGreenRevertSchema"}, tail),
			wantStatus: "FAILED", wantError: "AlarmFired", wantActions: "plan await await shift shift switch-back", wantObserve: "blue", wantBakes: "1:20 2:20"},
		// The idle side got no traffic: no restart there either, the
		// listener is confirmed on the serving side, which is observed.
		{name: "a failing release on the idle side never gets weight", fail: map[string]error{"CheckWave": &contract.DeployFailed{Message: "d: exit 6"}},
			wantTasks:  join(head[:12], []string{"BlueGreenSwitchBack", "BlueGreenRevertSchema"}, tail),
			wantStatus: "FAILED", wantError: "DeployFailed", wantActions: "plan switch-back", wantObserve: "blue"},
	}
	// With smoke checks and traffic hooks: before any weight moves, the
	// idle side's smoke checks and its before_traffic; after the last
	// step, before its bake, the smoke checks through the balancer and
	// after_traffic.
	before := []string{"BlueGreenSmokeIdle", "BlueGreenBeforeTraffic", "BlueGreenCheckBeforeTraffic", "BlueGreenCheckBeforeTraffic"}
	last := []string{"ShiftStep", "BlueGreenSmokeBalancer", "BlueGreenAfterTraffic", "BlueGreenCheckAfterTraffic", "BlueGreenCheckAfterTraffic", "ShiftCheckAlarms"}
	back := []string{"BlueGreenSwitchBack", "BlueGreenRevertSchema"}
	// After weight moved, the side back in service runs v1's after_traffic.
	backHooked := []string{"BlueGreenSwitchBack", "BlueGreenRollbackAfterTraffic", "BlueGreenCheckRollbackAfterTraffic", "BlueGreenCheckRollbackAfterTraffic", "BlueGreenRevertSchema"}
	tests = append(tests, []struct {
		name        string
		fail        map[string]error
		alarmAt     int
		wantTasks   []string
		wantStatus  string
		wantError   string
		wantActions string
		wantObserve string
		wantBakes   string
		validated   bool
		wantHooks   []string
	}{
		{name: "smoke checks and before_traffic on the idle side first, then through the balancer and after_traffic after the last step", validated: true,
			wantTasks: join(head, before, step, step, last, tail), wantStatus: "SUCCEEDED", wantActions: "plan await await shift shift shift", wantObserve: "green", wantBakes: "1:20 2:20 3:45",
			wantHooks: []string{"BlueGreenSmokeIdle d,e,f", "BlueGreenBeforeTraffic v2 1 d,e,f", "BlueGreenAfterTraffic v2 1 d,e,f"}},
		{name: "a smoke check failing on the idle side switches back before any weight moved", validated: true,
			fail:      map[string]error{"BlueGreenSmokeIdle": &contract.SmokeCheckFailed{Message: "the green side, before any traffic: home failed"}},
			wantTasks: join(head, before[:1], back, tail), wantStatus: "FAILED", wantError: "SmokeCheckFailed", wantActions: "plan await await switch-back", wantObserve: "blue",
			wantHooks: []string{"BlueGreenSmokeIdle d,e,f"}},
		{name: "a failing before_traffic switches back before any weight moved", validated: true,
			fail:      map[string]error{"BlueGreenCheckBeforeTraffic": &contract.DeployFailed{Message: "the green side: hook before_traffic of v2 failed"}},
			wantTasks: join(head, before[:3], back, tail), wantStatus: "FAILED", wantError: "DeployFailed", wantActions: "plan await await switch-back", wantObserve: "blue",
			wantHooks: []string{"BlueGreenSmokeIdle d,e,f", "BlueGreenBeforeTraffic v2 1 d,e,f"}},
		{name: "smoke checks failing through the balancer after the last step switch back", validated: true,
			fail:      map[string]error{"BlueGreenSmokeBalancer": &contract.SmokeCheckFailed{Message: "through the load balancer: home failed"}},
			wantTasks: join(head, before, step, step, last[:2], backHooked, tail), wantStatus: "FAILED", wantError: "SmokeCheckFailed", wantActions: "plan await await shift shift shift switch-back", wantObserve: "blue", wantBakes: "1:20 2:20",
			wantHooks: []string{"BlueGreenSmokeIdle d,e,f", "BlueGreenBeforeTraffic v2 1 d,e,f", "BlueGreenRollbackAfterTraffic v1 1 a,b,c"}},
		{name: "a failing after_traffic switches back", validated: true,
			fail:      map[string]error{"BlueGreenCheckAfterTraffic": &contract.DeployFailed{Message: "the green side: hook after_traffic of v2 failed"}},
			wantTasks: join(head, before, step, step, last[:4], backHooked, tail), wantStatus: "FAILED", wantError: "DeployFailed", wantActions: "plan await await shift shift shift switch-back", wantObserve: "blue", wantBakes: "1:20 2:20",
			wantHooks: []string{"BlueGreenSmokeIdle d,e,f", "BlueGreenBeforeTraffic v2 1 d,e,f", "BlueGreenAfterTraffic v2 1 d,e,f", "BlueGreenRollbackAfterTraffic v1 1 a,b,c"}},
		{name: "an alarm during a shift step: the side back in service runs v1's after_traffic", validated: true, alarmAt: 1,
			wantTasks: join(head, before, step, backHooked, tail), wantStatus: "FAILED", wantError: "AlarmFired", wantActions: "plan await await shift switch-back", wantObserve: "blue", wantBakes: "1:20",
			wantHooks: []string{"BlueGreenSmokeIdle d,e,f", "BlueGreenBeforeTraffic v2 1 d,e,f", "BlueGreenRollbackAfterTraffic v1 1 a,b,c"}},
		{name: "the side back in service failing its after_traffic is a failed rollback", validated: true, alarmAt: 1,
			fail:      map[string]error{"BlueGreenCheckRollbackAfterTraffic": &contract.DeployFailed{Message: "rollback: the blue side, back in service: hook after_traffic of v1 failed"}},
			wantTasks: join(head, before, step, backHooked[:3], backHooked[4:], tail), wantStatus: "FAILED", wantError: "DeployFailed", wantActions: "plan await await shift switch-back", wantObserve: "blue", wantBakes: "1:20",
			wantHooks: []string{"BlueGreenSmokeIdle d,e,f", "BlueGreenBeforeTraffic v2 1 d,e,f", "BlueGreenRollbackAfterTraffic v1 1 a,b,c"}},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stubs{fail: tt.fail, failOnce: map[string]error{}, calls: map[string]int{}, blueGreen: true}
			w := &blueGreenWorld{alarmAt: tt.alarmAt, validated: tt.validated}
			in, _ := json.Marshal(contract.DeployRequest{App: "demo", Environment: "staging", Version: "v2"})
			exec, err := asl.Run(context.Background(), sm, in, asl.Options{Resolver: w.wrap(s.handlers()), Clock: asl.NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
			if err != nil {
				t.Fatal(err)
			}
			tasks := tasksVisited(exec)
			if diff := cmp.Diff(tt.wantTasks, tasks); diff != "" {
				t.Errorf("tasks visited (-want +got):\n%s", diff)
			}
			if exec.Status != tt.wantStatus || exec.Error != tt.wantError {
				t.Errorf("execution = %s %s %s, want %s %s", exec.Status, exec.Error, exec.Cause, tt.wantStatus, tt.wantError)
			}
			var bg []string
			for _, a := range w.actions {
				if strings.HasPrefix(a, "bluegreen-") {
					bg = append(bg, strings.TrimPrefix(a, "bluegreen-"))
				}
			}
			if got := strings.Join(bg, " "); got != tt.wantActions {
				t.Errorf("blue/green actions = %q, want %q", got, tt.wantActions)
			}
			if diff := cmp.Diff(tt.wantHooks, s.hooks); diff != "" {
				t.Errorf("smoke checks and traffic hooks on the idle side (-want +got):\n%s", diff)
			}
			if got := strings.Join(w.bakes, " "); got != tt.wantBakes {
				t.Errorf("shift steps baked %q (step:seconds), want %q", got, tt.wantBakes)
			}
			if got := w.observed["side"]; got != tt.wantObserve {
				t.Errorf("the observation looked at side %q (tags %v), want %q", got, w.observed, tt.wantObserve)
			}
			// The host commands of the deployment only ever go to the idle side.
			for _, ids := range w.sentTo {
				if fmt.Sprint(ids) != "[d e f]" {
					t.Errorf("a host command went to %v, not the idle side [d e f]", ids)
				}
			}
		})
	}
}
