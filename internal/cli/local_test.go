package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/status"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/report"
	"github.com/slipway-deploy/slipway/internal/scenario"
)

var (
	bundlesOnce sync.Once
	bundles     map[string]string // version -> bundle file
	bundlesErr  error
)

// releaseFiles builds the demo app's v1..v3 once per test binary and
// returns their bundle files, as `slipway release build` would write them.
func releaseFiles(t *testing.T) map[string]string {
	t.Helper()
	bundlesOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-cli-releases-")
		if err != nil {
			bundlesErr = err
			return
		}
		bundles = map[string]string{}
		for _, v := range []string{"v1", "v2", "v3"} {
			b, err := scenario.BuildRelease(context.Background(), filepath.Join("..", "..", "examples", "demo-app"), v, filepath.Join(dir, "work"), scenario.BuildOptions{})
			if err != nil {
				bundlesErr = err
				return
			}
			p := filepath.Join(dir, v+".tar.gz")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				bundlesErr = err
				return
			}
			bundles[v] = p
		}
	})
	if bundlesErr != nil {
		t.Fatalf("build releases: %v", bundlesErr)
	}
	return bundles
}

// stateDir returns a state directory for an embedded environment whose
// app processes and load balancer are stopped when the test ends.
func stateDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() {
		if env, err := localenv.Open(dir); err == nil {
			env.Stop(context.Background())
		}
	})
	return dir
}

// slipway runs a command line against the embedded environment in dir and
// returns the exit code and what it printed.
func slipway(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	io, out, errOut := backendtest.IO()
	code := Run(context.Background(), &factory.Factory{IO: io}, append(args, "--local-dir", dir))
	return code, out.String(), errOut.String()
}

