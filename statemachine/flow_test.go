package statemachine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/statemachine"
)

// stubs are handlers that answer like the real ones, with an error injected
// at chosen task states. They let a test run the real definition and check
// which states it visits.
type stubs struct {
	fail map[string]error // by task state name
	// failFrom, for a state in fail, is the call from which it fails (1
	// by default).
	failFrom  map[string]int
	failOnce  map[string]error
	calls     map[string]int
	snapPolls int
	// joiner, when set, is an instance that the first drift check finds.
	joiner string
	// approval, when set, makes Preflight ask for one; approve answers it.
	approval bool
	// waits is how many times AcquireLock answers that it waits.
	waits int
	// observed is the release the first observation finds every instance
	// on (default: the one deployed).
	observed     string
	observations int
	// traffic puts the environment behind a target group (traffic in place).
	traffic bool
	// rollbackLog is what a rollback wave by wave did, in order: "detach 2"
	// (action, wave number from 1), "rollback b,c", "probe b,c", ...
	rollbackLog []string
	byWave      bool
	// leftOut is what Record was told: a rollback wave failed while out
	// of the target groups.
	leftOut bool
	// validation makes Preflight ask for the hosts' resources check and
	// the smoke checks through the load balancer.
	validation bool
	// canary makes Preflight ask for a canary analysis of two samples.
	canary bool
	// trafficHooks makes Preflight say that the release and the one a
	// rollback returns to have before_traffic and after_traffic hooks;
	// hooks is what each hook command was: "STATE VERSION WAVE IDS".
	trafficHooks bool
	hooks        []string
	// blueGreen names the smoke checks through the balancer
	// BlueGreenSmokeBalancer.
	blueGreen bool
	// warm names the hooks on the side a rollback execution switches back
	// to WarmSide*.
	warm bool
}

func (s *stubs) hostFloor() *contract.HostFloor {
	if !s.validation {
		return nil
	}
	return &contract.HostFloor{DiskKB: 1024}
}

func (s *stubs) smokeEndpoint() string {
	if !s.validation {
		return ""
	}
	return "http://lb"
}

func (s *stubs) err(state string) error {
	s.calls[state]++
	if n := s.failFrom[state]; n > 0 && s.calls[state] < n {
		return nil
	}
	if e, ok := s.failOnce[state]; ok {
		delete(s.failOnce, state)
		return e
	}
	return s.fail[state]
}

