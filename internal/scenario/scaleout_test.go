package scenario

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/autoscale"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// lastEvent returns the newest ledger event of staging.
func lastEvent(t *testing.T, env *localenv.Env) ledger.Event {
	t.Helper()
	evs, err := env.Ledger.Events(context.Background(), "demo", "staging", 1)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events: %v (%d)", err, len(evs))
	}
	return evs[0]
}

// TestScenarioScaleOut launches instances through the launch lifecycle
// hook's handler on real processes: a new instance gets the release the
// environment serves, or the one a running deployment deploys, and is put
// into service only when it runs it healthily; one that cannot get it is
// abandoned, terminated and recorded.
func TestScenarioScaleOut(t *testing.T) {
	env := fleetEnv(t, 3)
	ctx := context.Background()

	// Nothing deployed yet: the instance goes into service as it is.
	res, err := env.ScaleOut(ctx, "staging")
	if err != nil || res.Action != autoscale.Continue || !strings.Contains(res.Message, "no release yet") {
		t.Fatalf("scale-out of an empty environment = %+v, %v", res, err)
	}

	mustDeploy(t, env, "v1")
	res, err = env.ScaleOut(ctx, "staging")
	if err != nil || res.Action != autoscale.Continue || res.Version != "v1" || res.InstanceID != "staging-5" {
		t.Fatalf("scale-out after v1 = %+v, %v; want staging-5 on v1, CONTINUE", res, err)
	}
	if got := serving(t, env); len(got) != 5 || got["staging-5"] != "v1" {
		t.Fatalf("serving after scale-out = %v, want 5 instances, staging-5 on v1", got)
	}
	if ev := lastEvent(t, env); ev.Source != "autoscaling" || ev.Kind != "scale-out" || !strings.Contains(ev.Message, "staging-5") {
		t.Errorf("ledger event = %+v", ev)
	}

	// v2 deployed everywhere (staging-5 too). Then a deployment of v1 is
	// under way: before its waves begin, a new instance gets what serves
	// (v2); once they have, it joins the deployment on v1.
	mustDeploy(t, env, "v2")
	running := ledger.Deployment{ID: "dep-running", App: "demo", Environment: "staging", Version: "v1", PreviousVersion: "v2",
		Kind: contract.KindDeploy, Status: contract.StatusRunning, StartedAt: time.Now()}
	if err := env.Ledger.PutDeployment(ctx, running); err != nil {
		t.Fatal(err)
	}
	res, err = env.ScaleOut(ctx, "staging")
	if err != nil || res.Action != autoscale.Continue || res.Version != "v2" {
		t.Fatalf("scale-out before the running deployment's waves = %+v, %v; want v2, what serves", res, err)
	}
	if err := env.Ledger.PutInstanceResults(ctx, []ledger.InstanceResult{{DeploymentID: "dep-running", CommandID: "c1", Wave: 0,
		InstanceID: "staging-1", Action: "activate", Version: "v1", Status: "Success"}}); err != nil {
		t.Fatal(err)
	}
	res, err = env.ScaleOut(ctx, "staging")
	if err != nil || res.Action != autoscale.Continue || res.Version != "v1" {
		t.Fatalf("scale-out during the running deployment's waves = %+v, %v; want v1", res, err)
	}
	if got := serving(t, env)[res.InstanceID]; got != "v1" {
		t.Errorf("%s serves %q, want v1", res.InstanceID, got)
	}
	results, _ := env.Ledger.InstanceResults(ctx, "dep-running")
	if len(results) != 2 || results[1].InstanceID != res.InstanceID || results[1].Version != "v1" {
		t.Errorf("the running deployment's instance results = %+v, want the new instance's activation", results)
	}
	env.Ledger.UpdateDeployment(ctx, "dep-running", func(d *ledger.Deployment) error { d.Status = contract.StatusFailed; return nil })

	// The served release's bundle is gone: the new instance cannot get it,
	// so it is abandoned (terminated) and the ledger says why.
	if err := os.Remove(filepath.Join(env.Artifacts.Root, filepath.FromSlash(artifact.Key("demo", "v2")))); err != nil {
		t.Fatal(err)
	}
	before := len(serving(t, env))
	res, err = env.ScaleOut(ctx, "staging")
	if err != nil || res.Action != autoscale.Abandon || !strings.Contains(res.Message, "release cannot be found") {
		t.Fatalf("scale-out without the release's bundle = %+v, %v; want ABANDON", res, err)
	}
	if got := serving(t, env); len(got) != before {
		t.Errorf("the abandoned instance is still there: %v", got)
	}
	if ev := lastEvent(t, env); ev.Kind != "scale-out-abandoned" || !strings.Contains(ev.Message, "abandoned") {
		t.Errorf("ledger event = %+v, want scale-out-abandoned", ev)
	}
}

