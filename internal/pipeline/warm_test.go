package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
	"github.com/slipway-deploy/slipway/internal/traffic"
	"github.com/slipway-deploy/slipway/internal/traffic/traffictest"
)

// TestWarmSideDecision covers when a rollback may switch the listener back
// to the side a blue/green deployment kept warm, and that every refusal
// says why (the rollback then goes in place).
func TestWarmSideDecision(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	bg := &config.BlueGreen{Listener: "lst", Blue: config.Side{TargetGroup: "tg-blue", Tags: map[string]string{"side": "blue"}},
		Green: config.Side{TargetGroup: "tg-green", Tags: map[string]string{"side": "green"}}}
	warm := WarmSide{Version: "v1", Until: now.Add(time.Hour), BlueGreen: contract.BlueGreenState{Listener: "lst", Serving: config.Blue, Idle: config.Green,
		ServingGroup: "tg-blue", IdleGroup: "tg-green", ServingTags: bg.Blue.Tags, IdleTags: bg.Green.Tags, ObserveTags: bg.Green.Tags,
		Steps: []int{50, 100}, Step: 2, Weight: 100, Shifted: true}}
	for _, tt := range []struct {
		name    string
		change  func(w *WarmSide, b *traffictest.Balancer, f *pipelinetest.Fleet, now *time.Time)
		version string
		why     string // "" : the switch back is planned
	}{
		{name: "warm, healthy, in its window", version: "v1"},
		{name: "another release", version: "v0", why: "it runs v1, not v0"},
		{name: "window over", version: "v1", why: "keep_warm window ended",
			change: func(_ *WarmSide, _ *traffictest.Balancer, _ *pipelinetest.Fleet, now *time.Time) {
				*now = now.Add(2 * time.Hour)
			}},
		{name: "sides by Auto Scaling groups", version: "v1", why: "given by Auto Scaling groups",
			change: func(w *WarmSide, _ *traffictest.Balancer, _ *pipelinetest.Fleet, _ *time.Time) {
				w.BlueGreen.ServingTags = nil
			}},
		{name: "listener moved", version: "v1", why: "no longer sends everything to green",
			change: func(_ *WarmSide, b *traffictest.Balancer, _ *pipelinetest.Fleet, _ *time.Time) {
				b.SetWeightsOf("lst", map[string]int{"tg-blue": 50, "tg-green": 50})
			}},
		{name: "an instance unhealthy", version: "v1", why: "b-2 is unhealthy",
			change: func(_ *WarmSide, b *traffictest.Balancer, _ *pipelinetest.Fleet, _ *time.Time) {
				b.SetState("tg-blue", "b-2", traffic.StateUnhealthy)
			}},
		{name: "an instance deregistered", version: "v1", why: "b-3 is not registered in tg-blue",
			change: func(_ *WarmSide, _ *traffictest.Balancer, f *pipelinetest.Fleet, _ *time.Time) {
				f.ByEnv["production"] = append(f.ByEnv["production"], fleet.Instance{ID: "b-3", Online: true})
			}},
		{name: "an instance offline", version: "v1", why: "b-1 is not Online",
			change: func(_ *WarmSide, _ *traffictest.Balancer, f *pipelinetest.Fleet, _ *time.Time) {
				f.ByEnv["production"][0].Online = false
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			led := pipelinetest.Ledger(t)
			clock := now
			b := traffictest.New().AddGroup("tg-blue", traffictest.Group{}, "b-1", "b-2").AddGroup("tg-green", traffictest.Group{}, "g-1", "g-2")
			b.SetWeightsOf("lst", map[string]int{"tg-blue": 0, "tg-green": 100})
			f := &pipelinetest.Fleet{ByEnv: map[string][]fleet.Instance{"production": {{ID: "b-1", Online: true}, {ID: "b-2", Online: true}}}}
			w := warm
			if tt.change != nil {
				tt.change(&w, b, f, &clock)
			}
			d := &Deps{Ledger: led, Fleet: f, Traffic: b, Now: func() time.Time { return clock }}
			from := &ledger.Deployment{ID: "d-2", App: "demo", Environment: "production", Kind: contract.KindDeploy, Status: contract.StatusSucceeded, Version: "v2", PreviousVersion: "v1"}
			d.Step(ctx, from.ID, "rollout", StepInfo, "kept warm", w)
			st, why := d.warmSide(ctx, from, tt.version, "production", bg)
			if tt.why == "" {
				if st == nil || why != "" || st.Serving != config.Blue || st.ServingGroup != "tg-blue" || st.SwitchedBack || st.ObserveTags["side"] != "blue" {
					t.Fatalf("warmSide = %+v, %q; want a switch back to blue, observing blue", st, why)
				}
				// Its instances as listed now: the side's after_traffic runs on them.
				if diff := cmp.Diff([]string{"b-1", "b-2"}, st.ServingInstances); diff != "" {
					t.Errorf("warm side's serving instances (-want +got):\n%s", diff)
				}
				// The switch back on that state: one call, read back.
				out, err := (&BlueGreen{d}).Handle(ctx, contract.BlueGreenInput{Action: contract.BlueGreenSwitchBack, BlueGreen: st})
				if err != nil || !out.SwitchedBack || !strings.Contains(SwitchBackLine(out), "all traffic on blue") {
					t.Fatalf("switch back = %+v, %v", out, err)
				}
				if got, _ := b.Weights(ctx, "lst"); got["tg-blue"] != 100 || got["tg-green"] != 0 {
					t.Errorf("weights after the switch back = %v, want all on tg-blue", got)
				}
				return
			}
			if st != nil || !strings.Contains(why, tt.why) {
				t.Errorf("warmSide = %+v, %q; want no switch back, saying %q", st, why, tt.why)
			}
		})
	}
	// Not a blue/green deployment, or one that did not succeed: no
	// warm side, and nothing to say.
	d := &Deps{Ledger: pipelinetest.Ledger(t), Traffic: traffictest.New(), Now: func() time.Time { return now }}
	for _, from := range []*ledger.Deployment{nil, {ID: "x", Kind: contract.KindDeploy, Status: contract.StatusRolledBack}, {ID: "y", Kind: contract.KindDeploy, Status: contract.StatusSucceeded}} {
		if st, why := d.warmSide(context.Background(), from, "v1", "production", bg); st != nil || why != "" {
			t.Errorf("warmSide(%+v) = %+v, %q; want nothing", from, st, why)
		}
	}
}

