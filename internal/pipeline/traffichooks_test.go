package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
)

// TestTrafficHooks: the hook action sends the host script's hook action
// for one traffic hook of the release to the instances where traffic is
// switched; hook-poll records each instance's output under the hook's
// name (slipway logs --hook shows it) and fails with DeployFailed, naming
// the hook and where, when it failed anywhere.
func TestTrafficHooks(t *testing.T) {
	inv := func(id, status string, exit int, output string) fleet.Invocation {
		return fleet.Invocation{InstanceID: id, Status: status, ExitCode: exit, Output: output}
	}
	tests := []struct {
		name      string
		in        contract.DeployInput
		results   []fleet.Invocation
		wantErr   string
		wantStep  string
		wantWhere string
	}{
		{name: "blue/green before_traffic passes", in: contract.DeployInput{Hook: "before_traffic", Where: "the green side, before any traffic"},
			results:  []fleet.Invocation{inv("c", "Success", 0, "hook before_traffic: warm\n"), inv("d", "Success", 0, "")},
			wantStep: "the green side, before any traffic: hook before_traffic of v2 passed on 2 instances"},
		{name: "in-place after_traffic fails on one instance", in: contract.DeployInput{Hook: "after_traffic", Wave: 1},
			results: []fleet.Invocation{inv("c", "Success", 0, ""), inv("d", "Failed", fleet.ExitHook,
				"hook after_traffic: cdn refused\n00:00:01 slipway-host.sh: error: hook after_traffic of v2 failed (exit 3)\n{\"action\":\"hook\"}")},
			wantErr:  "DeployFailed",
			wantStep: "wave 2: hook after_traffic of v2 failed on 1 of 2 instances: d: a lifecycle hook failed (hook after_traffic of v2 failed (exit 3))"},
		{name: "a rollback wave", in: contract.DeployInput{Hook: "before_traffic", Where: "rollback", Wave: 0},
			results:  []fleet.Invocation{inv("c", "Success", 0, ""), inv("d", "Success", 0, "")},
			wantStep: "rollback of wave 1: hook before_traffic of v2 passed on 2 instances"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &pipelinetest.Fleet{}
			d, led := deps(t, f)
			h := &pipeline.Deploy{Deps: d}
			in := tt.in
			in.DeploymentID, in.App, in.Environment, in.Version, in.InstanceIDs = "dep-1", "demo", "staging", "v2", []string{"c", "d"}
			in.Action = contract.DeployHook
			out, err := h.Handle(context.Background(), in)
			if err != nil || out.Status != contract.CommandInProgress || out.CommandID != "cmd-1" {
				t.Fatalf("hook = %+v, %v; want cmd-1 in progress", out, err)
			}
			want := fleet.Command{DeploymentID: "dep-1", Action: fleet.ActionHook, Hook: tt.in.Hook, Version: "v2", InstanceIDs: []string{"c", "d"}}
			if diff := cmp.Diff([]fleet.Command{want}, f.Sent()); diff != "" {
				t.Errorf("commands sent (-want +got):\n%s", diff)
			}
			in.Action, in.CommandID = contract.DeployHookPoll, out.CommandID
			if out, err = h.Handle(context.Background(), in); err != nil || out.Status != contract.CommandInProgress {
				t.Fatalf("hook-poll before any result = %+v, %v; want in progress", out, err)
			}
			f.Results = map[string]fleet.CommandResult{"cmd-1": {CommandID: "cmd-1", Status: fleet.Aggregate(tt.results), Invocations: tt.results}}
			_, err = h.Handle(context.Background(), in)
			if got := errorName(err); got != tt.wantErr {
				t.Fatalf("hook-poll error = %v (%s), want %q", err, got, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantStep) {
				t.Errorf("hook-poll error = %q, want it to say %q", err, tt.wantStep)
			}
			steps, _ := led.Steps(context.Background(), "dep-1")
			if len(steps) == 0 || steps[len(steps)-1].Message != tt.wantStep {
				t.Errorf("last step = %+v, want %q", steps, tt.wantStep)
			}
			results, _ := led.InstanceResults(context.Background(), "dep-1")
			for _, r := range results {
				if r.Action != tt.in.Hook || r.CommandID != "cmd-1" || r.Status == fleet.StatusPending {
					t.Errorf("command log entry %+v, want action %s, final", r, tt.in.Hook)
				}
			}
			if len(results) != 2 {
				t.Errorf("command log has %d entries, want 2", len(results))
			}
		})
	}
}
