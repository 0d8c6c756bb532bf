package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/traffic"
	"github.com/slipway-deploy/slipway/internal/traffic/traffictest"
)

// TestReattachPutsBackWhatADeadDeploymentTookOut: a deployment replacing
// v1 took i-1 (its canary, now on v2 and back in service) and then i-2
// and i-3 out of web and died. Closing its record puts i-2 (healthy on
// v1, the release it replaced) back; i-3 answers unhealthy and stays out,
// named; the standby i-9, healthy but never in a group, is not touched.
func TestReattachPutsBackWhatADeadDeploymentTookOut(t *testing.T) {
	h, b, _ := inplaceWorld(t)
	h.SettleWait = 5 * time.Second
	ctx := context.Background()
	dep := ledger.Deployment{ID: "d1", App: "demo", Environment: "staging", Kind: contract.KindDeploy, Version: "v2", PreviousVersion: "v1"}
	for i, ids := range [][]string{{"i-1"}, {"i-2", "i-3", "i-9"}} {
		in := contract.DeployInput{Action: contract.DeployDetach, DeploymentID: "d1", Environment: "staging", Wave: i, InstanceIDs: ids}
		in.Traffic = run(t, h, in).Traffic
		in.Action = contract.DeployDrained
		untilDone(t, h, in)
		if i == 0 {
			in.Action = contract.DeployAttach
			in.Traffic = run(t, h, in).Traffic
			in.Action = contract.DeployInService
			untilDone(t, h, in)
		}
	}
	// The owner dies here: i-2 and i-3 are out of web.
	observed := []ledger.InstanceResult{
		{InstanceID: "i-1", Version: "v2", Status: ObservedHealthy},
		{InstanceID: "i-2", Version: "v1", Status: ObservedHealthy},
		{InstanceID: "i-3", Version: "v1", Status: ObservedUnhealthy, Output: "on v1, not healthy: 503"},
		{InstanceID: "i-9", Version: "v1", Status: ObservedHealthy},
	}
	note := h.reattach(ctx, dep, observed)
	for _, want := range []string{"put back into service what it had taken out: i-2 in web (the load balancer reports them healthy)", "left out of its target groups: i-3 (unhealthy: on v1, not healthy: 503)", "slipway rollback --env staging"} {
		if !strings.Contains(note, want) {
			t.Errorf("note = %q; want it to contain %q", note, want)
		}
	}
	if s := b.States("web"); s["i-1"] != "healthy" || s["i-2"] != "healthy" || s["i-3"] != "" || len(s) != 2 {
		t.Errorf("web after the reattach = %v; want i-1 and i-2 healthy, i-3 out", s)
	}
	if s := b.States("api"); s["i-1"] != "healthy" || len(s) != 1 {
		t.Errorf("api after the reattach = %v; want i-1 alone, as it was", s)
	}
	for _, c := range b.Calls("register") {
		if strings.Contains(c.String(), "i-9") {
			t.Errorf("the standby i-9 was registered: %s", c)
		}
	}
	steps, _ := h.Ledger.Steps(ctx, "d1")
	last := steps[len(steps)-1]
	var rec Reattached
	if err := json.Unmarshal(last.Detail, &rec); err != nil {
		t.Fatalf("last step %q keeps no Reattached detail: %v", last.Message, err)
	}
	want := Reattached{Groups: map[string][]string{"web": {"i-2"}}, LeftOut: map[string]string{"i-3": "unhealthy: on v1, not healthy: 503"}, Healthy: true,
		LeftOutGroups: map[string][]string{"web": {"i-3"}}}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("reattached detail mismatch (-want +got):\n%s", diff)
	}
	events, _ := h.Ledger.(interface {
		Events(ctx context.Context, app, env string, limit int) ([]ledger.Event, error)
	}).Events(ctx, "demo", "staging", 0)
	if len(events) != 1 || events[0].Kind != "reattached" || events[0].DeploymentID != "d1" {
		t.Errorf("events = %+v; want one reattached event of d1", events)
	}
}

