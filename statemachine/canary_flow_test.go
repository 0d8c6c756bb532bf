package statemachine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/canary"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/statemachine"
)

func (s *stubs) canarySpec() *contract.CanarySpec {
	if !s.canary {
		return nil
	}
	return &contract.CanarySpec{BakeSeconds: 20, IntervalSeconds: 10, Samples: 2, Confidence: 0.99, MinRequests: 50, Source: "stub"}
}

// canaryStep answers StartCanary (no cursor yet) and CheckCanary, done
// after the spec's samples; it checks that the first wave is the canary
// and the waves after it the baseline.
func (s *stubs) canaryStep(in contract.HealthInput) (contract.HealthOutput, error) {
	if in.Canary == nil || in.Wave != 0 || !slices.Equal(in.Waves[0], []string{"a"}) {
		return contract.HealthOutput{}, fmt.Errorf("canary analysis of wave %d of %v with spec %+v, want the first wave of the plan", in.Wave, in.Waves, in.Canary)
	}
	if in.Previous == nil || in.Previous.Canary == nil {
		return contract.HealthOutput{Wave: 0, Status: "PENDING", Canary: &contract.CanaryCursor{StartedAt: "2026-01-01T00:00:00Z", Canary: in.Waves[0], Baseline: []string{"b", "c"}, Samples: []canary.Sample{}}}, s.err("StartCanary")
	}
	cur := *in.Previous.Canary
	cur.Samples = append(cur.Samples, canary.Sample{})
	done := len(cur.Samples) >= in.Canary.Samples
	st := "PENDING"
	if done {
		st = "HEALTHY"
	}
	return contract.HealthOutput{Wave: 0, Status: st, Done: done, Canary: &cur}, s.err("CheckCanary")
}

// TestDeployFlowCanary: with a canary analysis, the first wave, once
// deployed, healthy and back in service, is sampled over its bake before
// the second wave starts; a canary found worse rolls the deployment back,
// and only the canary wave had moved.
func TestDeployFlowCanary(t *testing.T) {
	sm, err := asl.Parse(mustSubstitute(t, statemachine.Deploy))
	if err != nil {
		t.Fatal(err)
	}
	start := []string{"Preflight", "AcquireLock", "Resolve", "SendHostCheck", "CheckHosts", "Snapshot", "CheckSnapshot", "CheckSnapshot", "Migrate"}
	wave := []string{"DeployWave", "CheckWave", "CheckWave", "ProbeWave", "ProbeWave"}
	inWave := []string{"DetachWave", "CheckDrained", "CheckDrained", "DeployWave", "CheckWave", "CheckWave", "ProbeWave", "ProbeWave", "AttachWave", "CheckInService", "CheckInService"}
	analysis := []string{"StartCanary", "CheckCanary", "CheckCanary"}
	end := []string{"CheckDrift", "CheckAlarms", "CheckAlarms", "ObserveFleet", "CheckObservation", "ObserveSchema", "Record", "ReleaseLock"}
	observe := []string{"ObserveFleet", "CheckObservation", "ObserveSchema", "Record", "ReleaseLock"}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	rbWave := []string{"RollbackWaveDetach", "RollbackWaveCheckDrained", "RollbackWaveCheckDrained", "RollbackWave", "RollbackWaveCheck", "RollbackWaveProbe", "RollbackWaveAttach", "RollbackWaveCheckInService", "RollbackWaveCheckInService"}
	tests := []struct {
		name       string
		traffic    bool
		fail       map[string]error
		wantTasks  []string
		wantStatus string
		wantError  string
	}{
		{name: "behind a load balancer: the canary is analysed once back in service", traffic: true,
			wantTasks: join(start, inWave, analysis, inWave, end), wantStatus: "SUCCEEDED"},
		{name: "without one: once healthy", wantTasks: join(start, wave, analysis, wave, end), wantStatus: "SUCCEEDED"},
		{name: "a canary worse than the baseline rolls back the canary wave", traffic: true,
			fail:      map[string]error{"CheckCanary": &contract.CanaryFailed{Message: "error rate 20% vs 1%"}},
			wantTasks: join(start, inWave, analysis[:2], []string{"Rollback"}, rbWave, []string{"RevertSchema"}, observe), wantStatus: "FAILED", wantError: "CanaryFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stubs{fail: tt.fail, calls: map[string]int{}, failOnce: map[string]error{}, traffic: tt.traffic, canary: true}
			in, _ := json.Marshal(contract.DeployRequest{App: "demo", Environment: "staging", Version: "v2"})
			exec, err := asl.Run(context.Background(), sm, in, asl.Options{Resolver: s.handlers(), Clock: asl.NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
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
		})
	}
}