// TestClosingEndsItsWaitsBeforeTheDeadline: closing a record waits for
// running commands and for an observation, each up to SettleWait; however
// long that is, the waits end CloseReserve before ctx's deadline (the
// Lambda's timeout), so the record is written and the lease released.
func TestClosingEndsItsWaitsBeforeTheDeadline(t *testing.T) {
	h, led, _ := lockWorld(t, false)
	ctx := context.Background()
	// Commands that never finish: the deployment's activation, and the
	// observation's status command.
	h.Fleet = &pipelinetest.Fleet{ByEnv: map[string][]fleet.Instance{"staging": {{ID: "i-1", Online: true}}}}
	h.SettleWait = time.Hour
	if err := led.PutInstanceResults(ctx, []ledger.InstanceResult{{DeploymentID: "holder", CommandID: "cmd-old", InstanceID: "i-1",
		Action: fleet.ActionActivate, Version: "v1", Status: fleet.StatusPending, ExitCode: -1}}); err != nil {
		t.Fatal(err)
	}
	dep, err := led.GetDeployment(ctx, "holder")
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, CloseReserve+time.Second)
	defer cancel()
	out, err := h.CloseUnfinished(tctx, dep, contract.StateError{Error: TimedOutError, Cause: "the execution timed out"}, nil)
	if err != nil || tctx.Err() != nil {
		t.Fatalf("CloseUnfinished = %+v, %v (ctx %v); want it closed before the deadline", out, err, tctx.Err())
	}
	d, _ := led.GetDeployment(ctx, "holder")
	locks, _ := led.Locks(ctx, "demo", "staging")
	if !d.Final() || len(locks) != 0 {
		t.Errorf("record = %s, locks %+v; want it closed and the lease released", d.Status, locks)
	}
}

