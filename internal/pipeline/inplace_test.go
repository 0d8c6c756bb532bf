package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/traffic/traffictest"
)

// inplaceWorld is staging behind two groups: web holds i-1, i-2, i-3;
// api holds i-1 only; i-9 is a standby registered nowhere.
func inplaceWorld(t *testing.T) (*Deploy, *traffictest.Balancer, *time.Time) {
	t.Helper()
	led, err := ledgersqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	b := traffictest.New().
		AddGroup("web", traffictest.Group{Delay: 60 * time.Second, HealthyAfter: 1, DrainAfter: 1}, "i-1", "i-2", "i-3").
		AddGroup("api", traffictest.Group{Delay: 5 * time.Minute, HealthyAfter: 2, DrainAfter: 2}, "i-1")
	d := &Deps{Config: &config.Config{App: "demo", Environments: map[string]config.Environment{"staging": {TargetGroups: []string{"web", "api"}}}},
		Ledger: led, Traffic: b, Now: func() time.Time { return now }}
	return &Deploy{Deps: d}, b, &now
}

func run(t *testing.T, h *Deploy, in contract.DeployInput) contract.DeployOutput {
	t.Helper()
	out, err := h.Handle(context.Background(), in)
	if err != nil {
		t.Fatalf("%s: %v", in.Action, err)
	}
	return out
}

// untilDone calls a waiting action until it says done, as the state
// machine's loop would.
func untilDone(t *testing.T, h *Deploy, in contract.DeployInput) contract.DeployOutput {
	t.Helper()
	for i := 0; i < 20; i++ {
		out := run(t, h, in)
		if out.Traffic.Done {
			return out
		}
	}
	t.Fatalf("%s: not done after 20 polls", in.Action)
	return contract.DeployOutput{}
}

