package scenario

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

const (
	commit1 = "1111111111111111111111111111111111111111"
	commit2 = "2222222222222222222222222222222222222222"
)

// publishCommit builds and publishes the demo app's v2 code as a commit.
func publishCommit(t *testing.T, env *localenv.Env, commit string, manifest string) {
	t.Helper()
	dir := t.TempDir()
	b, err := BuildRelease(context.Background(), filepath.Join("..", "..", "examples", "demo-app"), commit, dir, BuildOptions{From: "v2", Manifest: []byte(manifest)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Artifacts.Publish(context.Background(), "demo", commit, b); err != nil {
		t.Fatal(err)
	}
}

// withTriggers maps pushes of demo's main branch to staging and watches
// demo-5xx there.
func withTriggers(env *localenv.Env) *config.Config {
	c := env.Config
	c.Triggers = config.Triggers{Repositories: []string{"github.com/acme/demo"}, Branches: map[string]string{"main": "staging"}}
	st := c.Environments["staging"]
	st.Alarms = []string{"demo-5xx"}
	c.Environments["staging"] = st
	return c
}

func pushEvent(commit string) events.EventBridgeEvent {
	d, _ := json.Marshal(trigger.GitPush{Repository: "github.com/acme/demo", Branch: "main", Commit: commit, Pusher: "ada", App: "demo"})
	return events.EventBridgeEvent{ID: "ev-" + commit[:6], Source: "slipway.git", DetailType: "Git Push", Detail: d}
}

func statusOf(t *testing.T, env *localenv.Env, id string) ledger.Deployment {
	t.Helper()
	d, err := env.Ledger.GetDeployment(context.Background(), id)
	if err != nil {
		t.Fatalf("deployment %s: %v", id, err)
	}
	return d
}

func TestScenarioTwoQuickPushesDeployTheLatest(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	publishCommit(t, env, commit1, threeWaves)
	publishCommit(t, env, commit2, threeWaves)
	starter := env.Starter(localenv.RunOptions{})
	r := &trigger.PushRouter{Config: withTriggers(env), Ledger: env.Ledger, Artifacts: env.Artifacts, Starter: starter}
	ctx := context.Background()
	var ids []string
	for _, c := range []string{commit1, commit2} {
		res, err := r.Handle(ctx, pushEvent(c))
		if err != nil || res.Action != "started" {
			t.Fatalf("push %s = %+v, %v", c[:6], res, err)
		}
		ids = append(ids, res.DeploymentID)
	}
	execs, err := starter.Wait()
	if err != nil {
		t.Fatal(err)
	}
	first, second := statusOf(t, env, ids[0]), statusOf(t, env, ids[1])
	if first.Status != contract.StatusFailed || first.Error != "Superseded" {
		t.Errorf("first push = %s %s (%s), want FAILED Superseded", first.Status, first.Error, first.Cause)
	}
	if second.Status != contract.StatusSucceeded {
		t.Errorf("second push = %s %s (%s), want SUCCEEDED", second.Status, second.Error, second.Cause)
	}
	if len(execs) != 2 {
		t.Errorf("executions = %d, want 2 (one superseded, one deployed)", len(execs))
	}
	allServe(t, env, commit2)
	if _, ok, _ := env.Ledger.GetPending(ctx, "demo", "staging"); ok {
		t.Errorf("a push is still queued after both executions ended")
	}
}

func TestScenarioPushDuringDeploymentWaitsForTheLock(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	publishCommit(t, env, commit1, threeWaves)
	publishCommit(t, env, commit2, threeWaves)
	starter := env.Starter(localenv.RunOptions{})
	r := &trigger.PushRouter{Config: withTriggers(env), Ledger: env.Ledger, Artifacts: env.Artifacts, Starter: starter}
	ctx := context.Background()
	res1, err := r.Handle(ctx, pushEvent(commit1))
	if err != nil {
		t.Fatal(err)
	}
	// Push the second commit once the first holds the lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		locks, err := env.Ledger.Locks(ctx, "demo", "staging")
		if err != nil {
			t.Fatalf("read staging's locks: %v", err)
		}
		if len(locks) == 1 {
			break
		}
		if time.Now().After(deadline) {
			_, _ = starter.Wait() // let the execution end before the test removes its directory
			t.Fatalf("the first push's execution did not take the lock within 30s (locks %v)", locks)
		}
		time.Sleep(10 * time.Millisecond)
	}
	res2, err := r.Handle(ctx, pushEvent(commit2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := starter.Wait(); err != nil {
		t.Fatal(err)
	}
	first, second := statusOf(t, env, res1.DeploymentID), statusOf(t, env, res2.DeploymentID)
	if first.Status != contract.StatusSucceeded || second.Status != contract.StatusSucceeded {
		t.Errorf("pushes = %s (%s), %s (%s); want both SUCCEEDED, the second after the first", first.Status, first.Cause, second.Status, second.Cause)
	}
	if !second.StartedAt.Before(first.FinishedAt) || second.FinishedAt.Before(first.FinishedAt) {
		t.Errorf("second push ran %s–%s, first %s–%s: want the second to wait for the first", second.StartedAt, second.FinishedAt, first.StartedAt, first.FinishedAt)
	}
	allServe(t, env, commit2)
}

func TestScenarioManualLockBlocksPush(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	publishCommit(t, env, commit1, threeWaves)
	ctx := context.Background()
	if err := env.Ledger.Freeze(ctx, "demo", "staging", "grace", "investigating the 5xx spike", time.Now()); err != nil {
		t.Fatal(err)
	}
	starter := env.Starter(localenv.RunOptions{})
	r := &trigger.PushRouter{Config: withTriggers(env), Ledger: env.Ledger, Artifacts: env.Artifacts, Starter: starter}
	res, err := r.Handle(ctx, pushEvent(commit1))
	if err != nil {
		t.Fatal(err)
	}
	starter.Wait()
	d := statusOf(t, env, res.DeploymentID)
	if d.Status != contract.StatusFailed || d.Error != "LockHeld" || !strings.Contains(d.Cause, "frozen by grace") || !strings.Contains(d.Cause, "investigating the 5xx spike") {
		t.Errorf("push under a manual lock = %s %s %q, want FAILED LockHeld naming grace and her reason", d.Status, d.Error, d.Cause)
	}
	allServe(t, env, "v1")
}

func TestScenarioDuplicateAlarmGivesOneRollback(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	mustDeploy(t, env, "v2")
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "alarm", "alarm-to-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	json.Unmarshal(raw, &ev)
	ev.Detail = json.RawMessage(strings.ReplaceAll(string(ev.Detail), "demo-staging-5xx", "demo-5xx"))
	starter := env.Starter(localenv.RunOptions{})
	r := &trigger.AlarmRouter{Config: withTriggers(env), Ledger: env.Ledger, Starter: starter}
	ctx := context.Background()
	var actions []string
	for i := 0; i < 3; i++ {
		res, err := r.Handle(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, res.Action)
	}
	execs, err := starter.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(execs) != 1 || actions[0] != "rollback-started" {
		t.Fatalf("three alarm events gave actions %v and %d executions, want one rollback", actions, len(execs))
	}
	for _, e := range execs {
		if e.Status != "SUCCEEDED" {
			t.Errorf("rollback execution = %s %s %s", e.Status, e.Error, e.Cause)
		}
	}
	allServe(t, env, "v1")
	// Now that it is rolled back, another alarm has nothing to undo.
	res, _ := r.Handle(ctx, ev)
	if res.Action != "already-rolled-back" {
		t.Errorf("alarm after the rollback = %s (%s), want already-rolled-back", res.Action, res.Message)
	}
}

func TestScenarioFreezeWindow(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	today := time.Now().UTC()
	frozen := threeWaves + "freeze:\n  dates:\n    - {from: " + today.AddDate(0, 0, -1).Format(time.DateOnly) + ", to: " + today.AddDate(0, 0, 1).Format(time.DateOnly) + ", time_zone: UTC, reason: end-of-year freeze}\n"
	publishCommit(t, env, commit1, frozen)
	ctx := context.Background()
	exec, err := env.Deploy(ctx, contract.DeployRequest{App: "demo", Environment: "staging", Version: commit1, Trigger: contract.Trigger{Source: "cli", Actor: "ada"}}, localenv.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if exec.Error != "Frozen" || !strings.Contains(exec.Cause, "end-of-year freeze") || !strings.Contains(exec.Cause, "--override-freeze") {
		t.Errorf("deploy in a freeze = %s %q, want Frozen naming the freeze and the override", exec.Error, exec.Cause)
	}
	exec, err = env.Deploy(ctx, contract.DeployRequest{App: "demo", Environment: "staging", Version: commit1, OverrideFreeze: true,
		Trigger: contract.Trigger{Source: "cli", Actor: "ada", Reason: "security fix for CVE-2026-1234"}}, localenv.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := statusOf(t, env, exec.Name)
	if d.Status != contract.StatusSucceeded {
		t.Fatalf("deploy with an override = %s %s %s, want SUCCEEDED", d.Status, d.Error, d.Cause)
	}
	steps, _ := env.Ledger.Steps(ctx, exec.Name)
	found := false
	for _, s := range steps {
		found = found || (strings.Contains(s.Message, "freeze overridden by ada") && strings.Contains(s.Message, "CVE-2026-1234"))
	}
	if !found {
		t.Errorf("no ledger step records the override and its reason: %+v", steps)
	}
	allServe(t, env, commit1)
}
