package pipeline

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
)

// switchFleet runs every rollback command at once: each instance reports
// it switched, except those already on the release.
type switchFleet struct {
	fleetFake
	already []string
	last    fleet.Command
}

func (f *switchFleet) Send(_ context.Context, _ string, cmd fleet.Command) (string, error) {
	f.last = cmd
	return "cmd-" + strings.Join(cmd.InstanceIDs, "-"), nil
}

func (f *switchFleet) Status(_ context.Context, id string) (fleet.CommandResult, error) {
	res := fleet.CommandResult{CommandID: id, Status: fleet.StatusSuccess}
	for _, i := range f.last.InstanceIDs {
		rep, _ := json.Marshal(fleet.Report{Action: "rollback", Version: f.last.Version, Current: f.last.Version, Changed: !slices.Contains(f.already, i), Restarted: true})
		res.Invocations = append(res.Invocations, fleet.Invocation{InstanceID: i, Status: fleet.StatusSuccess, Output: string(rep)})
	}
	return res, nil
}

// TestRollbackWaveByWaveCountsEveryWave: behind a load balancer a
// rollback switches back one wave at a time, each wave's output replacing
// the last; the record still counts every instance of every wave.
func TestRollbackWaveByWaveCountsEveryWave(t *testing.T) {
	led, err := ledgersqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	fl := &switchFleet{already: []string{"i-1"}}
	h := &Rollback{&Deps{Ledger: led, Fleet: fl}}
	ctx := context.Background()
	st := contract.State{Kind: contract.KindRollback, DeploymentID: "r1",
		Preflight: &contract.PreflightOutput{Environment: "staging", Version: "v1", PreviousVersion: "v2", Instances: []string{"i-1", "i-2", "i-3"}}}
	for _, wave := range [][]string{{"i-3"}, {"i-1", "i-2"}} { // the last wave first
		started, err := h.Handle(ctx, contract.RollbackInput{Action: "start", InstanceIDs: wave, State: st})
		if err != nil {
			t.Fatal(err)
		}
		st.Rollback = &started
		done, err := h.Handle(ctx, contract.RollbackInput{Action: "poll", CommandID: started.CommandID, InstanceIDs: wave, State: st})
		if err != nil || done.Status != contract.RollbackDone {
			t.Fatalf("poll of wave %v = %+v, %v", wave, done, err)
		}
		st.Rollback = &done
	}
	if r := st.Rollback; r.InstanceCount != 2 || r.TotalCount != 3 || r.TotalSwitched != 2 {
		t.Fatalf("last wave's output = %+v; want 2 in the wave, 3 in all, 2 switched", r)
	}
	deploy := contract.State{Preflight: &contract.PreflightOutput{App: "demo", Environment: "staging", Version: "v2", PreviousVersion: "v1"},
		Error: &contract.StateError{Error: "AlarmFired", Cause: "5xx"}, Rollback: st.Rollback,
		Observation: &contract.Observation{Status: "Success", Fleet: &contract.FleetObservation{Total: 3, Versions: map[string]int{"v1": 3}, Uniform: "v1", Healthy: 3},
			Schema: &contract.SchemaObservation{Known: true, Dirty: []int64{}}}}
	_, summary := (&Record{Deps: &Deps{}}).judge(deploy, true, "v2")
	if !strings.Contains(summary, "2 instances switched back to v1 (1 already on it)") {
		t.Errorf("summary = %q; want every wave counted: 2 switched back, 1 already on it", summary)
	}
}