func (s *stubs) handlers() asl.Handlers {
	h := asl.Handlers{}
	reg := func(name string, fn any) { h[localenv.ARN(name)] = lambda.NewHandler(fn) }
	reg("preflight", func(ctx context.Context, in contract.PreflightInput) (contract.PreflightOutput, error) {
		if in.Action == "resolve" {
			if in.Preflight == nil {
				return contract.PreflightOutput{}, fmt.Errorf("resolve without the pre-lock preflight output")
			}
			out := *in.Preflight
			out.Resolved = true
			return out, s.err("Resolve")
		}
		if err := s.err("Preflight"); err != nil {
			return contract.PreflightOutput{}, err
		}
		return contract.PreflightOutput{LeaseWaitSeconds: 600, LockPollSeconds: 15, RollbackHealth: contract.HealthSpec{Path: "/old", ExpectStatus: 200, Successes: 1, IntervalSeconds: 1, MaxAttempts: 3}, App: "demo", Environment: "staging", Version: "v2", PreviousVersion: "v1",
			Instances: []string{"a", "b", "c"}, Tags: map[string]string{"app": "demo"}, RequireOnHosts: "v1", Waves: [][]string{{"a"}, {"b", "c"}}, WaveCount: 2, PollSeconds: 5,
			Health: contract.HealthSpec{Path: "/healthz", ExpectStatus: 200, Successes: 2, IntervalSeconds: 1, MaxAttempts: 5},
			Bake:   contract.BakeSpec{Seconds: 60, IntervalSeconds: 30}, Alarms: []string{"x"},
			Migrations: contract.MigrationPlan{Current: 1, Target: 2, Pending: []int64{2}}, LockTTLSeconds: 60, ApprovalRequired: s.approval, Traffic: s.traffic,
			HostFloor: s.hostFloor(), SmokeEndpoint: s.smokeEndpoint(),
			BeforeTraffic: s.trafficHooks, AfterTraffic: s.trafficHooks, RollbackBeforeTraffic: s.trafficHooks, RollbackAfterTraffic: s.trafficHooks, Canary: s.canarySpec()}, nil
	})
	reg("approval", func(ctx context.Context, in contract.ApprovalInput) (struct{}, error) {
		if in.Token == "" || in.InstanceCount != 3 || in.Version != "v2" {
			return struct{}{}, fmt.Errorf("approval payload = %+v, want a token, 3 instances and v2", in)
		}
		return struct{}{}, s.err("RequestApproval")
	})
	reg("lock", func(ctx context.Context, in contract.LockInput) (contract.LockOutput, error) {
		state := map[string]string{"acquire": "AcquireLock", "release": "ReleaseLock"}[in.Action]
		if in.Action == "acquire" && s.waits > 0 {
			s.waits--
			return contract.LockOutput{Waiting: &contract.LeaseWait{Holder: "other", Since: "2026-01-01T00:00:00Z"}}, s.err(state)
		}
		return contract.LockOutput{Held: in.Action == "acquire"}, s.err(state)
	})
	reg("snapshot", func(ctx context.Context, in contract.SnapshotInput) (contract.SnapshotOutput, error) {
		if in.Action == "create" {
			return contract.SnapshotOutput{SnapshotID: "snap", Status: "creating"}, s.err("Snapshot")
		}
		s.snapPolls++
		st := "creating"
		if s.snapPolls >= 2 {
			st = "available"
		}
		return contract.SnapshotOutput{SnapshotID: in.SnapshotID, Status: st}, s.err("CheckSnapshot")
	})
	reg("migrate", func(ctx context.Context, in contract.MigrateInput) (contract.MigrateOutput, error) {
		if in.Action == "observe" {
			return contract.MigrateOutput{Observed: &contract.SchemaObservation{Known: true, Version: 2, Dirty: []int64{}}}, s.err("ObserveSchema")
		}
		state := map[string]string{"up": "Migrate", "revert": "RevertSchema"}[in.Action]
		return contract.MigrateOutput{From: 1, To: 2, Applied: []int64{2}}, s.err(state)
	})
	polls := map[string]int{}
	reg("deploy", func(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
		switch in.Action {
		case "hosts":
			return contract.DeployOutput{CommandID: "status", Status: "InProgress", Total: len(in.InstanceIDs)}, s.err("SendHostCheck")
		case "hosts-poll":
			return contract.DeployOutput{CommandID: "status", Status: "Success", Total: len(in.InstanceIDs)}, s.err("CheckHosts")
		case "resources":
			return contract.DeployOutput{CommandID: "res", Status: "InProgress", Total: len(in.InstanceIDs)}, s.err("SendResourceCheck")
		case "resources-poll":
			if in.HostFloor == nil || in.HostFloor.DiskKB != 1024 || in.CommandID != "res" {
				return contract.DeployOutput{}, fmt.Errorf("CheckResources without the floor or the command: %+v", in)
			}
			return contract.DeployOutput{CommandID: "res", Status: "Success", Total: len(in.InstanceIDs)}, s.err("CheckResources")
		case "observe":
			return contract.DeployOutput{CommandID: "obs", Status: "InProgress", Total: 3, Unreachable: []string{}}, s.err("ObserveFleet")
		case "observe-poll":
			s.observations++
			v := "v2"
			if s.observed != "" && s.observations == 1 {
				v = s.observed
			}
			return contract.DeployOutput{CommandID: in.CommandID, Status: "Success", Total: 3, Unreachable: []string{},
				Fleet: &contract.FleetObservation{Total: 3, Versions: map[string]int{v: 3}, Uniform: v, Healthy: 3, Problem: "3 on " + v}}, s.err("CheckObservation")
		case "detach", "drained", "attach", "in-service":
			state := map[string]string{"detach": "DetachWave", "drained": "CheckDrained", "attach": "AttachWave", "in-service": "CheckInService"}[in.Action]
			if s.calls["Rollback"] > 0 {
				state = map[string]string{"attach": "ReattachWave", "in-service": "CheckReattached"}[in.Action]
			}
			if in.Action == "detach" && in.Traffic != nil {
				s.byWave = true
			}
			if s.byWave {
				state = map[string]string{"detach": "RollbackWaveDetach", "drained": "RollbackWaveCheckDrained", "attach": "RollbackWaveAttach", "in-service": "RollbackWaveCheckInService"}[in.Action]
				s.rollbackLog = append(s.rollbackLog, fmt.Sprintf("%s %d", in.Action, in.Wave+1))
			}
			st := &contract.TrafficState{Groups: map[string][]string{"web": in.InstanceIDs}, Deadline: "2026-01-01T01:00:00Z"}
			if in.Action != "detach" {
				if in.Traffic == nil || len(in.Traffic.Groups["web"]) == 0 {
					return contract.DeployOutput{}, fmt.Errorf("%s without what DetachWave found: %+v", state, in.Traffic)
				}
				st.Groups = in.Traffic.Groups
			}
			polls[state+fmt.Sprint(in.Wave)]++
			st.Done = (in.Action == "drained" || in.Action == "in-service") && polls[state+fmt.Sprint(in.Wave)] >= 2
			return contract.DeployOutput{Wave: in.Wave, Status: "InProgress", Traffic: st}, s.err(state)
		case "hook", "hook-poll":
			prefix := ""
			name := map[string]string{"before_traffic": "BeforeTraffic", "after_traffic": "AfterTraffic"}[in.Hook]
			switch {
			case in.Where == "rollback":
				prefix = "RollbackWave"
			case strings.HasPrefix(in.Where, "the "):
				prefix = "BlueGreen"
			case strings.HasPrefix(in.Where, "rollback: the ") && s.warm:
				prefix = "WarmSide"
			case strings.HasPrefix(in.Where, "rollback: the "):
				prefix, name = "BlueGreen", "Rollback"+name
			}
			if name == "" {
				return contract.DeployOutput{}, fmt.Errorf("%s of hook %q", in.Action, in.Hook)
			}
			state := prefix + name
			if in.Action == "hook" {
				s.hooks = append(s.hooks, fmt.Sprintf("%s %s %d %s", state, in.Version, in.Wave+1, strings.Join(in.InstanceIDs, ",")))
				if in.Where == "rollback" {
					s.rollbackLog = append(s.rollbackLog, fmt.Sprintf("%s %d %s", in.Hook, in.Wave+1, in.Version))
				}
				return contract.DeployOutput{CommandID: fmt.Sprintf("hook-%s-%d", state, in.Wave), Wave: in.Wave, Status: "InProgress", Total: len(in.InstanceIDs), Unreachable: []string{}}, s.err(state)
			}
			state = prefix + "Check" + name
			polls[in.CommandID]++
			st := "InProgress"
			if polls[in.CommandID] >= 2 {
				st = "Success"
			}
			return contract.DeployOutput{CommandID: in.CommandID, Wave: in.Wave, Status: st, Total: len(in.InstanceIDs), Unreachable: []string{}}, s.err(state)
		case "drift":
			plan := *in.Plan
			plan.DriftRounds++
			if s.joiner != "" && plan.DriftRounds == 1 {
				plan.Waves = append(plan.Waves, []string{s.joiner})
				plan.WaveCount++
				plan.Joined = []string{s.joiner}
			}
			return contract.DeployOutput{Status: "Success", Plan: &plan}, s.err("CheckDrift")
		}
		if in.Action == "send" {
			return contract.DeployOutput{CommandID: "cmd" + string(rune('0'+in.Wave)), Wave: in.Wave, Status: "InProgress", Total: len(in.InstanceIDs)}, s.err("DeployWave")
		}
		polls[in.CommandID]++
		st := "InProgress"
		if polls[in.CommandID] >= 2 {
			st = "Success"
		}
		return contract.DeployOutput{CommandID: in.CommandID, Wave: in.Wave, Status: st, Total: len(in.InstanceIDs)}, s.err("CheckWave")
	})
	reg("health", func(ctx context.Context, in contract.HealthInput) (contract.HealthOutput, error) {
		if in.Action == "canary" {
			return s.canaryStep(in)
		}
		if in.Action == "smoke" {
			state := "SmokeBalancer"
			if s.blueGreen {
				state = "BlueGreenSmokeBalancer"
			}
			if in.Endpoint != "http://lb" {
				return contract.HealthOutput{}, fmt.Errorf("%s without the endpoint: %+v", state, in)
			}
			return contract.HealthOutput{Status: "HEALTHY"}, s.err(state)
		}
		if in.Action == "smoke-instances" {
			if in.Where != "the green side, before any traffic" || len(in.Health.Smoke) == 0 {
				return contract.HealthOutput{}, fmt.Errorf("BlueGreenSmokeIdle without where or the checks: %+v", in)
			}
			s.hooks = append(s.hooks, "BlueGreenSmokeIdle "+strings.Join(in.InstanceIDs, ","))
			return contract.HealthOutput{Status: "HEALTHY"}, s.err("BlueGreenSmokeIdle")
		}
		if in.Action == "alarms" {
			start, _ := time.Parse(time.RFC3339Nano, in.StartedAt)
			now, _ := time.Parse(time.RFC3339Nano, in.Now)
			el := int(now.Sub(start).Seconds())
			return contract.HealthOutput{Wave: -1, Status: "HEALTHY", ElapsedSeconds: el, Done: el >= in.DurationSeconds}, s.err("CheckAlarms")
		}
		state := "ProbeWave"
		if in.Wave < 0 {
			state = "VerifyRollback"
			if s.traffic {
				s.rollbackLog = append(s.rollbackLog, "probe "+strings.Join(in.InstanceIDs, ","))
			}
			if in.Health.Path != "/old" {
				return contract.HealthOutput{}, fmt.Errorf("VerifyRollback probes with %q, want the previous release's health settings (/old)", in.Health.Path)
			}
		} else if in.Wave > 0 && len(in.Waves) <= in.Wave {
			return contract.HealthOutput{}, fmt.Errorf("ProbeWave of wave %d without the waves before it: %v", in.Wave, in.Waves)
		}
		out := contract.HealthOutput{Wave: in.Wave, Attempt: in.Previous.Attempt + 1, Consecutive: in.Previous.Consecutive + 1, Status: "PENDING"}
		if in.Previous.Wave != in.Wave {
			out.Attempt, out.Consecutive = 1, 1
		}
		if out.Consecutive >= in.Health.Successes {
			out.Status = "HEALTHY"
		}
		return out, s.err(state)
	})
	reg("rollback", func(ctx context.Context, in contract.RollbackInput) (contract.RollbackOutput, error) {
		if in.InstanceIDs != nil {
			// One wave of a rollback behind a load balancer: it moves
			// that wave only.
			if in.State.RollbackWave == nil || !slices.Equal(in.InstanceIDs, in.State.Plan.Waves[in.State.RollbackWave.Wave]) {
				return contract.RollbackOutput{}, fmt.Errorf("rollback of %v is not the wave %+v", in.InstanceIDs, in.State.RollbackWave)
			}
			state := map[string]string{"start": "RollbackWave", "poll": "RollbackWaveCheck"}[in.Action]
			status := map[string]string{"start": "InProgress", "poll": "Done"}[in.Action]
			if in.Action == "start" {
				s.rollbackLog = append(s.rollbackLog, "rollback "+strings.Join(in.InstanceIDs, ","))
			}
			return contract.RollbackOutput{Status: status, CommandID: "rb", ToVersion: "v1", InstanceIDs: in.InstanceIDs, InstanceCount: len(in.InstanceIDs)}, s.err(state)
		}
		if in.Action == "start" {
			if s.traffic && ((in.State.Rollout != nil && s.calls["DeployWave"] > 0) || in.State.Kind == "rollback") {
				return contract.RollbackOutput{Status: "ByWave", InstanceIDs: []string{}}, s.err("Rollback")
			}
			if in.State.Preflight == nil {
				return contract.RollbackOutput{Status: "Nothing", InstanceIDs: []string{}}, s.err("Rollback")
			}
			return contract.RollbackOutput{Status: "InProgress", CommandID: "rb", ToVersion: "v1", InstanceIDs: []string{"a"}, InstanceCount: 1}, s.err("Rollback")
		}
		return contract.RollbackOutput{Status: "Done", CommandID: "rb", ToVersion: "v1", InstanceIDs: []string{"a"}, InstanceCount: 1}, s.err("CheckRollback")
	})
	reg("record", func(ctx context.Context, st contract.State) (contract.RecordOutput, error) {
		out := contract.RecordOutput{DeploymentID: st.DeploymentID, Status: "SUCCEEDED", Summary: "ok"}
		s.leftOut = st.RollbackLeftOut
		switch {
		case st.RollbackError != nil:
			out.Status, out.Error, out.Summary = "ROLLBACK_FAILED", st.RollbackError.Error, "rollback failed"
		case st.Error != nil:
			out.Status, out.Error, out.Summary = "ROLLED_BACK", st.Error.Error, "rolled back: "+st.Error.Error
		}
		return out, s.err("Record")
	})
	return h
}

