package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// threeWaves is the demo manifest with a rollout of three waves: on four
// instances, 1, then 1 (50%), then 2.
const threeWaves = `app: demo
service: {start: bin/demo-app, unit: demo-app}
health: {path: /healthz, successes: 2, interval: 1s, timeout: 4s}
rollout: {waves: [1, "50%", "100%"], poll_interval: 1s}
bake: {duration: 2m, interval: 20s}
alarms: [demo-5xx]
keep_releases: 3
`

// releaseSet is a set of the demo app's releases, each built with its
// options, once per test binary.
type releaseSet struct {
	once  sync.Once
	built map[string][]byte
	err   error
}

// get returns version's bundle, building the whole set (builds) the first
// time in a temporary directory.
func (s *releaseSet) get(t testing.TB, version string, builds map[string]BuildOptions) []byte {
	t.Helper()
	s.once.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-releases-")
		if err != nil {
			s.err = err
			return
		}
		defer os.RemoveAll(dir)
		s.built = map[string][]byte{}
		for v, opts := range builds {
			b, err := BuildRelease(context.Background(), filepath.Join("..", "..", "examples", "demo-app"), v, dir, opts)
			if err != nil {
				s.err = err
				return
			}
			s.built[v] = b
		}
	})
	if s.err != nil {
		t.Fatalf("build releases: %v", s.err)
	}
	b, ok := s.built[version]
	if !ok {
		t.Fatalf("release %s is not one of the set", version)
	}
	return b
}

var threeWaveReleases releaseSet

// release returns the demo app's release version built with the
// three-wave manifest, building all of them once per test binary.
func release(t testing.TB, version string) []byte {
	t.Helper()
	opts := BuildOptions{Manifest: []byte(threeWaves)}
	return threeWaveReleases.get(t, version, map[string]BuildOptions{"v1": opts, "v2": opts, "v3": opts})
}

// fleetEnv is an embedded environment of n instances with v1..v3 published.
func fleetEnv(t testing.TB, n int) *localenv.Env {
	t.Helper()
	return newFleetEnv(t, localenv.Options{App: "demo", Instances: n})
}

