package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
)

// lockWorld is a ledger with deployment "holder" holding staging's lease.
func lockWorld(t *testing.T, alive bool) (*Lock, *ledgersqlite.Store, *time.Time) {
	t.Helper()
	led, err := ledgersqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	if err := led.PutDeployment(ctx, ledger.Deployment{ID: "holder", App: "demo", Environment: "staging", Version: "v1", Kind: contract.KindDeploy,
		Status: contract.StatusRunning, ExecutionID: "exec-holder", Trigger: contract.Trigger{Source: "cli", Actor: "ada"}, StartedAt: now, SchemaBefore: -1, SchemaAfter: -1}); err != nil {
		t.Fatal(err)
	}
	led.AddStep(ctx, ledger.Step{DeploymentID: "holder", Stage: "rollout", Status: "info", Message: "wave 1", At: now})
	if _, err := led.AcquireLease(ctx, "demo", "staging", "exec-holder", "holder", time.Hour, now); err != nil {
		t.Fatal(err)
	}
	d := &Deps{Config: &config.Config{App: "demo", Environments: map[string]config.Environment{"staging": {}}}, Ledger: led,
		Now:   func() time.Time { return now },
		Alive: func(context.Context, ledger.Deployment) (bool, error) { return alive, nil },
	}
	return &Lock{Deps: d}, led, &now
}

// TestLockWaitsVisiblyThenRefuses is finding 2 of issue 10: a deployment
// that meets another one's lease says whom it waits for, and gives up with
// a named refusal after the lease wait, not with an empty timeout.
func TestLockWaitsVisiblyThenRefuses(t *testing.T) {
	h, led, now := lockWorld(t, true)
	ctx := context.Background()
	in := contract.LockInput{Action: "acquire", App: "demo", Environment: "staging", Owner: "exec-2", DeploymentID: "second", WaitSeconds: 600}
	out, err := h.Handle(ctx, in)
	if err != nil || out.Held || out.Waiting == nil || out.Waiting.Holder != "holder" || out.Waiting.HolderActor != "ada" || out.Waiting.HolderStage != "rollout" {
		t.Fatalf("Handle() = %+v, %v; want waiting for holder (ada, at rollout)", out, err)
	}
	steps, _ := led.Steps(ctx, "second")
	if len(steps) != 1 || !strings.Contains(steps[0].Message, "waiting for deployment holder (started by ada, at rollout)") {
		t.Errorf("steps = %+v, want one saying whom it waits for", steps)
	}
	// Five minutes later: still waiting, since the first answer.
	*now = now.Add(5 * time.Minute)
	in.Previous = &out
	out, err = h.Handle(ctx, in)
	if err != nil || out.Held || out.Waiting.Since != in.Previous.Waiting.Since {
		t.Fatalf("Handle() after 5m = %+v, %v; want still waiting since the first answer", out, err)
	}
	// Past the lease wait: a refusal that names the holder.
	*now = now.Add(6 * time.Minute)
	in.Previous = &out
	_, err = h.Handle(ctx, in)
	var dip *contract.DeploymentInProgress
	if !errors.As(err, &dip) || dip.Holder != "holder" || !strings.Contains(dip.Message, "slipway unlock --env staging --force") {
		t.Fatalf("Handle() after 11m = %v, want DeploymentInProgress naming holder and the way out", err)
	}
	// The lease was never taken from a live holder.
	locks, _ := led.Locks(ctx, "demo", "staging")
	if len(locks) != 1 || locks[0].DeploymentID != "holder" {
		t.Errorf("locks = %+v, want holder's lease untouched", locks)
	}
}

// TestLockTakesOverADeadOwnersLease is finding 3 of issue 10: a lease whose
// owner is gone is taken over, and the orphan's record is closed (not left
// RUNNING), with an event saying so.
func TestLockTakesOverADeadOwnersLease(t *testing.T) {
	h, led, _ := lockWorld(t, false)
	h.Fleet = noFleet{}
	ctx := context.Background()
	out, err := h.Handle(ctx, contract.LockInput{Action: "acquire", App: "demo", Environment: "staging", Owner: "exec-2", DeploymentID: "second"})
	if err != nil || !out.Held || out.Owner != "exec-2" {
		t.Fatalf("Handle() = %+v, %v; want the lease taken over", out, err)
	}
	d, err := led.GetDeployment(ctx, "holder")
	if err != nil || !d.Final() || d.Error != AbandonedError {
		t.Errorf("the orphan's record = %s %s (%v), want it closed as abandoned", d.Status, d.Error, err)
	}
	events, _ := led.Events(ctx, "demo", "staging", 0)
	found := false
	for _, e := range events {
		found = found || e.Kind == "lease-taken-over" && e.DeploymentID == "holder"
	}
	if !found {
		t.Errorf("events = %+v, want lease-taken-over for holder", events)
	}
}

// noFleet is an environment whose instances are all offline: an
// observation finds them unreachable.
type noFleet struct{}

func (noFleet) Instances(context.Context, string, map[string]string) ([]fleet.Instance, error) {
	return []fleet.Instance{{ID: "i-1"}}, nil
}
func (noFleet) Lookup(context.Context, string, []string) ([]fleet.Instance, error) { return nil, nil }
func (noFleet) Send(context.Context, string, fleet.Command) (string, error) {
	return "", errors.New("offline")
}
func (noFleet) Status(context.Context, string) (fleet.CommandResult, error) {
	return fleet.CommandResult{}, errors.New("offline")
}
