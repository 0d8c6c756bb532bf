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