// TestReattachVersions: an instance is put back only on a release that
// served: the one the deployment replaced, one an instance in service in
// the group serves, or, for a rollback, the one it returns to.
func TestReattachVersions(t *testing.T) {
	tests := []struct {
		name    string
		kind    string
		version string // i-2's release
		canary  string // i-1's, in service
		put     bool
	}{
		{name: "the release it replaced", kind: contract.KindDeploy, version: "v1", canary: "v1", put: true},
		{name: "the new release, already in service on the canary", kind: contract.KindDeploy, version: "v2", canary: "v2", put: true},
		{name: "the new release, which nothing in service serves", kind: contract.KindDeploy, version: "v2", canary: "v1"},
		{name: "a rollback's target release", kind: contract.KindRollback, version: "v0", canary: "v1", put: true},
		{name: "some other release", kind: contract.KindDeploy, version: "v7", canary: "v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, b, _ := inplaceWorld(t)
			h.SettleWait = 5 * time.Second
			dep := ledger.Deployment{ID: "d1", App: "demo", Environment: "staging", Kind: tt.kind, Version: "v2", PreviousVersion: "v1"}
			if tt.kind == contract.KindRollback {
				dep.Version, dep.PreviousVersion = "v0", "v1"
			}
			run(t, h, contract.DeployInput{Action: contract.DeployDetach, DeploymentID: "d1", Environment: "staging", Wave: 1, InstanceIDs: []string{"i-2"}})
			note := h.reattach(context.Background(), dep, []ledger.InstanceResult{
				{InstanceID: "i-1", Version: tt.canary, Status: ObservedHealthy},
				{InstanceID: "i-2", Version: tt.version, Status: ObservedHealthy},
				{InstanceID: "i-3", Version: "v1", Status: ObservedHealthy},
			})
			if got := b.States("web")["i-2"] == "healthy"; got != tt.put {
				t.Errorf("i-2 back in web = %t, want %t (note %q, web %v)", got, tt.put, note, b.States("web"))
			}
			if !tt.put && !strings.Contains(note, "i-2 (on "+tt.version+", which nothing in service in web serves)") {
				t.Errorf("note = %q; want it to say why i-2 stays out", note)
			}
		})
	}
}

// TestReattachNothingOut: a deployment that took nothing out, or put back
// all it took, leaves no note and calls no Register.
func TestReattachNothingOut(t *testing.T) {
	h, b, _ := inplaceWorld(t)
	dep := ledger.Deployment{ID: "d1", App: "demo", Environment: "staging", Kind: contract.KindDeploy, Version: "v2", PreviousVersion: "v1"}
	if note := h.reattach(context.Background(), dep, nil); note != "" {
		t.Errorf("reattach without a detach = %q, want nothing", note)
	}
	in := contract.DeployInput{Action: contract.DeployDetach, DeploymentID: "d1", Environment: "staging", InstanceIDs: []string{"i-3"}}
	in.Traffic = run(t, h, in).Traffic
	in.Action = contract.DeployAttach
	run(t, h, in)
	if note := h.reattach(context.Background(), dep, nil); note != "" || len(b.Calls("register")) != 1 {
		t.Errorf("reattach after the wave was put back = %q, registers %v; want nothing more", note, b.Calls("register"))
	}
}

// TestDetachRecordsBeforeDeregistering: the detach step is in the ledger
// even when the deregistration that follows fails, so that a process
// dying between the two leaves the record of what it may have taken out.
func TestDetachRecordsBeforeDeregistering(t *testing.T) {
	h, b, _ := inplaceWorld(t)
	b.Fail("deregister", errors.New("connection reset"))
	if _, err := h.Handle(context.Background(), contract.DeployInput{Action: contract.DeployDetach, DeploymentID: "d1", Environment: "staging", InstanceIDs: []string{"i-1"}}); err == nil {
		t.Fatal("detach with a failing deregister succeeded")
	}
	steps, _ := h.Ledger.Steps(context.Background(), "d1")
	if len(steps) != 1 {
		t.Fatalf("steps = %+v; want the detach step", steps)
	}
	var rec DetachRecord
	if err := json.Unmarshal(steps[0].Detail, &rec); err != nil || strings.Join(rec.Detached["web"], ",") != "i-1" || strings.Join(rec.Detached["api"], ",") != "i-1" {
		t.Errorf("detach step detail = %s (%v); want i-1 in web and api", steps[0].Detail, err)
	}
}