func must(t *testing.T, want int, dir string, args ...string) string {
	t.Helper()
	code, out, errOut := slipway(t, dir, args...)
	if code != want {
		t.Fatalf("slipway %s = exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out + errOut
}

// TestLocalEndToEnd runs the commands, as a person would, against a real
// embedded environment: real processes, the real state machines.
func TestLocalEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three releases and runs real processes")
	}
	files := releaseFiles(t)
	dir := stateDir(t)
	must(t, 0, dir, "local", "init", "--dir", dir, "--app", "demo", "--env", "staging,production", "--instances", "2", "--balancer=false")
	// v2 is published with its test result; production takes only tested
	// builds (require: tested, its default).
	for _, v := range []string{"v1", "v3"} {
		must(t, 0, dir, "release", "publish", files[v], "--version", v)
	}
	if out := must(t, 0, dir, "release", "publish", files["v2"], "--version", "v2", "--tests-passed"); !strings.Contains(out, "tests passed (--tests-passed)") {
		t.Errorf("publish v2 --tests-passed:\n%s", out)
	}
	must(t, factory.ExitUsage, dir, "release", "publish", files["v1"], "--version", "v9") // built for v1

	// A plan changes nothing and has the six sections.
	out := must(t, 0, dir, "plan", "--env", "staging", "--version", "v1", "--json")
	var plan report.Report
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	if plan.Kind != "plan" || len(plan.Plan.Waves) != 2 || !plan.Plan.Migrations.Known || len(plan.Plan.Migrations.Pending) != 1 ||
		len(plan.Risk.Factors) != 5 || len(plan.Steps) == 0 || len(plan.Checklist.Checks) == 0 || len(plan.Monitoring.Commands) == 0 {
		t.Errorf("plan = %+v, want two waves, one pending migration, five risk factors and every section", plan)
	}
	if hist := must(t, 0, dir, "history", "--json"); strings.TrimSpace(hist) != "[]" {
		t.Errorf("history after a plan = %s, want none: a plan changes nothing", hist)
	}

	// Deploy v1; promote refuses v2, which never ran on staging.
	out = must(t, 0, dir, "deploy", "--env", "staging", "--version", "v1")
	for _, want := range []string{"preflight", "── done in", "rollout", "SUCCEEDED"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	out = must(t, factory.ExitRefused, dir, "promote", "--from", "staging", "--to", "production", "--version", "v2")
	if !strings.Contains(out, "refusing to promote v2: it was never deployed to staging") || !strings.Contains(out, "hint: deploy it to staging first") {
		t.Errorf("promote of a release staging never ran:\n%s", out)
	}
	// v1 ran on staging, but has no test record: production refuses it
	// before anything changes.
	out = must(t, factory.ExitRefused, dir, "promote", "--from", "staging", "--to", "production", "--version", "v1")
	if !strings.Contains(out, "may not deploy to production") || !strings.Contains(out, "--tests-passed") {
		t.Errorf("promote of an untested release:\n%s", out)
	}
	must(t, 0, dir, "deploy", "--env", "staging", "--version", "v2")

	// The plan of v3 compares it with v2 and finds v2 on every host.
	out = must(t, 0, dir, "plan", "--env", "staging", "--version", "v3")
	for _, want := range []string{"replacing v2", "v2 is on every host", "files changed since v2", "serves v2"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan of v3 lacks %q:\n%s", want, out)
		}
	}

	// Promote v2 to production: it waits for an approval, given from
	// another command line.
	ctx := context.Background()
	promoted := make(chan string, 1)
	go func() {
		_, o, e := slipway(t, dir, "promote", "--from", "staging", "--to", "production", "--version", "v2", "--as", "ada")
		promoted <- o + e
	}()
	id := waitForApproval(t, dir)
	out = must(t, 0, dir, "status", "--env", "production")
	if !strings.Contains(out, id+" waits") {
		t.Errorf("status does not show the deployment waiting for approval:\n%s", out)
	}
	must(t, 0, dir, "approve", id, "--as", "grace", "--reason", "plan checked")
	select {
	case out = <-promoted:
	case <-time.After(2 * time.Minute):
		t.Fatal("promote did not finish after the approval")
	}
	if !strings.Contains(out, "approved by grace: plan checked") || !strings.Contains(out, id+" v2 SUCCEEDED") {
		t.Errorf("promote output:\n%s", out)
	}

	// v3 fails its health check and rolls back: exit 1, and the report says why.
	out = must(t, factory.ExitFailed, dir, "deploy", "--env", "staging", "--version", "v3")
	if !strings.Contains(out, "ROLLED_BACK") || !strings.Contains(out, "hint: `slipway show") {
		t.Errorf("deploy of v3:\n%s", out)
	}
	v3 := latest(t, dir, "staging")
	out = must(t, 0, dir, "show", v3)
	for _, want := range []string{"Outcome: ROLLED_BACK", "1. Deployment Plan", "2. Risk Assessment", "3. Execution Steps", "4. Validation Checklist",
		"5. Rollback Procedure", "6. Monitoring Points", "Timings", "Per-instance results", "Triggered by  HealthCheckFailed", "schema reverted 3 → 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("show %s lacks %q:\n%s", v3, want, out)
		}
	}
	out = must(t, 0, dir, "show", v3, "--json")
	var rep report.Report
	err := json.Unmarshal([]byte(out), &rep)
	moves := 0
	for _, i := range rep.Instances {
		if i.Action == "activate" || i.Action == "rollback" {
			moves++
		}
	}
	if err != nil || rep.Outcome == nil || rep.RolledBack == nil || moves != 2 {
		t.Errorf("show --json = %v, %+v; want the outcome, the rollback and two instance results that moved an instance", err, rep.Outcome)
	}
	if out = must(t, 0, dir, "logs", v3, "--action", "activate"); !strings.Contains(out, "exit 6") || !strings.Contains(out, "health check failed") {
		t.Errorf("logs of v3's activation:\n%s", out)
	}
	var results []ledger.InstanceResult
	out = must(t, 0, dir, "logs", v3, "--action", "activate", "--json")
	if err := json.Unmarshal([]byte(out), &results); err != nil || len(results) == 0 {
		t.Fatalf("logs --json = %v, %d results:\n%s", err, len(results), out)
	}
	for _, r := range results {
		if r.DeploymentID != v3 || r.Action != "activate" || r.InstanceID == "" {
			t.Errorf("logs --json --action activate result = %+v, want v3's activations", r)
		}
	}

	// What each environment serves.
	out = must(t, 0, dir, "status", "--json")
	var envs []status.Environment
	if err := json.Unmarshal([]byte(out), &envs); err != nil || len(envs) != 2 {
		t.Fatalf("status --json = %v:\n%s", err, out)
	}
	for _, e := range envs {
		if e.Serves != "v2" || len(e.Instances) != 2 || e.Instances[0].Serves != "v2" || len(e.Running) != 0 || len(e.Locks) != 0 {
			t.Errorf("status of %s = %+v, want v2 on both instances, nothing running, no lock", e.Environment, e)
		}
	}

	// A manual lock stops a deployment (exit 3) until it is released.
	must(t, 0, dir, "lock", "acquire", "--env", "staging", "-m", "investigating", "--as", "grace")
	out = must(t, factory.ExitRefused, dir, "deploy", "--env", "staging", "--version", "v1")
	if !strings.Contains(out, "LockHeld") || !strings.Contains(out, "frozen by grace") || strings.Contains(out, " rollback ") {
		t.Errorf("deploy under a manual lock (refused: no rollback line):\n%s", out)
	}
	must(t, factory.ExitRefused, dir, "plan", "--env", "staging", "--version", "v1")
	must(t, 0, dir, "lock", "release", "--env", "staging")

	// A rollback needs a succeeded last deployment: deploy v1, then roll
	// it back to v2; nothing holds a lease afterwards.
	must(t, factory.ExitFailed, dir, "rollback", "--env", "staging") // the last one, v3, rolled back already
	must(t, 0, dir, "deploy", "--env", "staging", "--version", "v1")
	out = must(t, 0, dir, "rollback", "--env", "staging", "--reason", "v1 again was a mistake")
	if !strings.Contains(out, "ROLLED_BACK") || !strings.Contains(out, "serves v2 again") {
		t.Errorf("rollback:\n%s", out)
	}
	if out = must(t, 0, dir, "unlock", "--env", "staging", "--force"); !strings.Contains(out, "no lease") {
		t.Errorf("unlock after the rollback:\n%s", out)
	}
	out = must(t, 0, dir, "history", "--env", "staging")
	if n := strings.Count(out, "\nstaging-"); n != 7 { // v1, v2, v3, the locked v1, the refused rollback, v1, the rollback
		t.Errorf("history of staging lists %d deployments, want 7:\n%s", n, out)
	}
	env, err := localenv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	for _, id := range []string{"staging-1", "staging-2"} {
		if v, _ := env.Fleet.Current("staging", id); v != "v2" {
			t.Errorf("%s serves %q after the rollback, want v2", id, v)
		}
	}
	if evs, _ := env.Ledger.Events(ctx, "demo", "staging", 0); len(evs) < 2 {
		t.Errorf("events = %+v, want the lock's acquire and release", evs)
	}
}

