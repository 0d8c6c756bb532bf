package scenario

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/provenance"
)

// productionEnv is an embedded environment with staging and production
// (2 instances each) and v1..v3 published.
func productionEnv(t *testing.T) *localenv.Env {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real processes")
	}
	env, err := localenv.Init(filepath.Join(t.TempDir(), "state"), localenv.Options{App: "demo", Environments: []string{"staging", "production"}, Instances: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop(context.Background()) })
	for _, v := range []string{"v1", "v2"} {
		meta, err := env.Artifacts.Publish(context.Background(), "demo", v, release(t, v))
		if err != nil {
			t.Fatal(err)
		}
		// Production takes only tested builds.
		if err := env.Artifacts.PutProvenance(context.Background(), "demo", v, provenance.Record{Version: v, SHA256: meta.SHA256,
			Tests: &provenance.Tests{Passed: true, Source: "the scenario's build"}}); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// decide waits for the deployment's approval request and records a decision,
// as `slipway approve` or `slipway reject` does from another process. It
// fails the test if no request comes within 60s, or the ledger cannot be
// read or refuses the decision; the test waits for it to end.
func decide(t *testing.T, env *localenv.Env, decision, by, reason string) <-chan ledger.Approval {
	t.Helper()
	done := make(chan ledger.Approval, 1)
	stop, ended := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop); <-ended })
	go func() {
		defer close(ended)
		defer close(done)
		deadline := time.Now().Add(60 * time.Second)
		for {
			as, err := env.Ledger.Approvals(context.Background(), "demo", "production")
			if err != nil {
				t.Errorf("read production's approvals: %v", err)
				return
			}
			for _, a := range as {
				if a.Decision == ledger.ApprovalPending {
					got, err := env.Ledger.DecideApproval(context.Background(), "demo", "production", a.DeploymentID, decision, by, reason, time.Now())
					if err != nil {
						t.Errorf("record %s for %s: %v", decision, a.DeploymentID, err)
						return
					}
					done <- got
					return
				}
			}
			if time.Now().After(deadline) {
				t.Errorf("no approval request for production within 60s: nothing to record %s", decision)
				return
			}
			select {
			case <-stop:
				t.Errorf("the test ended before production asked for approval: nothing to record %s", decision)
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return done
}

func deployProduction(t *testing.T, env *localenv.Env, version string) (*asl.Execution, ledger.Deployment) {
	t.Helper()
	exec, err := env.Deploy(context.Background(), contract.DeployRequest{App: "demo", Environment: "production", Version: version,
		Trigger: contract.Trigger{Source: "cli", Actor: "ada"}}, localenv.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Ledger.GetDeployment(context.Background(), exec.Name)
	if err != nil {
		t.Fatal(err)
	}
	return exec, d
}

func TestScenarioProductionWaitsForApproval(t *testing.T) {
	env := productionEnv(t)
	decided := decide(t, env, ledger.ApprovalApproved, "grace", "checked the plan")
	exec, d := deployProduction(t, env, "v1")
	a := <-decided
	if d.Status != contract.StatusSucceeded {
		t.Fatalf("approved production deploy = %s %s %s, want SUCCEEDED", d.Status, exec.Error, exec.Cause)
	}
	if a.DeploymentID != exec.Name || a.Token == "" || !strings.Contains(a.Summary, "deploy v1 to production") {
		t.Errorf("approval = %+v, want the request of %s with its token and summary", a, exec.Name)
	}
	steps, _ := env.Ledger.Steps(context.Background(), exec.Name)
	var waited, locked int
	for i, s := range steps {
		switch s.Stage {
		case "approval":
			waited = i + 1
		case "lock":
			locked = i + 1
		}
	}
	if waited == 0 || locked < waited {
		t.Errorf("steps %+v: want the approval before the lock", steps)
	}
}

func TestScenarioRejectedApprovalChangesNothing(t *testing.T) {
	env := productionEnv(t)
	decide(t, env, ledger.ApprovalRejected, "grace", "not during the sale")
	exec, d := deployProduction(t, env, "v1")
	if d.Status != contract.StatusFailed || exec.Error != "Rejected" || !strings.Contains(exec.Cause, "rejected by grace: not during the sale") {
		t.Fatalf("rejected production deploy = %s %s %q, want FAILED Rejected naming grace and her reason", d.Status, exec.Error, exec.Cause)
	}
	for _, id := range []string{"production-1", "production-2"} {
		if v, _ := env.Fleet.Current("production", id); v != "" {
			t.Errorf("%s has current = %q after a rejected deploy, want none", id, v)
		}
	}
}