// newFleetEnv is an embedded environment made with opts, v1..v3 published.
func newFleetEnv(t testing.TB, opts localenv.Options) *localenv.Env {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real processes")
	}
	env, err := localenv.Init(filepath.Join(t.TempDir(), "state"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop(context.Background()) })
	for _, v := range []string{"v1", "v2", "v3"} {
		if _, err := env.Artifacts.Publish(context.Background(), "demo", v, release(t, v)); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

func deploy(t testing.TB, env *localenv.Env, version string, opts localenv.RunOptions) (*asl.Execution, string) {
	t.Helper()
	exec, err := env.Deploy(context.Background(), contract.DeployRequest{App: "demo", Environment: "staging", Version: version}, opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Ledger.GetDeployment(context.Background(), exec.Name)
	if err != nil {
		t.Fatalf("no ledger record for %s: %v", exec.Name, err)
	}
	return exec, d.Status
}

func mustDeploy(t testing.TB, env *localenv.Env, version string) {
	t.Helper()
	exec, status := deploy(t, env, version, localenv.RunOptions{})
	if status != contract.StatusSucceeded {
		t.Fatalf("deploy %s = %s (%s: %s), want SUCCEEDED", version, status, exec.Error, exec.Cause)
	}
}

// serving returns what each instance's /healthz says it serves.
func serving(t *testing.T, env *localenv.Env) map[string]string {
	t.Helper()
	insts, err := env.Fleet.Instances(context.Background(), "staging")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range insts {
		r := health.NewProber(2e9).Probe(context.Background(), i.ID, i.Address, "/healthz", 200, "")
		if r.Status != 200 {
			out[i.ID] = "unhealthy:" + r.Problem
			continue
		}
		out[i.ID] = r.Version
	}
	return out
}

func allServe(t *testing.T, env *localenv.Env, want string) {
	t.Helper()
	for id, v := range serving(t, env) {
		if v != want {
			t.Errorf("%s serves %q, want %s", id, v, want)
		}
	}
}

func pids(t *testing.T, env *localenv.Env) map[string]string {
	t.Helper()
	out := map[string]string{}
	insts, err := env.Fleet.Instances(context.Background(), "staging")
	if err != nil {
		t.Fatalf("list staging instances: %v", err)
	}
	if len(insts) == 0 {
		t.Fatal("staging has no instances")
	}
	for _, i := range insts {
		dir := env.Fleet.InstanceDir("staging", i.ID)
		b, err := os.ReadFile(filepath.Join(dir, "app.pid"))
		if errors.Is(err, fs.ErrNotExist) {
			// An instance no release was ever activated on (the idle side
			// of a blue/green pair before its first deployment) runs
			// nothing; one with a release must have a pid.
			if _, cerr := os.Lstat(filepath.Join(dir, "current")); errors.Is(cerr, fs.ErrNotExist) {
				out[i.ID] = "(no release)"
				continue
			}
		}
		if err != nil {
			t.Fatalf("read %s's pid: %v", i.ID, err)
		}
		pid := strings.TrimSpace(string(b))
		if _, err := strconv.Atoi(pid); err != nil {
			t.Fatalf("%s's app.pid = %q, want a process id", i.ID, pid)
		}
		out[i.ID] = pid
	}
	return out
}

func TestScenarioWaveTwoOfThreeFails(t *testing.T) {
	env := fleetEnv(t, 4)
	mustDeploy(t, env, "v1")
	before := pids(t, env)
	if err := env.Fleet.FailActivation("staging", "staging-2", true); err != nil {
		t.Fatal(err)
	}
	exec, status := deploy(t, env, "v2", localenv.RunOptions{})
	if status != contract.StatusRolledBack || exec.Error != "DeployFailed" {
		t.Fatalf("deploy v2 = %s %s (%s), want ROLLED_BACK after DeployFailed", status, exec.Error, exec.Cause)
	}
	allServe(t, env, "v1")
	after := pids(t, env)
	for _, id := range []string{"staging-3", "staging-4"} {
		if before[id] != after[id] {
			t.Errorf("%s was restarted (pid %s → %s) but wave 3 never reached it", id, before[id], after[id])
		}
	}
	results, _ := env.Ledger.InstanceResults(context.Background(), exec.Name)
	touched := map[string]bool{}
	for _, r := range results {
		if r.Action == "activate" {
			touched[r.InstanceID] = true
		}
	}
	if len(touched) != 2 || !touched["staging-1"] || !touched["staging-2"] {
		t.Errorf("instances in the ledger = %v, want only staging-1 and staging-2 (waves 1 and 2)", touched)
	}
}

func TestScenarioOfflineHostRefusedBeforeLock(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	env.Fleet.SetOffline("staging", "staging-2", true)
	exec, status := deploy(t, env, "v2", localenv.RunOptions{})
	if status != contract.StatusFailed || exec.Error != "PreflightFailed" || !strings.Contains(exec.Cause, "staging-2") {
		t.Fatalf("deploy v2 = %s %s %q, want FAILED PreflightFailed naming staging-2", status, exec.Error, exec.Cause)
	}
	steps, _ := env.Ledger.Steps(context.Background(), exec.Name)
	for _, s := range steps {
		if s.Stage == "lock" || s.Stage == "snapshot" || s.Stage == "migrate" {
			t.Errorf("step %s ran after the refusal: %s", s.Stage, s.Message)
		}
	}
	env.Fleet.SetOffline("staging", "staging-2", false)
	allServe(t, env, "v1")
}

func TestScenarioRerunIsIdempotent(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	mustDeploy(t, env, "v2")
	before := pids(t, env)
	exec, status := deploy(t, env, "v2", localenv.RunOptions{})
	if status != contract.StatusSucceeded {
		t.Fatalf("redeploy v2 = %s (%s %s), want SUCCEEDED", status, exec.Error, exec.Cause)
	}
	if after := pids(t, env); !equalMaps(before, after) {
		t.Errorf("a rerun restarted apps: pids %v → %v", before, after)
	}
	d, _ := env.Ledger.GetDeployment(context.Background(), exec.Name)
	if d.SnapshotID != "" || d.SchemaBefore != 2 {
		t.Errorf("rerun: snapshot %q schema before %d, want no snapshot (nothing to migrate) at schema 2", d.SnapshotID, d.SchemaBefore)
	}
	allServe(t, env, "v2")
}

func TestScenarioAlarmDuringBakeRollsBack(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	raise := func(ev asl.HistoryEvent) {
		if ev.Type == "PassStateEntered" && ev.StateEnteredEventDetails != nil && ev.StateEnteredEventDetails.Name == "StartBake" {
			env.Alarms.Set("demo-5xx", health.StateAlarm, "5xx rate 4% > 1% for 2 datapoints")
		}
	}
	exec, status := deploy(t, env, "v2", localenv.RunOptions{OnEvent: raise})
	if status != contract.StatusRolledBack || exec.Error != "AlarmFired" || !strings.Contains(exec.Cause, "demo-5xx") {
		t.Fatalf("deploy v2 = %s %s %q, want ROLLED_BACK after AlarmFired naming demo-5xx", status, exec.Error, exec.Cause)
	}
	allServe(t, env, "v1")
	d, _ := env.Ledger.GetDeployment(context.Background(), exec.Name)
	if !strings.Contains(d.Summary, "reverted from 2 to 1") {
		t.Errorf("summary = %q, want v2's reversible migration reverted", d.Summary)
	}
}

func TestScenarioRollbackTargetPrunedRefused(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	mustDeploy(t, env, "v2")
	// A person (or prune) removed v1 from one host: the rollback machine
	// must refuse before it changes anything.
	if err := os.RemoveAll(filepath.Join(env.Fleet.InstanceDir("staging", "staging-3"), "releases", "v1")); err != nil {
		t.Fatal(err)
	}
	exec, err := env.Rollback(context.Background(), contract.RollbackRequest{App: "demo", Environment: "staging"}, localenv.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if exec.Status != "FAILED" || exec.Error != "PreflightFailed" || !strings.Contains(exec.Cause, "v1") || !strings.Contains(exec.Cause, "staging-3") {
		t.Fatalf("rollback = %s %s %q, want FAILED PreflightFailed naming v1 and staging-3", exec.Status, exec.Error, exec.Cause)
	}
	allServe(t, env, "v2")

	// A new host has no release at all: deploying v3 is refused until v2
	// is redeployed, which brings the new host up to date.
	id, err := env.AddInstance(context.Background(), "staging")
	if err != nil {
		t.Fatal(err)
	}
	exec, status := deploy(t, env, "v3", localenv.RunOptions{})
	if status != contract.StatusFailed || !strings.Contains(exec.Cause, id) || !strings.Contains(exec.Cause, "redeploy v2 first") {
		t.Fatalf("deploy v3 with a new host = %s %q, want FAILED naming %s and saying to redeploy v2", status, exec.Cause, id)
	}
	mustDeploy(t, env, "v2")
	allServe(t, env, "v2")
}

func TestScenarioRollbackMachine(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	mustDeploy(t, env, "v2")
	exec, err := env.Rollback(context.Background(), contract.RollbackRequest{App: "demo", Environment: "staging",
		Trigger: contract.Trigger{Source: "alarm", Alarm: "demo-5xx"}}, localenv.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if exec.Status != "SUCCEEDED" {
		t.Fatalf("rollback = %s %s %s, want SUCCEEDED", exec.Status, exec.Error, exec.Cause)
	}
	var out contract.RecordOutput
	json.Unmarshal(exec.Output, &out)
	if out.Status != contract.StatusRolledBack || out.Version != "v1" {
		t.Errorf("rollback output = %+v, want ROLLED_BACK to v1", out)
	}
	allServe(t, env, "v1")
	ds, _ := env.Ledger.ListDeployments(context.Background(), "demo", "staging", 0)
	var v2 *struct{ status, by string }
	for _, d := range ds {
		if d.Kind == contract.KindDeploy && d.Version == "v2" {
			v2 = &struct{ status, by string }{d.Status, d.RolledBackBy}
		}
	}
	// v2's record keeps what happened to it (it succeeded), and names the
	// rollback that undid it later.
	if v2 == nil || v2.status != contract.StatusSucceeded || v2.by != exec.Name {
		t.Errorf("v2's record after the rollback = %+v, want SUCCEEDED, rolled back by %s", v2, exec.Name)
	}
	// A second rollback has nothing to undo without naming a release.
	exec, _ = env.Rollback(context.Background(), contract.RollbackRequest{App: "demo", Environment: "staging"}, localenv.RunOptions{})
	if exec.Status != "FAILED" || !strings.Contains(exec.Cause, "nothing more to roll back") || !strings.Contains(exec.Cause, "--to VERSION") {
		t.Errorf("second rollback = %s %q, want FAILED saying there is nothing more to roll back, and how to name a release", exec.Status, exec.Cause)
	}
	// Deploying again after the rollback starts from v1.
	mustDeploy(t, env, "v2")
	allServe(t, env, "v2")
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestScenarioStoppedDeploymentIsRecorded(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	tests := []struct {
		name, stopAt, wantStatus, wantCause string
	}{
		{"stopped before anything changed", "AcquireLock", contract.StatusFailed, "stopped before it changed anything"},
		{"stopped after the canary moved", "ProbeWave", contract.StatusStopped, "slipway rollback --env staging"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stop := func(ev asl.HistoryEvent) {
				if d := ev.StateEnteredEventDetails; d != nil && d.Name == tt.stopAt {
					cancel()
				}
			}
			exec, err := env.Deploy(ctx, contract.DeployRequest{App: "demo", Environment: "staging", Version: "v2"}, localenv.RunOptions{OnEvent: stop})
			if err != nil {
				t.Fatal(err)
			}
			if exec.Status != "ABORTED" {
				t.Fatalf("execution = %s, want ABORTED", exec.Status)
			}
			d, err := env.Ledger.GetDeployment(context.Background(), exec.Name)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != tt.wantStatus || !strings.Contains(d.Summary, tt.wantCause) {
				t.Errorf("record = %s %q, want %s saying %q", d.Status, d.Summary, tt.wantStatus, tt.wantCause)
			}
			if locks, _ := env.Ledger.Locks(context.Background(), "demo", "staging"); len(locks) != 0 {
				t.Errorf("locks after a stop = %+v, want none", locks)
			}
		})
	}
	// The rollback the record suggests puts the environment back together.
	exec, err := env.Rollback(context.Background(), contract.RollbackRequest{App: "demo", Environment: "staging"}, localenv.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if exec.Status != "SUCCEEDED" {
		t.Fatalf("rollback after a stop = %s %s %s, want SUCCEEDED", exec.Status, exec.Error, exec.Cause)
	}
	allServe(t, env, "v1")
}
