package localenv

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// TestCloseAbandonedClosesADeadRunnersRecord is finding 3 of issue 10:
// a deployment whose `slipway deploy` process was killed must not stay
// RUNNING: `slipway status` (CloseAbandoned) closes it from observation
// and releases its lease, and leaves a live runner's deployment alone.
func TestCloseAbandonedClosesADeadRunnersRecord(t *testing.T) {
	ctx := context.Background()
	env, err := Init(filepath.Join(t.TempDir(), "state"), Options{App: "demo", Instances: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop(ctx)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, d := range []struct {
		id  string
		pid int
	}{{"killed", dead.Process.Pid}, {"alive", os.Getpid()}} {
		if err := env.Ledger.PutDeployment(ctx, ledger.Deployment{ID: d.id, App: "demo", Environment: "staging", Version: "v2", Kind: contract.KindDeploy,
			Status: contract.StatusRunning, ExecutionID: "exec-" + d.id, StartedAt: now, SchemaBefore: -1, SchemaAfter: -1}); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(env.Root, "runs"), 0o755)
		b, _ := json.Marshal(run{PID: d.pid, Start: procStart(d.pid)})
		os.WriteFile(env.runPath(d.id), b, 0o644)
	}
	// The killed one had sent its canary an activation.
	env.Ledger.PutInstanceResults(ctx, []ledger.InstanceResult{{DeploymentID: "killed", CommandID: "c1", InstanceID: "staging-1", Action: "activate",
		Version: "v2", Status: "InProgress", ExitCode: -1, StartedAt: now}})
	if _, err := env.Ledger.AcquireLease(ctx, "demo", "staging", "exec-killed", "killed", time.Hour, now); err != nil {
		t.Fatal(err)
	}
	env.Deps.SettleWait = time.Second

	closed, err := env.CloseAbandoned(ctx, "staging")
	if err != nil || len(closed) != 1 || closed[0] != "killed" {
		t.Fatalf("CloseAbandoned() = %v, %v; want [killed]", closed, err)
	}
	d, _ := env.Ledger.GetDeployment(ctx, "killed")
	if d.Status != contract.StatusAbandoned || d.Observed == nil || d.Observed.Fleet == nil || d.Observed.Fleet.Total != 2 {
		t.Errorf("killed = %s, observed %+v; want ABANDONED with both instances observed", d.Status, d.Observed)
	}
	if a, _ := env.Ledger.GetDeployment(ctx, "alive"); a.Status != contract.StatusRunning {
		t.Errorf("a deployment whose runner lives was closed: %s", a.Status)
	}
	if locks, _ := env.Ledger.Locks(ctx, "demo", "staging"); len(locks) != 0 {
		t.Errorf("locks = %+v, want the killed deployment's lease released", locks)
	}
}
