package backend

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// TestTrackerWaves follows a rollout's host commands through the ledger:
// the waves Preflight planned, then each command's instances as they end,
// one event per change, and the rollback's command under its own stage.
func TestTrackerWaves(t *testing.T) {
	var got []WaveProgress
	var stages []string
	tr := newTracker(func(e Event) {
		if e.Kind == EventWave {
			got = append(got, *e.Wave)
			stages = append(stages, e.Stage)
		}
	})
	at := time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)
	detail, _ := json.Marshal(contract.PreflightDetail{Waves: [][]string{{"i-1"}, {"i-2", "i-3"}}})
	tr.steps([]ledger.Step{{Stage: contract.StagePreflight, Status: contract.StepOK, Message: "deploy v2", Detail: detail, At: at}})
	tr.state("TaskStateEntered", "DeployWave", at)
	if !tr.wantsResults() {
		t.Fatal("wantsResults() = false during the rollout")
	}
	res := func(cmd string, wave int, action string, statuses ...string) []ledger.InstanceResult {
		var out []ledger.InstanceResult
		for i, s := range statuses {
			out = append(out, ledger.InstanceResult{CommandID: cmd, Wave: wave, InstanceID: string(rune('a' + i)), Action: action, Status: s})
		}
		return out
	}
	status := res("c0", -1, "status", "Success", "Success", "Success") // the host check: not a wave
	w1 := res("c1", 0, "activate", "Success")
	tr.results(append(status, res("c1", 0, "activate", "Pending")...))
	tr.results(append(status, w1...))
	tr.results(append(status, w1...)) // nothing moved: no event
	tr.results(append(append(status, w1...), res("c2", 1, "activate", "Success", "InProgress")...))
	tr.results(append(append(status, w1...), res("c2", 1, "activate", "Success", "Failed")...))
	tr.results(append(append(append(status, w1...), res("c2", 1, "activate", "Success", "Failed")...), res("c3", -1, "rollback", "Success", "Success", "Pending")...))
	want := []WaveProgress{
		{Action: "activate", Wave: 1, Waves: 2, Instances: 1},
		{Action: "activate", Wave: 1, Waves: 2, Instances: 1, Done: 1},
		{Action: "activate", Wave: 2, Waves: 2, Instances: 2, Done: 1},
		{Action: "activate", Wave: 2, Waves: 2, Instances: 2, Done: 2, Failed: 1},
		{Action: "rollback", Wave: 0, Waves: 2, Instances: 3, Done: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wave events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"rollout", "rollout", "rollout", "rollout", "rollback"}, stages); diff != "" {
		t.Errorf("wave events' stages (-want +got):\n%s", diff)
	}
	tr.state("TaskStateEntered", "CheckAlarms", at)
	if tr.wantsResults() {
		t.Error("wantsResults() = true during the bake")
	}
}