func TestInPlaceWave(t *testing.T) {
	h, b, _ := inplaceWorld(t)
	in := contract.DeployInput{DeploymentID: "d1", Environment: "staging", Wave: 0, InstanceIDs: []string{"i-1", "i-9"}}

	in.Action = contract.DeployDetach
	out := run(t, h, in)
	st := out.Traffic
	if st.Done || len(st.Groups) != 2 || strings.Join(st.Groups["web"], ",") != "i-1" || strings.Join(st.Groups["api"], ",") != "i-1" {
		t.Fatalf("detach = %+v; want i-1 out of web and api, i-9 (standby) nowhere", st)
	}
	if st.Deadline != "2026-12-01T09:05:30Z" {
		t.Errorf("drain deadline = %s; want the largest delay (5m) plus the margin", st.Deadline)
	}
	if s := b.States("web"); s["i-1"] != "draining" || s["i-2"] != "healthy" {
		t.Errorf("web = %v", s)
	}

	in.Action, in.Traffic = contract.DeployDrained, st
	untilDone(t, h, in)
	if s := b.States("api"); len(s) != 0 {
		t.Errorf("api after drain = %v; want empty", s)
	}

	in.Action = contract.DeployAttach
	out = run(t, h, in)
	if out.Traffic.Done || out.Traffic.Deadline != "2026-12-01T09:10:00Z" {
		t.Fatalf("attach = %+v", out.Traffic)
	}
	in.Action, in.Traffic = contract.DeployInService, out.Traffic
	out = untilDone(t, h, in)
	if out.Status != contract.CommandSuccess {
		t.Errorf("in-service status = %s", out.Status)
	}
	for _, c := range b.Calls("register", "deregister") {
		for _, id := range c.Targets {
			if id == "i-9" {
				t.Errorf("standby i-9 was touched: %s", c)
			}
		}
	}
	if s := b.States("web"); s["i-1"] != "healthy" || len(s) != 3 {
		t.Errorf("web at the end = %v", s)
	}
	steps, _ := h.Ledger.Steps(context.Background(), "d1")
	var msgs []string
	for _, s := range steps {
		msgs = append(msgs, s.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"wave 1: draining i-1 from web; i-1 from api", "wave 1: registering i-1 in api; i-1 in web", "reports i-1 healthy"} {
		if !strings.Contains(all, want) {
			t.Errorf("steps lack %q:\n%s", want, all)
		}
	}
}

func TestInPlaceStandbyOnlyWave(t *testing.T) {
	h, b, _ := inplaceWorld(t)
	out := run(t, h, contract.DeployInput{Action: contract.DeployDetach, DeploymentID: "d1", Environment: "staging", InstanceIDs: []string{"i-9"}})
	if !out.Traffic.Done || len(out.Traffic.Groups) != 0 {
		t.Fatalf("detach of a standby = %+v; want done, no group", out.Traffic)
	}
	out = run(t, h, contract.DeployInput{Action: contract.DeployAttach, DeploymentID: "d1", Environment: "staging", InstanceIDs: []string{"i-9"}, Traffic: out.Traffic})
	if !out.Traffic.Done || len(b.Calls("register")) != 0 {
		t.Fatalf("attach of a standby = %+v, calls %v; want done, nothing registered", out.Traffic, b.Calls("register"))
	}
}

func TestInPlaceStuckDraining(t *testing.T) {
	h, b, now := inplaceWorld(t)
	b.Stuck("i-2")
	in := contract.DeployInput{Action: contract.DeployDetach, DeploymentID: "d1", Environment: "staging", InstanceIDs: []string{"i-2", "i-3"}}
	in.Traffic = run(t, h, in).Traffic
	in.Action = contract.DeployDrained
	run(t, h, in)
	for i := 0; i < 3; i++ {
		if out := run(t, h, in); out.Traffic.Done || strings.Join(out.Traffic.Waiting, ",") != "i-2" {
			t.Fatalf("drained = %+v; want waiting on i-2", out.Traffic)
		}
	}
	*now = now.Add(90 * time.Second)
	_, err := h.Handle(context.Background(), in)
	var df *contract.DeployFailed
	if !errors.As(err, &df) || !strings.Contains(err.Error(), "i-2 in web: draining (Target.DeregistrationInProgress)") || strings.Contains(err.Error(), "i-3") {
		t.Fatalf("err = %v; want DeployFailed naming i-2 stuck draining in web", err)
	}
}

func TestInPlaceNeverHealthy(t *testing.T) {
	h, b, now := inplaceWorld(t)
	b.Unhealthy("i-3")
	in := contract.DeployInput{Action: contract.DeployDetach, DeploymentID: "d1", Environment: "staging", InstanceIDs: []string{"i-3"}}
	in.Traffic = run(t, h, in).Traffic
	in.Action = contract.DeployDrained
	in.Traffic = untilDone(t, h, in).Traffic
	in.Action = contract.DeployAttach
	in.Traffic = run(t, h, in).Traffic
	in.Action = contract.DeployInService
	for i := 0; i < 3; i++ {
		if out := run(t, h, in); out.Traffic.Done {
			t.Fatal("in-service: done with an unhealthy target")
		}
	}
	*now = now.Add(DefaultInServiceWait)
	_, err := h.Handle(context.Background(), in)
	var hf *contract.HealthCheckFailed
	if !errors.As(err, &hf) || !strings.Contains(err.Error(), "i-3 in web: unhealthy (Target.FailedHealthChecks)") {
		t.Fatalf("err = %v; want HealthCheckFailed naming i-3 (the wave fails and rolls back)", err)
	}
}

func TestInPlaceBalancerErrors(t *testing.T) {
	h, b, _ := inplaceWorld(t)
	b.Fail("deregister", errors.New("AccessDenied: not authorized to perform elasticloadbalancing:DeregisterTargets"))
	_, err := h.Handle(context.Background(), contract.DeployInput{Action: contract.DeployDetach, DeploymentID: "d1", Environment: "staging", InstanceIDs: []string{"i-1"}})
	if err == nil || !strings.Contains(err.Error(), "wave 1: deregister from web") {
		t.Fatalf("err = %v; want one naming the wave, the call and the group", err)
	}
}

func TestCapacityFloor(t *testing.T) {
	ctx := context.Background()
	b := traffictest.New().AddGroup("web", traffictest.Group{}, "i-1", "i-2", "i-3")
	d := &Deps{Traffic: b}
	floor := manifest.DefaultMinHealthy
	if err := capacityFloor(ctx, d, []string{"web"}, [][]string{{"i-1"}, {"i-2"}, {"i-3"}}, floor); err != nil {
		t.Fatalf("one of three at a time, 66%%: %v", err)
	}
	err := capacityFloor(ctx, d, []string{"web"}, [][]string{{"i-1"}, {"i-2", "i-3"}}, floor)
	var pf *contract.PreflightFailed
	if !errors.As(err, &pf) || !strings.Contains(err.Error(), "wave 2 of 2 takes 2 healthy targets out of target group web, which would leave 1 of its 3 targets in service: fewer than rollout.min_healthy 66% (2)") {
		t.Fatalf("err = %v; want a refusal naming wave 2 and the numbers", err)
	}
	if err := capacityFloor(ctx, d, []string{"web"}, [][]string{{"i-1"}, {"i-2", "i-3"}}, manifest.Capacity{Count: 1}); err != nil {
		t.Fatalf("min_healthy 1: %v", err)
	}
	// Under the lock, the live states: i-3 turned unhealthy, so taking
	// i-1 out leaves one serving.
	b.SetState("web", "i-3", "unhealthy")
	err = capacityFloor(ctx, d, []string{"web"}, [][]string{{"i-1"}, {"i-2"}, {"i-3"}}, floor)
	if !errors.As(err, &pf) || !strings.Contains(err.Error(), "wave 1 of 3") || !strings.Contains(err.Error(), "1 target already not healthy") {
		t.Fatalf("err = %v; want wave 1 refused, counting the unhealthy target against the floor", err)
	}
}

// TestInPlacePaced is the embedded environment's case: the engine's
// virtual clock skips WaitForDrain, so one call waits for the balancer in
// real time, up to TrafficPace.
func TestInPlacePaced(t *testing.T) {
	h, _, _ := inplaceWorld(t)
	h.TrafficPace = time.Minute // generous: the call returns as soon as it is drained
	in := contract.DeployInput{Action: contract.DeployDetach, DeploymentID: "d1", Environment: "staging", InstanceIDs: []string{"i-1"}}
	in.Traffic = run(t, h, in).Traffic
	in.Action = contract.DeployDrained
	if out := run(t, h, in); !out.Traffic.Done {
		t.Fatalf("paced drained = %+v; want done within one call", out.Traffic)
	}
}

// TestInPlaceDetachRetried: a DetachWave retried after its Deregister went
// through (a later call failed, a lost response) still remembers the
// wave's groups, so AttachWave puts it back.
func TestInPlaceDetachRetried(t *testing.T) {
	h, b, _ := inplaceWorld(t)
	in := contract.DeployInput{DeploymentID: "d1", Environment: "staging", Wave: 0, InstanceIDs: []string{"i-1"}, Action: contract.DeployDetach}
	run(t, h, in)
	out := run(t, h, in) // the retry
	if len(out.Traffic.Groups["web"]) != 1 || len(out.Traffic.Groups["api"]) != 1 {
		t.Fatalf("retried detach forgot i-1's groups: %+v; states web=%v api=%v", out.Traffic.Groups, b.States("web"), b.States("api"))
	}
}

// TestCapacityFloorNothingServesYet: behind a new load balancer where no
// target is healthy yet (the first deployment), no wave takes a healthy
// target out, so the floor lets it through.
func TestCapacityFloorNothingServesYet(t *testing.T) {
	b := traffictest.New().AddGroup("web", traffictest.Group{}, "i-1", "i-2", "i-3")
	for _, id := range []string{"i-1", "i-2", "i-3"} {
		b.SetState("web", id, "unhealthy")
	}
	if err := capacityFloor(context.Background(), &Deps{Traffic: b}, []string{"web"}, [][]string{{"i-1"}, {"i-2", "i-3"}}, manifest.DefaultMinHealthy); err != nil {
		t.Fatalf("first deployment, nothing healthy: %v", err)
	}
}

// TestInPlaceRollbackDetachKeepsRecorded: a rollback wave's detach, handed
// what the rollout's detach recorded, keeps a target already gone from a
// group (the failing wave, drained before it failed), so that attach puts
// it back in; ids of other waves in what it is handed are ignored.
func TestInPlaceRollbackDetachKeepsRecorded(t *testing.T) {
	h, b, _ := inplaceWorld(t)
	in := contract.DeployInput{DeploymentID: "d1", Environment: "staging", Wave: 1, InstanceIDs: []string{"i-2"}, Action: contract.DeployDetach}
	first := run(t, h, in)
	in.Action, in.Traffic = contract.DeployDrained, first.Traffic
	untilDone(t, h, in)
	if _, in := b.States("web")["i-2"]; in {
		t.Fatalf("web = %v; want i-2 drained and gone", b.States("web"))
	}

	// The rollback's detach of that wave, handed $.traffic.
	in.Action, in.Traffic = contract.DeployDetach, &contract.TrafficState{Groups: map[string][]string{"web": {"i-2", "i-3"}}}
	out := run(t, h, in)
	if out.Traffic.Done || strings.Join(out.Traffic.Groups["web"], ",") != "i-2" || len(out.Traffic.Groups) != 1 {
		t.Fatalf("rollback detach = %+v; want i-2 recorded in web (i-3 is another wave's)", out.Traffic)
	}
	in.Action, in.Traffic = contract.DeployAttach, out.Traffic
	out = run(t, h, in)
	in.Action, in.Traffic = contract.DeployInService, out.Traffic
	untilDone(t, h, in)
	if s := b.States("web"); s["i-2"] != "healthy" || s["i-3"] != "healthy" {
		t.Errorf("web after the rollback wave = %v; want i-2 back and healthy", s)
	}
}

// TestCapacityFloorSaysWhatToSet: the refusal names the min_healthy that
// admits the plan, as a count and as a percentage; a two-instance
// environment one at a time keeps 1 of 2 (the default 66% needs 2).
func TestCapacityFloorSaysWhatToSet(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		waves   [][]string
		want    string
		admits  manifest.Capacity
	}{
		{name: "two instances, one at a time", targets: []string{"i-1", "i-2"}, waves: [][]string{{"i-1"}, {"i-2"}},
			want: "set `rollout.min_healthy: 1` (or \"50%\") in slipway.yaml: the most it keeps in service is 1 of 2 while a wave is out", admits: manifest.Capacity{Percent: 50}},
		{name: "three instances, a canary then two", targets: []string{"i-1", "i-2", "i-3"}, waves: [][]string{{"i-1"}, {"i-2", "i-3"}},
			want: "set `rollout.min_healthy: 1` (or \"33%\")", admits: manifest.Capacity{Percent: 33}},
		{name: "one instance", targets: []string{"i-1"}, waves: [][]string{{"i-1"}},
			want: "a wave would take every healthy target out: add instances, or accept that nothing serves while it is out with `rollout.min_healthy: 0`", admits: manifest.Capacity{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Deps{Traffic: traffictest.New().AddGroup("web", traffictest.Group{}, tt.targets...)}
			err := capacityFloor(context.Background(), d, []string{"web"}, tt.waves, manifest.DefaultMinHealthy)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("capacityFloor() = %v; want it to say %q", err, tt.want)
			}
			// What it says to set admits the plan.
			if err := capacityFloor(context.Background(), d, []string{"web"}, tt.waves, tt.admits); err != nil {
				t.Errorf("with min_healthy %s: %v", tt.admits, err)
			}
		})
	}
}
