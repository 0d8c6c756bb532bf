package scenario

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// TestScenarioHostShortOfDiskRefusedBeforeLock: a host whose release
// volume has less free than the release needs (simulated through the host
// setting the host script reads) refuses the deployment before it takes
// the lock, naming the host and the figure; nothing changes.
func TestScenarioHostShortOfDiskRefusedBeforeLock(t *testing.T) {
	env := fleetEnv(t, 3)
	mustDeploy(t, env, "v1")
	before := pids(t, env)
	hostEnv := filepath.Join(env.Fleet.InstanceDir("staging", "staging-2"), "host.env")
	f, err := os.OpenFile(hostEnv, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("SLIPWAY_SIMULATE_DISK_FREE_KB=2048\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	exec, status := deploy(t, env, "v2", localenv.RunOptions{})
	if status != contract.StatusFailed || exec.Error != "PreflightFailed" {
		t.Fatalf("deploy v2 = %s %s %q, want FAILED PreflightFailed", status, exec.Error, exec.Cause)
	}
	t.Logf("refused: %s", exec.Cause)
	for _, w := range []string{"staging-2 has 2MiB free on its release volume (", "), needs ", "MiB unpacked + ", "bundle + 100MiB margin (host.disk_margin)", "free space on the host"} {
		if !strings.Contains(exec.Cause, w) {
			t.Errorf("deploy v2's cause does not say %q:\n%s", w, exec.Cause)
		}
	}
	if strings.Contains(exec.Cause, "staging-1") || strings.Contains(exec.Cause, "staging-3") {
		t.Errorf("deploy v2's cause names a host with room:\n%s", exec.Cause)
	}
	steps, _ := env.Ledger.Steps(context.Background(), exec.Name)
	for _, s := range steps {
		if s.Stage == "lock" || s.Stage == "snapshot" || s.Stage == "migrate" || s.Stage == "rollout" {
			t.Errorf("step %s ran after the refusal: %s", s.Stage, s.Message)
		}
	}
	if r := reportOf(t, env, exec.Name); !strings.Contains(r, "before the lock: every host has at least ") || !strings.Contains(r, "(host.disk_margin)) — failed: staging-2 has 2MiB free") {
		t.Errorf("deploy v2's report does not show the hosts' check failed in its checklist:\n%s", r)
	}
	allServe(t, env, "v1")
	if after := pids(t, env); !equalMaps(before, after) {
		t.Errorf("pids changed: %v → %v", before, after)
	}
}
