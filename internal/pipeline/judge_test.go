package pipeline

import (
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
)

// TestJudgeDecidesFromObservation checks the status table of the contract:
// each final status follows from what was observed, whatever path the
// execution took.
func TestJudgeDecidesFromObservation(t *testing.T) {
	pre := &contract.PreflightOutput{App: "demo", Environment: "staging", Version: "v2", PreviousVersion: "v1",
		Migrations: contract.MigrationPlan{Current: 1}}
	fleetOn := func(v string) *contract.Observation {
		return &contract.Observation{Status: "Success", Fleet: &contract.FleetObservation{Total: 3, Versions: map[string]int{v: 3}, Uniform: v, Healthy: 3},
			Schema: &contract.SchemaObservation{Known: true, Version: 1, Dirty: []int64{}}}
	}
	mixed := &contract.Observation{Status: "Success", Fleet: &contract.FleetObservation{Total: 3, Versions: map[string]int{"v1": 2, "v2": 1}, Healthy: 3,
		Problem: "the fleet is not uniformly on one release, healthy: staging-1 on v2; staging-2, staging-3 on v1"},
		Schema: &contract.SchemaObservation{Known: true, Version: 1, Dirty: []int64{}}}
	withSchema := func(o *contract.Observation, v int64, dirty ...int64) *contract.Observation {
		c := *o
		c.Schema = &contract.SchemaObservation{Known: true, Version: v, Dirty: append([]int64{}, dirty...)}
		return &c
	}
	failure := &contract.StateError{Error: "HealthCheckFailed", Cause: "wave 1: 500"}
	tests := []struct {
		name    string
		st      contract.State
		changed bool
		want    string
		says    string
	}{
		{name: "observed on the new release", st: contract.State{Preflight: pre, Observation: fleetOn("v2")}, changed: true,
			want: contract.StatusSucceeded, says: "serves v2"},
		{name: "the success path without an observation is no success", st: contract.State{Preflight: pre}, changed: true,
			want: contract.StatusStopped, says: "cannot be called a success"},
		{name: "failed, observed back on the previous release", st: contract.State{Preflight: pre, Error: failure, Observation: fleetOn("v1"),
			Rollback: &contract.RollbackOutput{InstanceCount: 3, Switched: 1, ToVersion: "v1"}}, changed: true,
			want: contract.StatusRolledBack, says: "1 instance switched back to v1 (2 already on it)"},
		{name: "failed, fleet back, schema ahead", st: contract.State{Preflight: pre, Error: failure, Observation: withSchema(fleetOn("v1"), 2, 2)},
			changed: true, want: contract.StatusRolledBackSchemaKept, says: "stopped part way"},
		{name: "the rollback reported success but the fleet is mixed", st: contract.State{Preflight: pre, Error: failure, Observation: mixed,
			Rollback: &contract.RollbackOutput{InstanceCount: 1, ToVersion: "v1"}}, changed: true,
			want: contract.StatusRollbackFailed, says: "staging-1 on v2"},
		{name: "the rollback failed and was not observed", st: contract.State{Preflight: pre, Error: failure,
			RollbackError: &contract.StateError{Error: "RollbackFailed", Cause: "host gone"}, ObserveError: &contract.StateError{Error: "DeployFailed", Cause: "SSM down"}},
			changed: true, want: contract.StatusRollbackFailed, says: "could not be observed: SSM down"},
		{name: "rolled back, then the after_traffic hook of the release back in service failed",
			st: contract.State{DeploymentID: "d-1", Preflight: pre, Error: failure, Observation: fleetOn("v1"),
				RollbackError: &contract.StateError{Error: "DeployFailed", Cause: "rollback wave 2: hook after_traffic of v1 failed on 1 of 1 instances: staging-3 exit 11"}},
			changed: true, want: contract.StatusRolledBack,
			says: "The rollback then failed: DeployFailed: rollback wave 2: hook after_traffic of v1 failed on 1 of 1 instances: staging-3 exit 11 (`slipway logs d-1 --hook after_traffic` shows its output). Observed"},
		{name: "a rollback execution back on its target, then a hook failed",
			st: contract.State{DeploymentID: "rb-1", Kind: contract.KindRollback, Preflight: &contract.PreflightOutput{Environment: "staging", Version: "v1", PreviousVersion: "v2"},
				Observation: fleetOn("v1"), RollbackError: &contract.StateError{Error: "DeployFailed", Cause: "hook after_traffic of v1 failed on 1 of 3 instances"}},
			changed: true, want: contract.StatusRolledBack, says: "serves v1 again (was v2). The rollback then failed: DeployFailed: hook after_traffic of v1 failed on 1 of 3 instances (`slipway logs rb-1 --hook after_traffic`"},
		{name: "rolled back on the hosts, but a rollback wave stayed out of the target groups",
			st: contract.State{DeploymentID: "d-1", Preflight: pre, Error: failure, Observation: fleetOn("v1"), RollbackLeftOut: true,
				Traffic:       &contract.TrafficState{Groups: map[string][]string{"tg-web": {"staging-3"}}},
				RollbackError: &contract.StateError{Error: "DeployFailed", Cause: "rollback wave 2: hook before_traffic of v1 failed on 1 of 1 instances"}},
			changed: true, want: contract.StatusRollbackFailed,
			says: "Every instance is back on v1, but staging-3 is out of the target groups (the rollback wave failed before it was back in service): the next deployment or rollback puts it back first."},
		{name: "a rollback execution whose wave stayed out",
			st: contract.State{Kind: contract.KindRollback, Preflight: &contract.PreflightOutput{Environment: "staging", Version: "v1", PreviousVersion: "v2"},
				Observation: fleetOn("v1"), RollbackLeftOut: true, Traffic: &contract.TrafficState{Groups: map[string][]string{"tg-web": {"staging-1", "staging-2"}}},
				RollbackError: &contract.StateError{Error: "DeployFailed", Cause: "register: AccessDenied"}},
			changed: true, want: contract.StatusRollbackFailed, says: "did not put every instance back in service: DeployFailed: register: AccessDenied. staging-1, staging-2 are out of the target groups"},
		{name: "failed before any change", st: contract.State{Preflight: pre, Error: failure}, changed: false,
			want: contract.StatusFailed, says: "nothing was changed"},
		{name: "a malformed request names no release", st: contract.State{Error: &contract.StateError{Error: "PreflightFailed", Cause: "missing version"}},
			want: contract.StatusFailed, says: "an unnamed release was not deployed"},
		{name: "stopped before any change", st: contract.State{Preflight: pre, Stopped: &contract.StateError{Error: StoppedError, Cause: "Ctrl-C"}, Observation: fleetOn("v1")},
			want: contract.StatusFailed, says: "stopped before it changed anything"},
		{name: "stopped mid-wave, no rollback attempted", st: contract.State{Preflight: pre, Stopped: &contract.StateError{Error: StoppedError, Cause: "Ctrl-C"}, Observation: mixed},
			changed: true, want: contract.StatusStopped, says: "slipway rollback --env staging"},
		{name: "timed out mid-wave", st: contract.State{Preflight: pre, Stopped: &contract.StateError{Error: TimedOutError, Cause: "timeout"}, Observation: mixed},
			changed: true, want: contract.StatusStopped, says: "timed out"},
		{name: "its process was killed after the canary moved", st: contract.State{Preflight: pre, Stopped: &contract.StateError{Error: AbandonedError, Cause: "gone"}, Observation: mixed},
			changed: true, want: contract.StatusAbandoned, says: "was abandoned"},
		{name: "killed, but the fleet is as it was", st: contract.State{Preflight: pre, Stopped: &contract.StateError{Error: AbandonedError, Cause: "gone"}, Observation: fleetOn("v1")},
			changed: true, want: contract.StatusFailed, says: "before it changed anything"},
		{name: "a rollback execution observed on its target", st: contract.State{Kind: contract.KindRollback, Preflight: &contract.PreflightOutput{Environment: "staging", Version: "v1", PreviousVersion: "v2"},
			Observation: fleetOn("v1")}, changed: true, want: contract.StatusRolledBack, says: "serves v1 again"},
		{name: "a rollback execution that left the fleet mixed", st: contract.State{Kind: contract.KindRollback, Preflight: &contract.PreflightOutput{Environment: "staging", Version: "v1", PreviousVersion: "v2"},
			Observation: mixed}, changed: true, want: contract.StatusRollbackFailed, says: "did not bring every instance back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version := "v2"
			if tt.st.Kind == contract.KindRollback {
				version = "v1"
			}
			if tt.st.Preflight == nil {
				version = ""
			}
			got, summary := (&Record{Deps: &Deps{}}).judge(tt.st, tt.changed, version)
			if got != tt.want || !strings.Contains(summary, tt.says) {
				t.Errorf("judge() = %s %q, want %s saying %q", got, summary, tt.want, tt.says)
			}
			if strings.HasPrefix(summary, " ") {
				t.Errorf("summary %q begins with a space", summary)
			}
		})
	}
}

