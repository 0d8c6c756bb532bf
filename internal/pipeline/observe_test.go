package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
)

// TestDriftHandler: CheckDrift resolves the targets again after the last
// wave. An instance that joined meanwhile gets the release in one more
// wave; one that left is noted; one that joined with its agent offline, or
// instances that keep joining, fail the deployment with what to do.
func TestDriftHandler(t *testing.T) {
	on := func(ids ...string) (is []fleet.Instance) {
		for _, id := range ids {
			is = append(is, fleet.Instance{ID: id, Online: true})
		}
		return is
	}
	for _, tt := range []struct {
		name      string
		now       []fleet.Instance
		rounds    int // drift checks already made
		wantWaves [][]string
		wantErr   string
		wantStep  []string
	}{
		{name: "the same instances", now: on("a", "b", "c"), wantWaves: [][]string{{"a"}, {"b", "c"}},
			wantStep: []string{"targets resolved again: the same 3 instances"}},
		{name: "one joined", now: on("a", "b", "c", "d"), wantWaves: [][]string{{"a"}, {"b", "c"}, {"d"}},
			wantStep: []string{"instances joined during the deployment: d; they get v2 in wave 3"}},
		{name: "one left", now: on("a", "c"), wantWaves: [][]string{{"a"}, {"b", "c"}},
			wantStep: []string{"instances left during the deployment: b", "targets resolved again: the same 2 instances"}},
		{name: "one joined offline", now: append(on("a", "b", "c"), fleet.Instance{ID: "d"}), wantErr: "DeployFailed",
			wantStep: []string{"instances joined during the deployment but their agent is not Online, so they would stay on the old version: d"}},
		{name: "they keep joining", now: on("a", "b", "c", "e"), rounds: 3, wantErr: "DeployFailed",
			wantStep: []string{"instances keep joining during the deployment (3 checks): e; pause scaling and deploy again"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, led := deps(t, &pipelinetest.Fleet{ByEnv: map[string][]fleet.Instance{"staging": tt.now}})
			plan := &contract.RolloutPlan{Waves: [][]string{{"a"}, {"b", "c"}}, WaveCount: 2, DriftRounds: tt.rounds}
			out, err := (&pipeline.Deploy{Deps: d}).Handle(context.Background(), contract.DeployInput{Action: contract.DeployDrift,
				DeploymentID: "dep-1", App: "demo", Environment: "staging", Version: "v2", Plan: plan})
			if name := errorName(err); name != tt.wantErr {
				t.Fatalf("Handle = %+v, %v; want error %q", out, err, tt.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tt.wantWaves, out.Plan.Waves); diff != "" || out.Plan.WaveCount != len(tt.wantWaves) || out.Plan.DriftRounds != tt.rounds+1 {
					t.Errorf("plan: waves (-want +got) %s, count %d, rounds %d", diff, out.Plan.WaveCount, out.Plan.DriftRounds)
				}
			}
			steps, _ := led.Steps(context.Background(), "dep-1")
			var got []string
			for _, s := range steps {
				got = append(got, s.Message)
			}
			if diff := cmp.Diff(tt.wantStep, got); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
	// Without a plan in its input it says so rather than guess.
	d, _ := deps(t, &pipelinetest.Fleet{})
	if _, err := (&pipeline.Deploy{Deps: d}).Handle(context.Background(), contract.DeployInput{Action: contract.DeployDrift, Environment: "staging"}); err == nil || !strings.Contains(err.Error(), "no plan") {
		t.Errorf("drift without a plan = %v", err)
	}
}

// TestObserveHandler: ObserveFleet and CheckObservation decide a final
// status from what the hosts answer: uniform only when every target is on
// one release, healthy, answering with it, with one configuration.
func TestObserveHandler(t *testing.T) {
	status := func(current, serving string, healthy bool, health, config string) string {
		return fmt.Sprintf("log line\n{\"action\":\"status\",\"current\":%q,\"serving\":%q,\"healthy\":%v,\"health\":%q,\"config\":%q}", current, serving, healthy, health, config)
	}
	ok := func(id, out string) fleet.Invocation {
		return fleet.Invocation{InstanceID: id, Status: fleet.StatusSuccess, Output: out}
	}
	for _, tt := range []struct {
		name        string
		instances   []fleet.Instance
		invocations []fleet.Invocation
		uniform     string
		problem     string
		healthy     int
		unreachable int
	}{
		{name: "uniform", invocations: []fleet.Invocation{ok("a", status("v2", "v2", true, "", "")), ok("b", status("v2", "v2", true, "", ""))},
			uniform: "v2", healthy: 2},
		{name: "mixed releases", invocations: []fleet.Invocation{ok("a", status("v2", "v2", true, "", "")), ok("b", status("v1", "v1", true, "", ""))},
			healthy: 2, problem: "the fleet is not uniformly on one release, healthy: b on v1; a on v2"},
		{name: "on the release but unhealthy", invocations: []fleet.Invocation{ok("a", status("v2", "v2", true, "", "")), ok("b", status("v2", "", false, "connection refused", ""))},
			healthy: 1, problem: "b: on v2, not healthy: connection refused"},
		{name: "answers with another version", invocations: []fleet.Invocation{ok("a", status("v2", "v2", true, "", "")), ok("b", status("v2", "v1", true, "", ""))},
			healthy: 1, problem: `b: on v2, answers "v1"`},
		{name: "two configurations", invocations: []fleet.Invocation{ok("a", status("v2", "v2", true, "", "hmac-sha256:aa")), ok("b", status("v2", "v2", true, "", "hmac-sha256:bb"))},
			healthy: 2, problem: "configurations: "},
		{name: "the script failed", invocations: []fleet.Invocation{ok("a", status("v2", "v2", true, "", "")), {InstanceID: "b", Status: fleet.StatusFailed, ExitCode: 1}},
			healthy: 1, unreachable: 1, problem: "b: did not answer (Failed)"},
		{name: "an agent offline", instances: []fleet.Instance{{ID: "c"}}, invocations: []fleet.Invocation{ok("a", status("v2", "v2", true, "", "")), ok("b", status("v2", "v2", true, "", ""))},
			healthy: 2, unreachable: 1, problem: "c: not reachable through its agent (not Online)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			insts := append([]fleet.Instance{{ID: "a", Online: true}, {ID: "b", Online: true}}, tt.instances...)
			f := &pipelinetest.Fleet{ByEnv: map[string][]fleet.Instance{"staging": insts}, Results: map[string]fleet.CommandResult{}}
			d, led := deps(t, f)
			h := &pipeline.Deploy{Deps: d}
			ctx := context.Background()
			out, err := h.Handle(ctx, contract.DeployInput{Action: contract.DeployObserve, DeploymentID: "dep-1", App: "demo", Environment: "staging"})
			if err != nil || out.Status != contract.CommandInProgress || out.CommandID == "" || out.Pending != 2 {
				t.Fatalf("observe = %+v, %v; want a status command sent to the 2 online instances", out, err)
			}
			if sent := f.Sent(); len(sent) != 1 || sent[0].Action != fleet.ActionStatus {
				t.Fatalf("sent %+v; want one status command", sent)
			}
			// Still running: the poll waits.
			f.Results[out.CommandID] = fleet.CommandResult{CommandID: out.CommandID, Status: fleet.StatusInProgress, Invocations: []fleet.Invocation{{InstanceID: "a", Status: fleet.StatusInProgress}}}
			in := contract.DeployInput{Action: contract.DeployObservePoll, DeploymentID: "dep-1", Environment: "staging", CommandID: out.CommandID, Unreachable: out.Unreachable}
			if p, err := h.Handle(ctx, in); err != nil || p.Status != contract.CommandInProgress || p.Fleet != nil {
				t.Fatalf("poll while running = %+v, %v; want still in progress", p, err)
			}
			f.Results[out.CommandID] = fleet.CommandResult{CommandID: out.CommandID, Status: fleet.StatusSuccess, Invocations: tt.invocations}
			p, err := h.Handle(ctx, in)
			if err != nil || p.Status != contract.CommandSuccess || p.Fleet == nil {
				t.Fatalf("poll = %+v, %v; want the observation", p, err)
			}
			obs := p.Fleet
			if obs.Uniform != tt.uniform || obs.Healthy != tt.healthy || obs.Unreachable != tt.unreachable || obs.Total != len(insts) {
				t.Errorf("observation = %+v; want uniform %q, %d healthy, %d unreachable of %d", obs, tt.uniform, tt.healthy, tt.unreachable, len(insts))
			}
			if !strings.Contains(obs.Problem, tt.problem) || (tt.problem == "") != (obs.Problem == "") {
				t.Errorf("problem = %q; want it to say %q", obs.Problem, tt.problem)
			}
			// The ledger keeps the observation as a step and one result per instance.
			steps, _ := led.Steps(ctx, "dep-1")
			if len(steps) != 1 || steps[0].Stage != contract.StageObserve {
				t.Errorf("steps = %+v; want the observation", steps)
			}
			res, _ := led.InstanceResults(ctx, "dep-1")
			if len(res) != len(insts) {
				t.Errorf("%d instance results; want one per target (%d)", len(res), len(insts))
			}
		})
	}
}