// TestScenarioScaleOutBeforeTraffic: behind the embedded load balancer,
// an instance launched into the environment runs the release's
// before_traffic hook once healthy, before the group registers it in the
// target groups (as CodeDeploy's BeforeAllowTraffic on a scale-out
// instance), and only then is put into service. When the hook fails (t2's,
// joining a deployment of t2 whose waves have begun), the instance is
// abandoned before it gets any traffic, terminated, never registered, and
// the ledger and the deployment's instance results say why.
func TestScenarioScaleOutBeforeTraffic(t *testing.T) {
	env := trafficEnv(t, false)
	ctx := context.Background()
	mustDeploy(t, env, "t1")
	c, _ := env.Config.Env("staging")
	if len(c.TargetGroups) == 0 {
		t.Fatal("the environment has no target groups")
	}
	registered := func(id string) int {
		t.Helper()
		n := 0
		for _, g := range c.TargetGroups {
			ts, err := env.Deps.Traffic.Targets(ctx, g)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ts {
				if x.ID == id {
					n++
				}
			}
		}
		return n
	}

	res, err := env.ScaleOut(ctx, "staging")
	if err != nil || res.Action != autoscale.Continue || res.Version != "t1" || !strings.Contains(res.Message, "passed its before_traffic hook: put into service") {
		t.Fatalf("scale-out on t1 = %+v, %v; want CONTINUE after t1's before_traffic", res, err)
	}
	if got := hooksRun(t, env)[res.InstanceID]; got != "t1 before_traffic|" {
		t.Errorf("%s ran hooks %q, want t1's before_traffic only (after_traffic runs where a deployment moves traffic)", res.InstanceID, got)
	}
	if n := registered(res.InstanceID); n != len(c.TargetGroups) {
		t.Errorf("%s is in %d of the %d target groups after CONTINUE", res.InstanceID, n, len(c.TargetGroups))
	}
	if got := serving(t, env)[res.InstanceID]; got != "t1" {
		t.Errorf("%s serves %q, want t1", res.InstanceID, got)
	}

	// A deployment of t2 is under way, its waves begun: a new instance
	// joins it on t2, whose before_traffic fails.
	running := ledger.Deployment{ID: "dep-t2", App: "demo", Environment: "staging", Version: "t2", PreviousVersion: "t1",
		Kind: contract.KindDeploy, Status: contract.StatusRunning, StartedAt: time.Now()}
	if err := env.Ledger.PutDeployment(ctx, running); err != nil {
		t.Fatal(err)
	}
	if err := env.Ledger.PutInstanceResults(ctx, []ledger.InstanceResult{{DeploymentID: "dep-t2", CommandID: "c1", Wave: 0,
		InstanceID: "staging-1", Action: "activate", Version: "t2", Status: "Success"}}); err != nil {
		t.Fatal(err)
	}
	before := len(serving(t, env))
	res, err = env.ScaleOut(ctx, "staging")
	t.Logf("scale-out on t2: %s %s", res.Action, res.Message)
	if err != nil || res.Action != autoscale.Abandon || res.Version != "t2" ||
		!strings.Contains(res.Message, "runs t2 and is healthy, but its before_traffic hook failed (Failed, exit 11)") ||
		!strings.Contains(res.Message, "abandoned before it got any traffic") {
		t.Fatalf("scale-out on t2 = %+v, %v; want ABANDON naming t2's before_traffic", res, err)
	}
	if got := serving(t, env); len(got) != before {
		t.Errorf("the abandoned instance is still there: %v", got)
	}
	if n := registered(res.InstanceID); n != 0 {
		t.Errorf("the abandoned %s is registered in %d target groups", res.InstanceID, n)
	}
	if ev := lastEvent(t, env); ev.Kind != "scale-out-abandoned" || ev.DeploymentID != "dep-t2" || !strings.Contains(ev.Message, "before_traffic hook failed") {
		t.Errorf("ledger event = %+v, want scale-out-abandoned in dep-t2 naming the hook", ev)
	}
	results, err := env.Ledger.InstanceResults(ctx, "dep-t2")
	if err != nil {
		t.Fatal(err)
	}
	var hook *ledger.InstanceResult
	for i, r := range results {
		if r.InstanceID == res.InstanceID && r.Action == "before_traffic" {
			hook = &results[i]
		}
	}
	if hook == nil || hook.Version != "t2" || hook.ExitCode != 11 ||
		!strings.Contains(fleet.HookLines(hook.Output, "before_traffic"), "hook before_traffic: cache cold") {
		t.Errorf("dep-t2's instance results = %+v, want %s's before_traffic of t2, exit 11, with its output", results, res.InstanceID)
	}
}