// TestJudgeConfigOnly: a configuration-only deployment (the same release,
// another configuration) is judged on the configuration observed too: the
// release alone says nothing.
func TestJudgeConfigOnly(t *testing.T) {
	const newFP, oldFP = "hmac-sha256:2222", "hmac-sha256:1111"
	pre := &contract.PreflightOutput{App: "demo", Environment: "staging", Version: "v2", PreviousVersion: "v2",
		Artifact: contract.Artifact{Config: newFP}, Config: &contract.ConfigPrint{Fingerprint: newFP, Previous: oldFP}}
	on := func(config string) *contract.Observation {
		return &contract.Observation{Status: "Success", Fleet: &contract.FleetObservation{Total: 2, Versions: map[string]int{"v2": 2},
			Configs: map[string]int{config: 2}, Uniform: "v2", Config: config, Healthy: 2}}
	}
	failure := &contract.StateError{Error: "HealthCheckFailed", Cause: "wave 1: 500"}
	tests := []struct {
		name string
		st   contract.State
		want string
	}{
		{"observed with the new configuration", contract.State{Preflight: pre, Observation: on(newFP)}, contract.StatusSucceeded},
		{"observed with the old configuration is no success", contract.State{Preflight: pre, Observation: on(oldFP)}, contract.StatusStopped},
		{"failed, observed back with the old configuration", contract.State{Preflight: pre, Error: failure, Observation: on(oldFP)}, contract.StatusRolledBack},
		{"failed, still on the new configuration", contract.State{Preflight: pre, Error: failure, Observation: on(newFP)}, contract.StatusRollbackFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, summary := (&Record{Deps: &Deps{}}).judge(tt.st, true, "v2"); got != tt.want {
				t.Errorf("judge() = %s %q, want %s", got, summary, tt.want)
			}
		})
	}
	if got := RollbackConfig(contract.State{Preflight: pre}); got != oldFP {
		t.Errorf("RollbackConfig() = %q, want %q", got, oldFP)
	}
}

func TestConfigOnlyRefusals(t *testing.T) {
	base := contract.PreflightOutput{App: "demo", Environment: "staging", Version: "v2", PreviousVersion: "v2"}
	with := func(c *contract.ConfigPrint) contract.PreflightOutput { p := base; p.Config = c; return p }
	tests := []struct {
		name string
		in   contract.PreflightOutput
		want string // "" for no refusal
	}{
		{"no config section", base, "declares no config: section"},
		{"nothing changed", with(&contract.ConfigPrint{Fingerprint: "hmac-sha256:1", Previous: "hmac-sha256:1"}), "configuration unchanged"},
		{"what serves is not recorded", with(&contract.ConfigPrint{Fingerprint: "hmac-sha256:1"}), "is not recorded"},
		{"a new configuration", with(&contract.ConfigPrint{Fingerprint: "hmac-sha256:2", Previous: "hmac-sha256:1"}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := configOnly(tt.in)
			if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("configOnly() = %v, want %q", err, tt.want)
			}
		})
	}
}
