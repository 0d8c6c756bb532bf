package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/ledger"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
)

var (
	_ pipeline.Fleet  = (*pipelinetest.Fleet)(nil)
	_ pipeline.Prober = (*pipelinetest.Prober)(nil)
	_ pipeline.Alarms = (*pipelinetest.Alarms)(nil)
	_ pipeline.Ledger = (*ledgersqlite.Store)(nil)
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func deps(t *testing.T, f *pipelinetest.Fleet) (*pipeline.Deps, *ledgersqlite.Store) {
	t.Helper()
	led := pipelinetest.Ledger(t)
	return &pipeline.Deps{Config: &config.Config{App: "demo", Environments: map[string]config.Environment{"staging": {}}},
		Ledger: led, Fleet: f, Now: func() time.Time { return t0 }}, led
}

// TestDeployPollTally: CheckWave counts a command's per-instance results
// (no error budget: one failure fails the wave), records each in the
// ledger, and names the error the state machine routes on.
func TestDeployPollTally(t *testing.T) {
	inv := func(id, status string, exit int, output string) fleet.Invocation {
		return fleet.Invocation{InstanceID: id, Status: status, ExitCode: exit, Output: output}
	}
	tests := []struct {
		name       string
		res        fleet.CommandResult
		want       contract.DeployOutput
		wantErr    string // the error's type, as the state machine sees it
		wantInMsg  []string
		wantLedger map[string]string // instance -> recorded status
	}{
		{
			name:       "every instance succeeded",
			res:        fleet.CommandResult{Status: "Success", Invocations: []fleet.Invocation{inv("a", "Success", 0, ""), inv("b", "Success", 0, ""), inv("c", "Success", 0, "")}},
			want:       contract.DeployOutput{CommandID: "cmd-1", Status: contract.CommandSuccess, Total: 3, Succeeded: 3},
			wantLedger: map[string]string{"a": "Success", "b": "Success", "c": "Success"},
		},
		{
			name:       "still running: unreported and in-progress instances are pending",
			res:        fleet.CommandResult{Status: "InProgress", Invocations: []fleet.Invocation{inv("a", "Success", 0, ""), inv("b", "InProgress", -1, "")}},
			want:       contract.DeployOutput{CommandID: "cmd-1", Status: contract.CommandInProgress, Total: 3, Succeeded: 1, Pending: 2},
			wantLedger: map[string]string{"a": "Success", "b": "InProgress"},
		},
		{
			name: "a failure among successes fails the wave",
			res: fleet.CommandResult{Status: "Failed", Invocations: []fleet.Invocation{inv("a", "Success", 0, ""), inv("b", "Failed", 5, "12:00:00 slipway-host.sh: error: unit demo-app failed"),
				inv("c", "Success", 0, "")}},
			want:       contract.DeployOutput{CommandID: "cmd-1", Status: "Failed", Total: 3, Succeeded: 2, Failed: 1},
			wantErr:    "DeployFailed",
			wantInMsg:  []string{"wave 1: v2 failed on 1 of 3 instances", "b: restart failed (unit demo-app failed)"},
			wantLedger: map[string]string{"a": "Success", "b": "Failed", "c": "Success"},
		},
		{
			name:       "an instance the final command never reached is a failure",
			res:        fleet.CommandResult{Status: "Failed", Invocations: []fleet.Invocation{inv("a", "Success", 0, ""), inv("b", "Success", 0, "")}},
			want:       contract.DeployOutput{CommandID: "cmd-1", Status: "Failed", Total: 3, Succeeded: 2, Failed: 1},
			wantErr:    "DeployFailed",
			wantInMsg:  []string{"c: Undeliverable (the command never reached this instance)"},
			wantLedger: map[string]string{"a": "Success", "b": "Success", "c": "Undeliverable"},
		},
		{
			name:       "a local health check failure is HealthCheckFailed",
			res:        fleet.CommandResult{Status: "Failed", Invocations: []fleet.Invocation{inv("a", "Failed", 6, "health check failed: answered 503"), inv("b", "TimedOut", -1, ""), inv("c", "Success", 0, "")}},
			want:       contract.DeployOutput{CommandID: "cmd-1", Status: "Failed", Total: 3, Succeeded: 1, Failed: 2},
			wantErr:    "HealthCheckFailed",
			wantInMsg:  []string{"a: failed its local health check (answered 503)", "b: TimedOut"},
			wantLedger: map[string]string{"a": "Failed", "b": "TimedOut", "c": "Success"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &pipelinetest.Fleet{}
			tt.res.CommandID = "cmd-1"
			f.Results = map[string]fleet.CommandResult{"cmd-1": tt.res}
			d, led := deps(t, f)
			h := &pipeline.Deploy{Deps: d}
			got, err := h.Handle(context.Background(), contract.DeployInput{Action: contract.DeployPoll, DeploymentID: "dep-1", App: "demo", Environment: "staging",
				Version: "v2", Wave: 0, InstanceIDs: []string{"a", "b", "c"}, CommandID: "cmd-1"})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckWave output (-want +got):\n%s", diff)
			}
			if name := errorName(err); name != tt.wantErr {
				t.Fatalf("CheckWave error = %v (%s), want %q", err, name, tt.wantErr)
			}
			for _, s := range tt.wantInMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("CheckWave error = %q, want it to say %q", err, s)
				}
			}
			results, err := led.InstanceResults(context.Background(), "dep-1")
			if err != nil {
				t.Fatal(err)
			}
			recorded := map[string]string{}
			for _, r := range results {
				recorded[r.InstanceID] = r.Status
			}
			if diff := cmp.Diff(tt.wantLedger, recorded); diff != "" {
				t.Errorf("ledger instance results (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProbeConsecutiveSuccesses: ProbeWave passes only after
// health.successes healthy answers in a row from every instance moved so
// far; an unhealthy answer starts the count again, and the wave fails once
// an attempt at max_attempts still finds a problem.
func TestProbeConsecutiveSuccesses(t *testing.T) {
	H, U := pipelinetest.Healthy, pipelinetest.Unhealthy
	tests := []struct {
		name      string
		successes int
		script    map[string][]pipelinetest.Answer
		alarms    map[string]string
		wave      int
		wantCalls int // handler calls until it decides
		wantErr   string
		wantInMsg string
	}{
		{name: "two healthy answers", successes: 2, wantCalls: 2},
		{name: "successes 0 means 1", successes: 0, wantCalls: 1},
		{name: "an unhealthy answer restarts the count", successes: 2, script: map[string][]pipelinetest.Answer{"b": {H, U, H, H}}, wantCalls: 4},
		{name: "never healthy", successes: 2, script: map[string][]pipelinetest.Answer{"b": {U}}, wantCalls: 4, wantErr: "HealthCheckFailed",
			wantInMsg: "wave 1: v2 not healthy on 1 instance after 4 probes: b answered 503"},
		{name: "flapping fails at the last attempt", successes: 2, script: map[string][]pipelinetest.Answer{"a": {H, U, H, U}}, wantCalls: 4, wantErr: "HealthCheckFailed"},
		{name: "healthy but an alarm fires", successes: 2, alarms: map[string]string{"demo-5xx": health.StateAlarm}, wantCalls: 2, wantErr: "AlarmFired"},
		{name: "an instance of an earlier wave stops answering", successes: 1, wave: 1, script: map[string][]pipelinetest.Answer{"a": {U}}, wantCalls: 4,
			wantErr: "HealthCheckFailed", wantInMsg: "a (moved in wave 1, healthy then) answered 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &pipelinetest.Fleet{ByEnv: map[string][]fleet.Instance{"staging": {{ID: "a", Address: "127.0.0.1:1"}, {ID: "b", Address: "127.0.0.1:2"}, {ID: "c", Address: "127.0.0.1:3"}}}}
			d, _ := deps(t, f)
			d.Prober = &pipelinetest.Prober{Script: tt.script}
			d.Alarms = &pipelinetest.Alarms{State: tt.alarms}
			h := &pipeline.Health{Deps: d}
			waves := [][]string{{"a"}, {"b", "c"}}
			in := contract.HealthInput{Action: contract.HealthProbe, DeploymentID: "dep-1", App: "demo", Environment: "staging", Alarms: []string{"demo-5xx"},
				Wave: tt.wave, InstanceIDs: waves[tt.wave], Waves: waves, ExpectedVersion: "v2",
				Health: contract.HealthSpec{Path: "/healthz", ExpectStatus: 200, Successes: tt.successes, MaxAttempts: 4}}
			if tt.wave == 0 {
				in.InstanceIDs = []string{"a", "b"}
			}
			var out contract.HealthOutput
			var err error
			calls := 0
			for calls < 10 {
				calls++
				out, err = h.Handle(context.Background(), in)
				if err != nil || out.Status == contract.ProbeHealthy {
					break
				}
				in.Previous = &out
			}
			if calls != tt.wantCalls {
				t.Errorf("decided after %d calls, want %d (last output %+v, error %v)", calls, tt.wantCalls, out, err)
			}
			if name := errorName(err); name != tt.wantErr {
				t.Fatalf("ProbeWave error = %v (%s), want %q", err, name, tt.wantErr)
			}
			if tt.wantErr == "" && out.Consecutive != max(tt.successes, 1) {
				t.Errorf("ProbeWave passed with %d consecutive successes, want %d", out.Consecutive, max(tt.successes, 1))
			}
			if tt.wantInMsg != "" && !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("ProbeWave error = %q, want it to say %q", err, tt.wantInMsg)
			}
		})
	}
}

// TestLockSupersede: a push-triggered deployment steps aside, before it
// takes the lease, when a newer push for the environment is queued; other
// triggers, and the queued push itself, take the lease.
func TestLockSupersede(t *testing.T) {
	tests := []struct {
		name     string
		source   string
		pending  string // the queued push's version, "" for none
		wantHeld bool
		wantBy   string
	}{
		{name: "a newer push is queued", source: "push", pending: "v3", wantBy: "v3"},
		{name: "this is the queued push", source: "push", pending: "v2", wantHeld: true},
		{name: "nothing queued", source: "push", wantHeld: true},
		{name: "a person's deployment does not step aside", source: "cli", pending: "v3", wantHeld: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, led := deps(t, &pipelinetest.Fleet{})
			ctx := context.Background()
			if tt.pending != "" {
				if err := led.SetPending(ctx, ledger.Pending{App: "demo", Environment: "staging", Version: tt.pending, Trigger: contract.Trigger{Source: "push"}, At: t0}); err != nil {
					t.Fatal(err)
				}
			}
			h := &pipeline.Lock{Deps: d}
			out, err := h.Handle(ctx, contract.LockInput{Action: "acquire", App: "demo", Environment: "staging", Owner: "exec-1", DeploymentID: "dep-1",
				Version: "v2", Trigger: contract.Trigger{Source: tt.source}})
			var sup *contract.Superseded
			if tt.wantBy != "" {
				if !errors.As(err, &sup) || sup.By != tt.wantBy {
					t.Fatalf("AcquireLock = %+v, %v; want Superseded by %s", out, err, tt.wantBy)
				}
			} else if err != nil {
				t.Fatalf("AcquireLock error = %v", err)
			}
			if out.Held != tt.wantHeld {
				t.Errorf("AcquireLock held = %t, want %t", out.Held, tt.wantHeld)
			}
			locks, err := led.Locks(ctx, "demo", "staging")
			if err != nil {
				t.Fatal(err)
			}
			if held := len(locks) == 1 && locks[0].DeploymentID == "dep-1"; held != tt.wantHeld {
				t.Errorf("ledger locks = %+v, want dep-1's lease %t", locks, tt.wantHeld)
			}
		})
	}
}

// errorName is the name Step Functions routes on: the error's Go type
// name, "" for nil.
func errorName(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", err), "*contract.")
}