func waitForApproval(t *testing.T, dir string) string {
	t.Helper()
	env, err := localenv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		as, _ := env.Ledger.Approvals(context.Background(), "demo", "production")
		for _, a := range as {
			if a.Decision == ledger.ApprovalPending {
				return a.DeploymentID
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no approval request within a minute")
	return ""
}

func latest(t *testing.T, dir, env string) string {
	t.Helper()
	out := must(t, 0, dir, "history", "--env", env, "--json", "--limit", "1")
	var es []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &es); err != nil || len(es) != 1 {
		t.Fatalf("history --json: %v\n%s", err, out)
	}
	if es[0].Status == contract.StatusRunning {
		t.Fatalf("latest deployment %s is still running", es[0].ID)
	}
	return es[0].ID
}

// TestPlanWithoutTheDatabase plans against a database that cannot be
// reached, as from a laptop against RDS in a private subnet: the plan
// still has its waves and says the migrations are unknown.
func TestPlanWithoutTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds releases")
	}
	files := releaseFiles(t)
	dir := stateDir(t)
	must(t, 0, dir, "local", "init", "--dir", dir, "--app", "demo", "--env", "staging", "--instances", "2")
	must(t, 0, dir, "release", "publish", files["v1"], "--version", "v1")
	env, err := localenv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A PostgreSQL database nothing listens for.
	if err := env.Secrets.Put("slipway/demo/staging/database", `{"engine":"postgres","host":"127.0.0.1","port":1,"username":"u","password":"p","dbname":"d"}`); err != nil {
		t.Fatal(err)
	}
	env.Close()
	out := must(t, 0, dir, "plan", "--env", "staging", "--version", "v1", "--json")
	var plan report.Report
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	if plan.Plan.Migrations.Known || len(plan.Plan.Waves) != 2 || plan.Plan.Refusal != "" {
		t.Errorf("plan = %+v, want unknown migrations, two waves and no refusal", plan.Plan)
	}
	found := false
	for _, n := range plan.Notes {
		found = found || strings.Contains(n, "database could not be read")
	}
	if !found || strings.Contains(out, `"p"`) {
		t.Errorf("notes = %v: want one saying the database could not be read, and never the password", plan.Notes)
	}
}

// TestLocalScaleOut launches an instance with `local scale-out` after a
// deployment: it joins the fleet on the release the environment serves.
func TestLocalScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds releases and runs real processes")
	}
	files := releaseFiles(t)
	dir := stateDir(t)
	must(t, 0, dir, "local", "init", "--dir", dir, "--app", "demo", "--env", "staging", "--instances", "1")
	must(t, factory.ExitUsage, dir, "local", "scale-out")
	must(t, 0, dir, "release", "publish", files["v1"], "--version", "v1")
	must(t, 0, dir, "deploy", "--env", "staging", "--version", "v1")
	out := must(t, 0, dir, "local", "scale-out", "--env", "staging")
	if !strings.Contains(out, "CONTINUE:") || !strings.Contains(out, "runs v1 and is healthy") {
		t.Errorf("local scale-out said %q, want the instance put into service on v1", out)
	}
	if st := must(t, 0, dir, "status", "--env", "staging"); !strings.Contains(st, "scale-out   scale-out ") || !strings.Contains(st, "runs v1 and is healthy: put into service") {
		t.Errorf("status does not show the scale-out:\n%s", st)
	}
	env, err := localenv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	insts, err := env.Fleet.Instances(context.Background(), "staging")
	if err != nil || len(insts) != 2 {
		t.Errorf("staging has %d instances (%v), want 2", len(insts), err)
	}
}