// TestJudgeWarmSwitch: a rollback planned as a switch back to the warm
// side is ROLLED_BACK only when the listener was read back on that side
// and the side is observed on the release; a switch that failed is
// ROLLBACK_FAILED, saying where the traffic still goes. One whose warm
// side then failed its after_traffic hook is judged on what is observed
// (the traffic is back on the side, on the release), and its summary says
// the hook failed and where to read its output.
func TestJudgeWarmSwitch(t *testing.T) {
	ws := &contract.BlueGreenState{Listener: "lst", Serving: "blue", Idle: "green", ServingGroup: "tg-blue", IdleGroup: "tg-green", Steps: []int{100}, Step: 1}
	pre := &contract.PreflightOutput{App: "demo", Environment: "production", Version: "v1", PreviousVersion: "v2", WarmSide: ws}
	on := func(v string) *contract.Observation {
		return &contract.Observation{Fleet: &contract.FleetObservation{Total: 2, Versions: map[string]int{v: 2}, Uniform: v, Healthy: 2}}
	}
	switched := *ws
	switched.SwitchedBack, switched.SwitchBackMillis = true, 3
	for _, tt := range []struct {
		name       string
		st         contract.State
		want, says string
	}{
		{"switched, observed on v1", contract.State{Kind: contract.KindRollback, Preflight: pre, Observation: on("v1"),
			BlueGreen: &contract.DeployOutput{BlueGreen: &switched}}, contract.StatusRolledBack, "switched back in 3 ms: all traffic on blue"},
		{"switch failed", contract.State{Kind: contract.KindRollback, Preflight: pre, Observation: on("v1"),
			RollbackError: &contract.StateError{Error: "AccessDenied", Cause: "not allowed"}}, contract.StatusRollbackFailed, "still sends the traffic to green"},
		{"switched, then the warm side's after_traffic failed", contract.State{Kind: contract.KindRollback, DeploymentID: "rb-1", Preflight: pre, Observation: on("v1"),
			BlueGreen:     &contract.DeployOutput{BlueGreen: &switched},
			RollbackError: &contract.StateError{Error: "DeployFailed", Cause: "rollback: the blue side, back in service: hook after_traffic of v1 failed on 2 of 2 instances"}},
			contract.StatusRolledBack, "switched back in 3 ms: all traffic on blue (tg-blue), no restart. The rollback then failed: DeployFailed: rollback: the blue side, back in service: hook after_traffic of v1 failed on 2 of 2 instances (`slipway logs rb-1 --hook after_traffic` shows its output). Observed: 2 instances serve v1"},
		{"switched, side not on v1", contract.State{Kind: contract.KindRollback, Preflight: pre, Observation: on("v2"),
			BlueGreen: &contract.DeployOutput{BlueGreen: &switched}}, contract.StatusRollbackFailed, "blue is not observed on v1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, summary := (&Record{Deps: &Deps{}}).judge(tt.st, true, "v1")
			if status != tt.want || !strings.Contains(summary, tt.says) {
				t.Errorf("judge = %s %q; want %s saying %q", status, summary, tt.want, tt.says)
			}
		})
	}
}

// TestRefusalUnderTheLeaseChangedNothing: a deployment refused under the
// lease (a newer push deployed while it waited) observes a schema another
// deployment migrated; it changed nothing itself, so Record says FAILED,
// not ROLLBACK_FAILED. A failure after the migrations is judged on the
// observation as before.
func TestRefusalUnderTheLeaseChangedNothing(t *testing.T) {
	ctx := context.Background()
	h := &Record{Deps: &Deps{Ledger: pipelinetest.Ledger(t)}}
	pre := &contract.PreflightOutput{App: "demo", Environment: "staging", Version: "c1", PreviousVersion: "v1", Migrations: contract.MigrationPlan{Current: 1}}
	obs := &contract.Observation{Fleet: &contract.FleetObservation{Total: 3, Versions: map[string]int{"c2": 3}, Uniform: "c2", Healthy: 3},
		Schema: &contract.SchemaObservation{Known: true, Version: 2, Dirty: []int64{}}}
	st := contract.State{Kind: contract.KindDeploy, DeploymentID: "d-1", Preflight: pre, Observation: obs,
		Error: &contract.StateError{Error: "Superseded", Cause: "superseded: a newer push (c2) took the lease"}}
	changed, err := h.changed(ctx, st)
	if err != nil || changed {
		t.Fatalf("changed = %v, %v; want false: the schema moved under another deployment", changed, err)
	}
	if status, summary := h.judge(st, changed, "c1"); status != contract.StatusFailed || !strings.Contains(summary, "nothing was changed") {
		t.Errorf("judge = %s %q; want FAILED, nothing changed", status, summary)
	}
	st.Error = &contract.StateError{Error: "HealthCheckFailed", Cause: "wave 1"}
	if changed, _ := h.changed(ctx, st); !changed {
		t.Error("a health check failure with the schema moved: changed = false, want true")
	}
}