// TestPutBackWhatAClosedDeploymentLeftOut: what closing an unfinished
// deployment left out of a target group (not healthy on a release that
// served then) is found by the next deployment (leftOut), counted as
// coming back with its wave by the capacity floor, and recorded by its
// wave's detach, so that attach registers it once healthy.
func TestPutBackWhatAClosedDeploymentLeftOut(t *testing.T) {
	ctx := context.Background()
	h, b, now := inplaceWorld(t)
	led := h.Ledger.(*ledgersqlite.Store)
	b.AddGroup("web", traffictest.Group{}, "i-1", "i-2") // i-3 out
	for _, d := range []ledger.Deployment{
		{ID: "d1", App: "demo", Environment: "staging", Kind: contract.KindDeploy, Version: "v1", Status: contract.StatusSucceeded, StartedAt: *now, FinishedAt: *now, SchemaBefore: -1, SchemaAfter: -1},
		{ID: "d2", App: "demo", Environment: "staging", Kind: contract.KindDeploy, Version: "v2", PreviousVersion: "v1", Status: contract.StatusAbandoned, StartedAt: now.Add(time.Minute), FinishedAt: now.Add(2 * time.Minute), SchemaBefore: -1, SchemaAfter: -1},
	} {
		if err := led.PutDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	h.Step(ctx, "d2", "rollout", StepFailed, "closed", Reattached{Groups: map[string][]string{"web": {"i-2"}}, LeftOut: map[string]string{"i-3": "unhealthy"},
		LeftOutGroups: map[string][]string{"web": {"i-3"}, "other": {"i-3"}}})
	ds, _ := led.ListDeployments(ctx, "demo", "staging", 10)
	pb, err := h.leftOut(ctx, ds, []string{"web", "api"})
	if err != nil || !cmp.Equal(pb, map[string][]string{"web": {"i-3"}}) {
		t.Fatalf("leftOut = %v, %v; want i-3 for web (other is not the environment's)", pb, err)
	}
	// Two of three in service: with i-3 first, back after wave 1, the
	// floor (66% of 3) holds while i-1, then i-2, is out.
	if err := capacityFloor(ctx, h.Deps, []string{"web"}, [][]string{{"i-3"}, {"i-1"}, {"i-2"}}, manifest.DefaultMinHealthy, pb); err != nil {
		t.Errorf("capacityFloor with i-3 put back first = %v, want it admitted", err)
	}
	if err := capacityFloor(ctx, h.Deps, []string{"web"}, [][]string{{"i-1"}, {"i-2"}, {"i-3"}}, manifest.DefaultMinHealthy, pb); err == nil {
		t.Error("capacityFloor with i-3 put back last admitted a wave that leaves 1 of 3 serving")
	}
	out := run(t, h, contract.DeployInput{Action: contract.DeployDetach, DeploymentID: "d3", Environment: "staging", InstanceIDs: []string{"i-3"}, PutBack: pb})
	if out.Traffic == nil || !cmp.Equal(out.Traffic.Groups["web"], []string{"i-3"}) {
		t.Fatalf("detach of i-3 = %+v; want it recorded for web, so that attach registers it", out.Traffic)
	}
	// Once a deployment put it back, nothing is left out.
	b.SetState("web", "i-3", traffic.StateHealthy)
	if pb, err := h.leftOut(ctx, ds, []string{"web"}); err != nil || len(pb) != 0 {
		t.Errorf("leftOut once i-3 is back = %v, %v; want none", pb, err)
	}
}

// TestRecordWritesWhatAFailedRollbackWaveLeftOut: a rollback wave that
// failed between its detach and its return to service leaves its
// instances out of the target groups. Record judges it ROLLBACK_FAILED
// (every host may be back on the release, but not every one serves) and
// writes them down, so that the next deployment puts them back first.
func TestRecordWritesWhatAFailedRollbackWaveLeftOut(t *testing.T) {
	ctx := context.Background()
	h, b, now := inplaceWorld(t)
	led := h.Ledger.(*ledgersqlite.Store)
	b.AddGroup("web", traffictest.Group{}, "i-1", "i-2") // i-3 out
	if err := led.PutDeployment(ctx, ledger.Deployment{ID: "d2", App: "demo", Environment: "staging", Kind: contract.KindDeploy, Version: "v2", PreviousVersion: "v1",
		Status: contract.StatusRunning, StartedAt: *now, SchemaBefore: -1, SchemaAfter: -1}); err != nil {
		t.Fatal(err)
	}
	on := &contract.Observation{Status: "Success", Fleet: &contract.FleetObservation{Total: 3, Versions: map[string]int{"v1": 3}, Uniform: "v1", Healthy: 3},
		Schema: &contract.SchemaObservation{Known: true, Dirty: []int64{}}}
	st := contract.State{DeploymentID: "d2", Kind: contract.KindDeploy, Observation: on,
		Preflight: &contract.PreflightOutput{App: "demo", Environment: "staging", Version: "v2", PreviousVersion: "v1"},
		Error:     &contract.StateError{Error: "HealthCheckFailed", Cause: "wave 2: 500"},
		Traffic:   &contract.TrafficState{Groups: map[string][]string{"web": {"i-3"}}}, RollbackLeftOut: true,
		RollbackError: &contract.StateError{Error: "DeployFailed", Cause: "rollback wave 2: hook before_traffic of v1 failed on 1 of 1 instances: i-3 exit 11"}}
	out, err := (&Record{Deps: h.Deps}).Handle(ctx, st)
	if err != nil || out.Status != contract.StatusRollbackFailed || !strings.Contains(out.Summary, "i-3 is out of the target groups") {
		t.Fatalf("Record = %s (%s), %v; want ROLLBACK_FAILED naming i-3 out of the target groups", out.Status, out.Summary, err)
	}
	ds, _ := led.ListDeployments(ctx, "demo", "staging", 10)
	pb, err := h.leftOut(ctx, ds, []string{"web"})
	if err != nil || !cmp.Equal(pb, map[string][]string{"web": {"i-3"}}) {
		t.Fatalf("leftOut = %v, %v; want i-3 for web, for the next deployment to put back", pb, err)
	}
}