// tasksVisited is the Task states an execution invoked, in order, one
// entry per invocation: a Retry invokes again without entering the state
// again.
func tasksVisited(exec *asl.Execution) []string {
	var tasks []string
	current := ""
	for _, ev := range exec.History {
		switch ev.Type {
		case "TaskStateEntered":
			current = ev.StateEnteredEventDetails.Name
		case "LambdaFunctionScheduled", "TaskScheduled":
			tasks = append(tasks, current)
		}
	}
	return tasks
}

func TestDeployFlow(t *testing.T) {
	sm, err := asl.Parse(mustSubstitute(t, statemachine.Deploy))
	if err != nil {
		t.Fatal(err)
	}
	happy := []string{"Preflight", "AcquireLock", "Resolve", "SendHostCheck", "CheckHosts", "Snapshot", "CheckSnapshot", "CheckSnapshot", "Migrate",
		"DeployWave", "CheckWave", "CheckWave", "ProbeWave", "ProbeWave",
		"DeployWave", "CheckWave", "CheckWave", "ProbeWave", "ProbeWave",
		"CheckDrift", "CheckAlarms", "CheckAlarms", "ObserveFleet", "CheckObservation", "ObserveSchema", "Record", "ReleaseLock"}
	wave := []string{"DeployWave", "CheckWave", "CheckWave", "ProbeWave", "ProbeWave"}
	// at returns happy[:i] followed by more.
	at := func(i int, more ...string) []string { return append(append([]string{}, happy[:i]...), more...) }
	observe := []string{"ObserveFleet", "CheckObservation", "ObserveSchema"}
	// Before the lock nothing is observed: nothing can have changed.
	beforeLockTail := []string{"Rollback", "CheckRollback", "VerifyRollback", "RevertSchema", "Record", "ReleaseLock"}
	rollbackTail := append(append([]string{"Rollback", "CheckRollback", "VerifyRollback", "RevertSchema"}, observe...), "Record", "ReleaseLock")
	// validated is tasks with the resources check after Preflight and the
	// smoke checks through the load balancer after CheckDrift.
	validated := func(tasks []string) []string {
		var out []string
		for _, t := range tasks {
			out = append(out, t)
			switch t {
			case "Preflight":
				out = append(out, "SendResourceCheck", "CheckResources")
			case "CheckDrift":
				out = append(out, "SmokeBalancer")
			}
		}
		return out
	}
	tests := []struct {
		name       string
		fail       map[string]error
		failOnce   map[string]error
		joiner     string
		waits      int
		observed   string
		approve    func(cb *asl.Callbacks, token string)
		traffic    bool
		validation bool
		wantTasks  []string
		wantStatus string
		wantError  string
		wantLog    []string
		failFrom   map[string]int
		hooks      bool
		wantHooks  []string
		// wantLeftOut: Record is told a rollback wave stayed out.
		wantLeftOut bool
	}{
		{name: "happy path", wantTasks: happy, wantStatus: "SUCCEEDED"},
		{name: "transient error is retried", failOnce: map[string]error{"Migrate": &contract.TransientError{Message: "throttled"}},
			wantTasks: at(9, append([]string{"Migrate"}, happy[9:]...)...), wantStatus: "SUCCEEDED"},
		{name: "a deployment waits for another one's lease, then resolves under it", waits: 2,
			wantTasks: at(1, append([]string{"AcquireLock", "AcquireLock"}, happy[1:]...)...), wantStatus: "SUCCEEDED"},
		{name: "an instance that joined gets one more wave", joiner: "d",
			wantTasks: at(20, append(append(append([]string{}, wave...), "CheckDrift"), happy[20:]...)...), wantStatus: "SUCCEEDED"},
		{name: "production waits for an approval, then deploys", approve: func(cb *asl.Callbacks, token string) {
			cb.SendTaskSuccess(token, []byte(`{"approved_by":"ada"}`))
		}, wantTasks: at(1, append([]string{"RequestApproval"}, happy[1:]...)...), wantStatus: "SUCCEEDED"},
		{name: "a rejected approval changes nothing", approve: func(cb *asl.Callbacks, token string) {
			cb.SendTaskFailure(token, "Rejected", "rejected by grace: not during the sale")
		}, wantTasks: at(1, append([]string{"RequestApproval"}, beforeLockTail...)...), wantStatus: "FAILED", wantError: "Rejected"},
		{name: "preflight refusal records and fails", fail: map[string]error{"Preflight": &contract.PreflightFailed{Message: "release v9 is not published"}},
			wantTasks: []string{"Preflight", "Rollback", "Record", "ReleaseLock"}, wantStatus: "FAILED", wantError: "PreflightFailed"},
		{name: "lock held", fail: map[string]error{"AcquireLock": &contract.LockHeld{Message: "held by x"}},
			wantTasks: at(2, beforeLockTail...), wantStatus: "FAILED", wantError: "LockHeld"},
		{name: "resolve refusal under the lease", fail: map[string]error{"Resolve": &contract.PreflightFailed{Message: "v1 is gone"}},
			wantTasks: at(3, rollbackTail...), wantStatus: "FAILED", wantError: "PreflightFailed"},
		{name: "rollback target missing on a host", fail: map[string]error{"CheckHosts": &contract.PreflightFailed{Message: "v1 is not on b"}},
			wantTasks: at(5, rollbackTail...), wantStatus: "FAILED", wantError: "PreflightFailed"},
		{name: "migration failure rolls back", fail: map[string]error{"Migrate": &contract.MigrationFailed{Message: "syntax error"}},
			wantTasks: at(9, rollbackTail...), wantStatus: "FAILED", wantError: "MigrationFailed"},
		{name: "health failure in wave 1 rolls back", fail: map[string]error{"ProbeWave": &contract.HealthCheckFailed{Message: "500"}},
			wantTasks: at(13, rollbackTail...), wantStatus: "FAILED", wantError: "HealthCheckFailed"},
		{name: "drift that cannot be resolved rolls back", fail: map[string]error{"CheckDrift": &contract.DeployFailed{Message: "instances keep joining"}},
			wantTasks: at(20, rollbackTail...), wantStatus: "FAILED", wantError: "DeployFailed"},
		{name: "alarm in bake rolls back", fail: map[string]error{"CheckAlarms": &contract.AlarmFired{Message: "5xx"}},
			wantTasks: at(21, rollbackTail...), wantStatus: "FAILED", wantError: "AlarmFired"},
		{name: "hosts' resources before the lock, smoke checks through the load balancer after the last wave", validation: true,
			wantTasks: validated(happy), wantStatus: "SUCCEEDED"},
		{name: "a host short of disk is refused before the lock", validation: true, fail: map[string]error{"CheckResources": &contract.PreflightFailed{Message: "a has 10MiB free"}},
			wantTasks: append([]string{"Preflight", "SendResourceCheck", "CheckResources"}, beforeLockTail...), wantStatus: "FAILED", wantError: "PreflightFailed"},
		{name: "a smoke check failing through the load balancer rolls back", validation: true, fail: map[string]error{"SmokeBalancer": &contract.SmokeCheckFailed{Message: "500"}},
			wantTasks: append(validated(happy)[:23], rollbackTail...), wantStatus: "FAILED", wantError: "SmokeCheckFailed"},
		{name: "a fleet observed off the release after the bake rolls back", observed: "v1",
			wantTasks: at(25, rollbackTail...), wantStatus: "FAILED", wantError: "FleetMismatch"},
		{name: "a fleet that cannot be observed is no success", failOnce: map[string]error{"CheckObservation": &contract.DeployFailed{Message: "SSM is down"}},
			wantTasks: at(24, rollbackTail...), wantStatus: "FAILED", wantError: "DeployFailed"},
		{name: "rollback failure is recorded, after observing", fail: map[string]error{"ProbeWave": &contract.HealthCheckFailed{Message: "500"}, "CheckRollback": &contract.RollbackFailed{Message: "host gone"}},
			wantTasks: at(13, append(append([]string{"Rollback", "CheckRollback"}, observe...), "Record", "ReleaseLock")...), wantStatus: "FAILED", wantError: "RollbackFailed"},
		{name: "record failure still releases the lock", fail: map[string]error{"Record": &contract.TransientError{Message: "ledger down"}},
			wantTasks: at(26, "Record", "Record", "Record", "Record", "Record", "ReleaseLock"), wantStatus: "FAILED", wantError: "RecordFailed"},
	}
	// Traffic in place: each wave leaves its target groups and drains
	// before it is sent, and is put back only after it passed its health
	// check on the instances; a wave taken out when the deployment failed
	// goes back in after the rollback's health check.
	inWave := []string{"DetachWave", "CheckDrained", "CheckDrained", "DeployWave", "CheckWave", "CheckWave", "ProbeWave", "ProbeWave", "AttachWave", "CheckInService", "CheckInService"}
	inHappy := append(append(append(append([]string{}, happy[:9]...), inWave...), inWave...), happy[19:]...)
	inAt := func(i int, more ...string) []string { return append(append([]string{}, inHappy[:i]...), more...) }
	// A rollback behind the balancer goes wave by wave in reverse: out of
	// the groups (what the rollout took out stays recorded), switched back,
	// probed with the previous release's settings, and back in.
	rbWave := []string{"RollbackWaveDetach", "RollbackWaveCheckDrained", "RollbackWaveCheckDrained", "RollbackWave", "RollbackWaveCheck", "RollbackWaveProbe", "RollbackWaveAttach", "RollbackWaveCheckInService", "RollbackWaveCheckInService"}
	inRollbackTail := append(append(append(append([]string{"Rollback"}, rbWave...), "RevertSchema"), observe...), "Record", "ReleaseLock")
	inRollbackBoth := append(append(append(append(append([]string{"Rollback"}, rbWave...), rbWave...), "RevertSchema"), observe...), "Record", "ReleaseLock")
	// A wave taken out that had not been switched yet (nothing moved) is
	// only put back.
	reattach := []string{"Rollback", "CheckRollback", "VerifyRollback", "ReattachWave", "CheckReattached", "CheckReattached", "RevertSchema"}
	inReattachTail := append(append(reattach, observe...), "Record", "ReleaseLock")
	hookedWave := []string{"DetachWave", "CheckDrained", "CheckDrained", "DeployWave", "CheckWave", "CheckWave", "ProbeWave", "ProbeWave",
		"BeforeTraffic", "CheckBeforeTraffic", "CheckBeforeTraffic", "AttachWave", "CheckInService", "CheckInService", "AfterTraffic", "CheckAfterTraffic", "CheckAfterTraffic"}
	inHooked := func(waves int) []string {
		out := append([]string{}, happy[:9]...)
		for range waves {
			out = append(out, hookedWave...)
		}
		return append(out, happy[19:]...)
	}
	rbHooked := []string{"RollbackWaveDetach", "RollbackWaveCheckDrained", "RollbackWaveCheckDrained", "RollbackWave", "RollbackWaveCheck", "RollbackWaveProbe",
		"RollbackWaveBeforeTraffic", "RollbackWaveCheckBeforeTraffic", "RollbackWaveCheckBeforeTraffic", "RollbackWaveAttach", "RollbackWaveCheckInService", "RollbackWaveCheckInService",
		"RollbackWaveAfterTraffic", "RollbackWaveCheckAfterTraffic", "RollbackWaveCheckAfterTraffic"}
	inRollbackHooked := append(append(append(append([]string{"Rollback"}, rbHooked...), "RevertSchema"), observe...), "Record", "ReleaseLock")
	tests = append(tests, []struct {
		name       string
		fail       map[string]error
		failOnce   map[string]error
		joiner     string
		waits      int
		observed   string
		approve    func(cb *asl.Callbacks, token string)
		traffic    bool
		validation bool
		wantTasks  []string
		wantStatus string
		wantError  string
		wantLog    []string
		failFrom   map[string]int
		hooks      bool
		wantHooks  []string
		// wantLeftOut: Record is told a rollback wave stayed out.
		wantLeftOut bool
	}{
		{name: "in place: detach, drain, deploy, probe, attach, in service per wave", traffic: true, wantTasks: inHappy, wantStatus: "SUCCEEDED"},
		{name: "in place: a wave stuck draining rolls back and is put back", traffic: true,
			fail:      map[string]error{"CheckDrained": &contract.DeployFailed{Message: "wave 1: i-1 still draining"}},
			wantTasks: inAt(11, inReattachTail...), wantStatus: "FAILED", wantError: "DeployFailed"},
		{name: "in place: a wave the balancer never reports healthy rolls back", traffic: true,
			fail:      map[string]error{"CheckInService": &contract.HealthCheckFailed{Message: "wave 1: not in service"}},
			wantTasks: inAt(19, inRollbackTail...), wantStatus: "FAILED", wantError: "HealthCheckFailed"},
		{name: "in place: a wave that fails its own health check is not registered before the rollback", traffic: true,
			fail:      map[string]error{"ProbeWave": &contract.HealthCheckFailed{Message: "500"}},
			wantTasks: inAt(16, inRollbackTail...), wantStatus: "FAILED", wantError: "HealthCheckFailed"},
		{name: "in place: a failure after the last wave rolls back the last wave first, then the one before", traffic: true,
			fail:      map[string]error{"CheckDrift": &contract.DeployFailed{Message: "drift"}},
			wantTasks: inAt(32, inRollbackBoth...), wantStatus: "FAILED", wantError: "DeployFailed",
			wantLog: []string{"detach 2", "drained 2", "drained 2", "rollback b,c", "probe b,c", "attach 2", "in-service 2", "in-service 2",
				"detach 1", "drained 1", "drained 1", "rollback a", "probe a", "attach 1", "in-service 1", "in-service 1"}},
		{name: "in place: the second wave failing is rolled back first, from where it was taken out", traffic: true,
			fail: map[string]error{"CheckWave": &contract.DeployFailed{Message: "wave 2: b failed"}}, failFrom: map[string]int{"CheckWave": 3},
			wantTasks: inAt(25, inRollbackBoth...), wantStatus: "FAILED", wantError: "DeployFailed",
			wantLog: []string{"detach 2", "drained 2", "drained 2", "rollback b,c", "probe b,c", "attach 2", "in-service 2", "in-service 2",
				"detach 1", "drained 1", "drained 1", "rollback a", "probe a", "attach 1", "in-service 1", "in-service 1"}},
		{name: "in place: a wave that fails its rollback probe stays out, and the rollback fails honestly after observing", traffic: true,
			fail:      map[string]error{"CheckDrift": &contract.DeployFailed{Message: "drift"}, "VerifyRollback": &contract.HealthCheckFailed{Message: "old release 500"}},
			wantTasks: inAt(32, append(append(append([]string{"Rollback"}, rbWave[:6]...), observe...), "Record", "ReleaseLock")...), wantStatus: "FAILED", wantError: "HealthCheckFailed",
			wantLeftOut: true},
		// Traffic hooks: a wave's before_traffic once it is healthy, out of
		// the groups; its after_traffic once in service. A rollback wave
		// runs the hooks of the release it returns to (v1).
		{name: "in place: before_traffic before a wave is registered, after_traffic once in service", traffic: true, hooks: true,
			wantTasks: inHooked(2), wantStatus: "SUCCEEDED",
			wantHooks: []string{"BeforeTraffic v2 1 a", "AfterTraffic v2 1 a", "BeforeTraffic v2 2 b,c", "AfterTraffic v2 2 b,c"}},
		{name: "in place: a failing before_traffic rolls back before the balancer sends the wave traffic, with v1's hooks", traffic: true, hooks: true,
			fail:      map[string]error{"CheckBeforeTraffic": &contract.DeployFailed{Message: "wave 1: hook before_traffic of v2 failed on 1 of 1 instances"}},
			wantTasks: append(append(append([]string{}, happy[:9]...), hookedWave[:10]...), inRollbackHooked...), wantStatus: "FAILED", wantError: "DeployFailed",
			wantHooks: []string{"BeforeTraffic v2 1 a", "RollbackWaveBeforeTraffic v1 1 a", "RollbackWaveAfterTraffic v1 1 a"},
			wantLog:   []string{"detach 1", "drained 1", "drained 1", "rollback a", "probe a", "before_traffic 1 v1", "attach 1", "in-service 1", "in-service 1", "after_traffic 1 v1"}},
		{name: "in place: a failing after_traffic rolls back the wave in service", traffic: true, hooks: true,
			fail:      map[string]error{"CheckAfterTraffic": &contract.DeployFailed{Message: "wave 1: hook after_traffic of v2 failed"}},
			wantTasks: append(append(append([]string{}, happy[:9]...), hookedWave[:16]...), inRollbackHooked...), wantStatus: "FAILED", wantError: "DeployFailed",
			wantHooks: []string{"BeforeTraffic v2 1 a", "AfterTraffic v2 1 a", "RollbackWaveBeforeTraffic v1 1 a", "RollbackWaveAfterTraffic v1 1 a"}},
		{name: "in place: a rollback wave whose before_traffic fails stays out of the groups, and Record is told", traffic: true, hooks: true,
			fail:       map[string]error{"CheckBeforeTraffic": &contract.DeployFailed{Message: "wave 1: hook before_traffic of v2 failed on 1 of 1 instances"}, "RollbackWaveCheckBeforeTraffic": &contract.DeployFailed{Message: "rollback wave 1: hook before_traffic of v1 failed"}},
			wantTasks:  append(append(append(append(append([]string{}, happy[:9]...), hookedWave[:10]...), append([]string{"Rollback"}, rbHooked[:8]...)...), observe...), "Record", "ReleaseLock"),
			wantStatus: "FAILED", wantError: "DeployFailed", wantLeftOut: true},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stubs{fail: tt.fail, failFrom: tt.failFrom, failOnce: tt.failOnce, calls: map[string]int{}, joiner: tt.joiner, approval: tt.approve != nil, waits: tt.waits, observed: tt.observed, traffic: tt.traffic, validation: tt.validation, trafficHooks: tt.hooks}
			if s.failOnce == nil {
				s.failOnce = map[string]error{}
			}
			in, _ := json.Marshal(contract.DeployRequest{App: "demo", Environment: "staging", Version: "v2"})
			cb := &asl.Callbacks{}
			if tt.approve != nil {
				go func() {
					for {
						if p := cb.Pending(); len(p) > 0 {
							tt.approve(cb, p[0].Token)
							return
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			exec, err := asl.Run(context.Background(), sm, in, asl.Options{Resolver: s.handlers(), Clock: asl.NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Callbacks: cb})
			if err != nil {
				t.Fatal(err)
			}
			tasks := tasksVisited(exec)
			if diff := cmp.Diff(tt.wantTasks, tasks); diff != "" {
				t.Errorf("tasks visited (-want +got):\n%s", diff)
			}
			if tt.wantLog != nil {
				if diff := cmp.Diff(tt.wantLog, s.rollbackLog); diff != "" {
					t.Errorf("rollback by wave (-want +got):\n%s", diff)
				}
			}
			if tt.wantHooks != nil {
				if diff := cmp.Diff(tt.wantHooks, s.hooks); diff != "" {
					t.Errorf("traffic hooks run (-want +got):\n%s", diff)
				}
			}
			if exec.Status != tt.wantStatus || exec.Error != tt.wantError {
				t.Errorf("execution = %s %s %s, want %s %s", exec.Status, exec.Error, exec.Cause, tt.wantStatus, tt.wantError)
			}
			if s.leftOut != tt.wantLeftOut {
				t.Errorf("Record told a rollback wave was left out: %v, want %v", s.leftOut, tt.wantLeftOut)
			}
			if tt.wantStatus == "FAILED" && exec.Cause == "" {
				t.Errorf("execution failed with an empty cause")
			}
		})
	}
}

// TestRollbackFlowByWave: behind a load balancer, a rollback execution
// walks the manifest's waves, last first, each taken out, switched back,
// probed, put back in and reported healthy before the one before it.
func TestRollbackFlowByWave(t *testing.T) {
	sm, err := asl.Parse(mustSubstitute(t, statemachine.Rollback))
	if err != nil {
		t.Fatal(err)
	}
	s := &stubs{calls: map[string]int{}, failOnce: map[string]error{}, traffic: true}
	in, _ := json.Marshal(contract.RollbackRequest{App: "demo", Environment: "staging"})
	exec, err := asl.Run(context.Background(), sm, in, asl.Options{Resolver: s.handlers(), Clock: asl.NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	// The stubs' Record answers as a deployment's would; what counts here
	// is the path to it.
	if s.calls["Record"] != 1 || s.calls["RevertSchema"] != 1 {
		t.Fatalf("rollback execution = %s %s, calls %v; want it to reach RevertSchema and Record once", exec.Status, exec.Error, s.calls)
	}
	want := []string{"detach 2", "drained 2", "drained 2", "rollback b,c", "probe b,c", "attach 2", "in-service 2", "in-service 2",
		"detach 1", "drained 1", "drained 1", "rollback a", "probe a", "attach 1", "in-service 1", "in-service 1"}
	if diff := cmp.Diff(want, s.rollbackLog); diff != "" {
		t.Errorf("rollback by wave (-want +got):\n%s", diff)
	}

	// The release returned to has traffic hooks: each wave runs them
	// around its registration, once it is switched back and healthy.
	s = &stubs{calls: map[string]int{}, failOnce: map[string]error{}, traffic: true, trafficHooks: true}
	if exec, err = asl.Run(context.Background(), sm, in, asl.Options{Resolver: s.handlers(), Clock: asl.NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}); err != nil {
		t.Fatal(err)
	}
	if s.calls["Record"] != 1 {
		t.Fatalf("rollback execution with hooks = %s %s, calls %v; want it to reach Record", exec.Status, exec.Error, s.calls)
	}
	want = []string{"detach 2", "drained 2", "drained 2", "rollback b,c", "probe b,c", "before_traffic 2 v1", "attach 2", "in-service 2", "in-service 2", "after_traffic 2 v1",
		"detach 1", "drained 1", "drained 1", "rollback a", "probe a", "before_traffic 1 v1", "attach 1", "in-service 1", "in-service 1", "after_traffic 1 v1"}
	if diff := cmp.Diff(want, s.rollbackLog); diff != "" {
		t.Errorf("rollback by wave with traffic hooks (-want +got):\n%s", diff)
	}
}

// TestRollbackFlowWarmSide: a rollback execution that Resolve planned as
// a switch back to the side a blue/green deployment left warm switches
// the listener, then, when the release that side runs has an
// after_traffic hook, runs it on that side's instances (not the
// before_traffic: the side never left its group), then reverts the
// schema. The hook failing is a failed rollback: Record gets the
// rollback error, the schema is left as it is.
func TestRollbackFlowWarmSide(t *testing.T) {
	sm, err := asl.Parse(mustSubstitute(t, statemachine.Rollback))
	if err != nil {
		t.Fatal(err)
	}
	head := []string{"Preflight", "AcquireLock", "Resolve", "SwitchToWarmSide"}
	hook := []string{"WarmSideAfterTraffic", "WarmSideCheckAfterTraffic", "WarmSideCheckAfterTraffic"}
	tail := []string{"ObserveFleet", "CheckObservation", "ObserveSchema", "Record", "ReleaseLock"}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tt := range []struct {
		name       string
		hook       bool
		fail       map[string]error
		wantTasks  []string
		wantHooks  []string
		wantRecord string // the rollback error Record got, "ERROR: cause" ("" for none)
	}{
		{name: "no after_traffic: the switch, then the schema", wantTasks: join(head, []string{"RevertSchema"}, tail)},
		{name: "the warm side runs its release's after_traffic once the listener is back on it", hook: true,
			wantTasks: join(head, hook, []string{"RevertSchema"}, tail), wantHooks: []string{"WarmSideAfterTraffic v1 1 a,b"}},
		{name: "the warm side's after_traffic failing is a failed rollback", hook: true,
			fail:      map[string]error{"WarmSideCheckAfterTraffic": &contract.DeployFailed{Message: "rollback: the blue side, back in service: hook after_traffic of v1 failed on 2 of 2 instances"}},
			wantTasks: join(head, hook[:2], tail), wantHooks: []string{"WarmSideAfterTraffic v1 1 a,b"},
			wantRecord: `DeployFailed: {"errorMessage":"rollback: the blue side, back in service: hook after_traffic of v1 failed on 2 of 2 instances","errorType":"DeployFailed"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &stubs{fail: tt.fail, failOnce: map[string]error{}, calls: map[string]int{}, warm: true}
			h := s.handlers()
			pre, dep, rec := h[localenv.ARN("preflight")], h[localenv.ARN("deploy")], h[localenv.ARN("record")]
			h[localenv.ARN("preflight")] = asl.HandlerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
				b, err := pre.Invoke(ctx, p)
				if err != nil {
					return nil, err
				}
				var out contract.PreflightOutput
				if err := json.Unmarshal(b, &out); err != nil {
					return nil, err
				}
				out.Version, out.PreviousVersion, out.RequireOnHosts = "v1", "v2", ""
				out.WarmSide = &contract.BlueGreenState{Listener: "lst", Serving: "blue", Idle: "green", ServingGroup: "tg-blue", IdleGroup: "tg-green",
					ServingInstances: []string{"a", "b"}, ServingTags: map[string]string{"side": "blue"}, Steps: []int{100}, Step: 1}
				out.RollbackAfterTraffic = tt.hook
				return json.Marshal(out)
			})
			var switched []string
			h[localenv.ARN("deploy")] = asl.HandlerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
				var in contract.DeployInput
				if err := json.Unmarshal(p, &in); err != nil {
					return nil, err
				}
				if in.Action != contract.DeployBlueGreenSwitchBack {
					return dep.Invoke(ctx, p)
				}
				if in.BlueGreen == nil || in.BlueGreen.BlueGreen == nil {
					return nil, fmt.Errorf("switch back without the warm side: %+v", in)
				}
				st := *in.BlueGreen.BlueGreen
				st.SwitchedBack, st.SwitchBackMillis = true, 2
				switched = append(switched, st.Serving)
				return json.Marshal(contract.DeployOutput{BlueGreen: &st, Unreachable: []string{}})
			})
			var got string
			h[localenv.ARN("record")] = asl.HandlerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
				var st contract.State
				if err := json.Unmarshal(p, &st); err != nil {
					return nil, err
				}
				if e := st.RollbackError; e != nil {
					got = e.Error + ": " + e.Cause
				}
				return rec.Invoke(ctx, p)
			})
			in, _ := json.Marshal(contract.RollbackRequest{App: "demo", Environment: "staging"})
			exec, err := asl.Run(context.Background(), sm, in, asl.Options{Resolver: h, Clock: asl.NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
			if err != nil {
				t.Fatal(err)
			}
			tasks := tasksVisited(exec)
			if diff := cmp.Diff(tt.wantTasks, tasks); diff != "" {
				t.Errorf("tasks visited (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantHooks, s.hooks); diff != "" {
				t.Errorf("traffic hooks run (-want +got):\n%s", diff)
			}
			if fmt.Sprint(switched) != "[blue]" {
				t.Errorf("switched back to %v, want [blue] once", switched)
			}
			if got != tt.wantRecord {
				t.Errorf("Record got rollback error %q, want %q", got, tt.wantRecord)
			}
		})
	}
}
