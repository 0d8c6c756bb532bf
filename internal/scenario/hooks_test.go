package scenario

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// hooksManifest is the three-wave manifest with the three per-instance
// hooks; each appends "VERSION HOOK" to hooks.log in the instance's root,
// and one of them may fail.
func hooksManifest(version, failing string) string {
	m := threeWaves + "hooks:\n"
	for _, h := range []string{"before_activate", "after_activate", "validate"} {
		run := fmt.Sprintf(`echo %s %s >> "$SLIPWAY_ROOT/hooks.log"; echo %s ran in $PWD with SLIPWAY_HOOK=$SLIPWAY_HOOK`, version, h, h)
		if h == failing {
			run += "; echo cache cold >&2; exit 3"
		}
		m += fmt.Sprintf("  %s: {run: '%s', timeout: 10s}\n", h, run)
	}
	return m
}

var hooksReleases releaseSet

// hooksRelease builds h1 (its hooks pass), h2 (before_activate fails) and
// h3 (validate fails).
func hooksRelease(t *testing.T, version string) []byte {
	t.Helper()
	builds := map[string]BuildOptions{}
	for v, failing := range map[string]string{"h1": "", "h2": "before_activate", "h3": "validate"} {
		builds[v] = BuildOptions{Manifest: []byte(hooksManifest(v, failing)), From: "v1"}
	}
	return hooksReleases.get(t, version, builds)
}

func hooksLog(t *testing.T, env *localenv.Env, id string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.Fleet.InstanceDir("staging", id), "hooks.log"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestScenarioHooks: a release's hooks run around its activation on each
// instance; a before_activate that fails switches nothing; a validate
// that fails after the switch rolls back, and the rollback runs the hooks
// of the release it returns to, not those of the one it leaves; the hooks'
// output is in the command log, line by line, per hook.
func TestScenarioHooks(t *testing.T) {
	env := fleetEnv(t, 3)
	for _, v := range []string{"h1", "h2", "h3"} {
		if _, err := env.Artifacts.Publish(context.Background(), "demo", v, hooksRelease(t, v)); err != nil {
			t.Fatal(err)
		}
	}
	mustDeploy(t, env, "h1")
	h1 := []string{"h1 before_activate", "h1 after_activate", "h1 validate"}
	for _, id := range []string{"staging-1", "staging-2", "staging-3"} {
		if got := hooksLog(t, env, id); strings.Join(got, "|") != strings.Join(h1, "|") {
			t.Errorf("%s hooks after deploying h1 = %q, want %q", id, got, h1)
		}
	}
	before := pids(t, env)

	// before_activate fails on the canary: nothing switches.
	exec, status := deploy(t, env, "h2", localenv.RunOptions{})
	if status != contract.StatusRolledBack || exec.Error != "DeployFailed" || !strings.Contains(exec.Cause, "staging-1: a lifecycle hook failed (hook before_activate of h2 failed (exit 3))") {
		t.Fatalf("deploy h2 = %s %s (%s), want ROLLED_BACK after DeployFailed naming the hook", status, exec.Error, exec.Cause)
	}
	if got, want := hooksLog(t, env, "staging-1"), append(h1, "h2 before_activate"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("staging-1 hooks after h2 = %q, want %q", got, want)
	}
	if after := pids(t, env); !equalMaps(before, after) {
		t.Errorf("a failed before_activate restarted the app: pids %v → %v", before, after)
	}
	hist, _ := os.ReadFile(filepath.Join(env.Fleet.InstanceDir("staging", "staging-1"), "history"))
	if strings.Contains(string(hist), "h2") {
		t.Errorf("staging-1's history records a switch to h2 although its before_activate failed:\n%s", hist)
	}
	allServe(t, env, "h1")
	results, _ := env.Ledger.InstanceResults(context.Background(), exec.Name)
	var logged bool
	for _, r := range results {
		if r.InstanceID == "staging-1" && r.Action == "activate" {
			logged = strings.Contains(r.Output, "hook before_activate: before_activate ran in ") && strings.Contains(r.Output, "hook before_activate: cache cold")
		}
	}
	if !logged {
		t.Errorf("the command log of staging-1 does not show the hook's output per hook: %+v", results)
	}

	// validate fails after the switch: rolled back, with h1's hooks.
	exec, status = deploy(t, env, "h3", localenv.RunOptions{})
	if status != contract.StatusRolledBack || exec.Error != "DeployFailed" || !strings.Contains(exec.Cause, "hook validate of h3 failed (exit 3)") {
		t.Fatalf("deploy h3 = %s %s (%s), want ROLLED_BACK after DeployFailed naming the hook", status, exec.Error, exec.Cause)
	}
	allServe(t, env, "h1")
	if r := reportOf(t, env, exec.Name); !strings.Contains(r, "hook validate on each instance, after after_activate: `echo h3 validate") || !strings.Contains(r, "a rollback runs h1's own hooks instead — failed: wave 1: h3 failed on 1 of 1 instances") {
		t.Errorf("deploy h3's report does not show the failed hook in its checklist:\n%s", r)
	}
	want := append(append(append([]string{}, h1...), "h2 before_activate", "h3 before_activate", "h3 after_activate", "h3 validate"), h1...)
	if got := hooksLog(t, env, "staging-1"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("staging-1 hooks after h3 and its rollback = %q, want %q (the rollback runs h1's hooks)", got, want)
	}
	if got := hooksLog(t, env, "staging-2"); strings.Join(got, "|") != strings.Join(h1, "|") {
		t.Errorf("staging-2, never reached by h2 or h3, ran hooks %q, want %q", got, h1)
	}
}
