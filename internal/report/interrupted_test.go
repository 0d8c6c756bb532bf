package report

import (
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// TestStoppedDeploymentShowsTheInterruptedStage is finding 13 of issue 10:
// the report of a deployment stopped during a wave must not show that
// rollout "ok".
func TestStoppedDeploymentShowsTheInterruptedStage(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	step := func(stage, status, msg string, s int) ledger.Step {
		return ledger.Step{DeploymentID: "d", Stage: stage, Status: status, Message: msg, At: t0.Add(time.Duration(s) * time.Second)}
	}
	steps := []ledger.Step{
		step("preflight", "ok", "deploy v2 to staging", 1),
		step("lock", "ok", "lease taken", 2),
		step("rollout", "info", "wave 1: activating v2 on staging-1", 3),
		step("rollout", "ok", "wave 1: v2 active on 1/1 instances", 4),
		step("rollout", "info", "wave 2: activating v2 on staging-2, staging-3", 5),
		step("observe", "info", "the fleet is not uniformly on one release", 6),
	}
	for _, tt := range []struct {
		status, want string
	}{
		{contract.StatusStopped, StatusInterrupted},
		{contract.StatusAbandoned, StatusInterrupted},
		{contract.StatusSucceeded, StatusOK},
	} {
		t.Run(tt.status, func(t *testing.T) {
			d := ledger.Deployment{ID: "d", App: "demo", Environment: "staging", Version: "v2", PreviousVersion: "v1", Kind: contract.KindDeploy,
				Status: tt.status, StartedAt: t0, FinishedAt: t0.Add(time.Minute)}
			r := NewDeployment(DeploymentInput{Deployment: d, Steps: steps, Now: t0.Add(time.Minute)})
			for _, s := range r.Steps {
				if s.Stage == "rollout" && s.Status != tt.want {
					t.Errorf("rollout of a %s deployment = %s, want %s", tt.status, s.Status, tt.want)
				}
				if s.Stage == "preflight" && s.Status != StatusOK {
					t.Errorf("preflight = %s, want ok", s.Status)
				}
			}
		})
	}
}
