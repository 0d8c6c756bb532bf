package scenario

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// trafficHooks is a hooks: section with before_traffic and after_traffic:
// each appends "VERSION HOOK" to hooks.log in the instance's root and says
// where it ran; the one named failing then fails.
func trafficHooks(version, failing string) string {
	m := "hooks:\n"
	for _, h := range []string{"before_traffic", "after_traffic"} {
		run := fmt.Sprintf(`echo %s %s >> "$SLIPWAY_ROOT/hooks.log"; echo %s of %s ran with SLIPWAY_HOOK=$SLIPWAY_HOOK`, version, h, h, version)
		if h == failing {
			run += "; echo cache cold >&2; exit 3"
		}
		m += fmt.Sprintf("  %s: {run: '%s', timeout: 10s}\n", h, run)
	}
	return m
}

// blueGreenSmoke is the blue/green manifest with smoke checks on the
// greeting, whose default each release sets (b2 ships a typo the health
// check cannot see).
const blueGreenSmoke = blueGreenManifest + `config:
  GREETING:
    default: %s
smoke:
  - name: home page greets
    path: /
    body_contains: "hello from demo"
    max_latency: 2s
`

var trafficReleases releaseSet

// trafficRelease builds, from the demo's v1 sources (one schema, no
// migration): b1 (blue/green, smoke checks and traffic hooks pass), b2
// (its smoke check fails), b3 (its before_traffic fails), b4 (its
// after_traffic fails); t1 to t4 are in place in three waves, t2's
// before_traffic failing, t4's after_traffic; t5's before_traffic fails
// on an instance whose root holds before_traffic.fail.
func trafficRelease(t *testing.T, version string) []byte {
	t.Helper()
	builds := map[string]BuildOptions{}
	for v, c := range map[string]struct{ greeting, failing string }{"b1": {"hello", ""}, "b2": {"helo", ""}, "b3": {"hello", "before_traffic"}, "b4": {"hello", "after_traffic"}} {
		builds[v] = BuildOptions{Manifest: []byte(strings.Replace(blueGreenSmoke, "%s", c.greeting, 1) + trafficHooks(v, c.failing)), From: "v1"}
	}
	for v, failing := range map[string]string{"t1": "", "t2": "before_traffic", "t3": "", "t4": "after_traffic"} {
		builds[v] = BuildOptions{Manifest: []byte(threeWaves + trafficHooks(v, failing)), From: "v1"}
	}
	// t5's before_traffic fails where the instance's root holds
	// before_traffic.fail: a rollback wave returning to t5 can be made to
	// fail while out of the target group.
	builds["t5"] = BuildOptions{Manifest: []byte(threeWaves + strings.Replace(trafficHooks("t5", ""),
		`echo before_traffic of t5 ran with SLIPWAY_HOOK=$SLIPWAY_HOOK`,
		`echo before_traffic of t5 ran with SLIPWAY_HOOK=$SLIPWAY_HOOK; if [ -e "$SLIPWAY_ROOT/before_traffic.fail" ]; then echo not ready >&2; exit 4; fi`, 1)), From: "v1"}
	return trafficReleases.get(t, version, builds)
}

// trafficEnv is an embedded environment with the releases published:
// blue/green (four instances, two a side) or three instances behind the
// embedded load balancer.
func trafficEnv(t *testing.T, blueGreen bool) *localenv.Env {
	t.Helper()
	opts := localenv.Options{App: "demo", Instances: 3, Balancer: true}
	if blueGreen {
		opts = localenv.Options{App: "demo", Instances: 4, BlueGreen: true}
	}
	env := newFleetEnv(t, opts)
	for _, v := range []string{"b1", "b2", "b3", "b4", "t1", "t2", "t3", "t4", "t5"} {
		if _, err := env.Artifacts.Publish(context.Background(), "demo", v, trafficRelease(t, v)); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// hooksRun is what hooks.log of each instance holds ("" when none ran).
func hooksRun(t *testing.T, env *localenv.Env) map[string]string {
	t.Helper()
	insts, err := env.Fleet.Instances(context.Background(), "staging")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range insts {
		b, err := os.ReadFile(filepath.Join(env.Fleet.InstanceDir("staging", i.ID), "hooks.log"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out[i.ID] = strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\n", "|")), " ")
	}
	return out
}

// sideIDs are the instances of a blue/green side.
func sideIDs(t *testing.T, env *localenv.Env, side string) []string {
	t.Helper()
	insts, err := env.Deps.Fleet.Instances(context.Background(), "staging", map[string]string{localenv.SideTag: side})
	if err != nil || len(insts) != 2 {
		t.Fatalf("%s side = %v, %v; want 2 instances", side, insts, err)
	}
	return []string{insts[0].ID, insts[1].ID}
}

// groupStates is, for each of staging's target groups, the state of each
// target registered in it.
func groupStates(t *testing.T, env *localenv.Env) map[string]map[string]string {
	t.Helper()
	c, _ := env.Config.Env("staging")
	out := map[string]map[string]string{}
	for _, g := range c.TargetGroups {
		ts, err := env.Deps.Traffic.Targets(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		out[g] = map[string]string{}
		for _, x := range ts {
			out[g][x.ID] = x.State
		}
	}
	return out
}

// steps is the deployment's ledger steps, one line each.
func stepLines(t *testing.T, env *localenv.Env, id string) string {
	t.Helper()
	steps, err := env.Ledger.Steps(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range steps {
		lines = append(lines, s.Status+" "+s.Message)
	}
	return strings.Join(lines, "\n")
}

// TestScenarioBlueGreenSmokeCheckFailsOnlyOnTheNewRelease: under
// blue/green the smoke checks run on the idle side's instances once the
// balancer reports them healthy, before any weight moves, and through the
// balancer after the last shift. b1 passes both; b2, whose greeting has a
// typo its health check cannot see, fails on the green side before any
// weight moved: switched back (the listener confirmed on blue), zero
// failed requests under load, no answer from b2 through the endpoint, and
// the record says no traffic moved.
func TestScenarioBlueGreenSmokeCheckFailsOnlyOnTheNewRelease(t *testing.T) {
	env := trafficEnv(t, true)
	url, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}
	exec, status := deploy(t, env, "b1", localenv.RunOptions{})
	if status != contract.StatusSucceeded {
		t.Fatalf("deploy b1 = %s (%s: %s), want SUCCEEDED", status, exec.Error, exec.Cause)
	}
	steps := stepLines(t, env, exec.Name)
	for _, w := range []string{"ok the blue side, before any traffic: 1 smoke check passed on 2 instances", "ok through the load balancer " + url + ": 1 smoke check passed"} {
		if !strings.Contains(steps, w) {
			t.Errorf("deploy b1's steps do not say %q:\n%s", w, steps)
		}
	}
	if i, j := strings.Index(steps, "before any traffic: 1 smoke check passed"), strings.Index(steps, "shifted 50%"); j >= 0 && i > j {
		t.Errorf("the idle side's smoke checks ran after the first shift:\n%s", steps)
	}

	var b2 *asl.Execution
	res := underLoad(t, []string{url + "/"}, func() { b2, status = deploy(t, env, "b2", localenv.RunOptions{}) })
	t.Logf("load through %s: %s", url, res.Detail())
	if res.Failed != 0 || res.Requests == 0 || res.Versions["b2"].Count != 0 {
		t.Errorf("load through the endpoint: %d requests, %d failed, versions %v; want some, none failed, none from b2: %s", res.Requests, res.Failed, res.Versions, res.Detail())
	}
	t.Logf("deploy b2: %s %s", status, b2.Error)
	if status != contract.StatusRolledBack || b2.Error != "SmokeCheckFailed" {
		t.Fatalf("deploy b2 = %s %s (%s), want ROLLED_BACK after SmokeCheckFailed", status, b2.Error, b2.Cause)
	}
	if !strings.Contains(b2.Cause, `the green side, before any traffic: 2 smoke checks of 2 failed: "home page greets" on `) || !strings.Contains(b2.Cause, `"helo from demo b2\n"; expected status 200, body contains "hello from demo"`) {
		t.Errorf("deploy b2's cause does not show the request, answer and expectation on the green side:\n%s", b2.Cause)
	}
	if got := servingSide(t, env); got != config.Blue {
		t.Errorf("after b2 the listener serves %s, want blue", got)
	}
	sideServes(t, env, config.Blue, "b1")
	sideServes(t, env, config.Green, "b2") // got no traffic, keeps the failed release
	d, err := env.Ledger.GetDeployment(context.Background(), b2.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("b2: %s", d.Summary)
	if !strings.Contains(d.Summary, "no weight had moved") || !strings.Contains(d.Summary, "green side got no traffic") {
		t.Errorf("b2's summary = %q, want it to say no weight had moved and green got no traffic", d.Summary)
	}
	if steps := stepLines(t, env, b2.Name); strings.Contains(steps, "shifted ") {
		t.Errorf("b2 shifted weight although its smoke check failed before:\n%s", steps)
	}
	r := reportOf(t, env, b2.Name)
	if w := `smoke "home page greets": GET / expects status 200, body contains "hello from demo", within 2s, on each instance of the idle side once the balancer reports it healthy, before any weight moves to it, and through the load balancer ` + url + ` after the last shift step; a failure rolls back — failed: the green side, before any traffic`; !strings.Contains(r, w) {
		t.Errorf("b2's report does not show %q:\n%s", w, r)
	}
}

// TestScenarioBlueGreenTrafficHooks: a release's before_traffic runs on
// the idle side once it is healthy, before any weight moves, and its
// after_traffic on the new side once it has all the traffic. b1's pass
// (on blue only); b3's before_traffic fails on green: no weight moved,
// blue serves b1 untouched; b4's after_traffic fails once green has all
// the traffic: switched back to blue, ROLLED_BACK, and blue, back in
// service, runs b1's own after_traffic. The hooks' output is in the
// command log, per hook.
func TestScenarioBlueGreenTrafficHooks(t *testing.T) {
	env := trafficEnv(t, true)
	mustDeploy(t, env, "b1")
	blue, green := sideIDs(t, env, config.Blue), sideIDs(t, env, config.Green)
	ran := hooksRun(t, env)
	for _, id := range blue {
		if ran[id] != "b1 before_traffic|b1 after_traffic|" {
			t.Errorf("blue %s ran hooks %q, want b1's before_traffic then after_traffic", id, ran[id])
		}
	}
	for _, id := range green {
		if ran[id] != "" {
			t.Errorf("green %s, never deployed to, ran hooks %q", id, ran[id])
		}
	}
	url, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}
	before := pids(t, env)

	var b3 *asl.Execution
	var status string
	res := underLoad(t, []string{url + "/"}, func() { b3, status = deploy(t, env, "b3", localenv.RunOptions{}) })
	t.Logf("load through %s: %s", url, res.Detail())
	if res.Failed != 0 || res.Requests == 0 || res.Versions["b3"].Count != 0 {
		t.Errorf("load through the endpoint: %d requests, %d failed, versions %v; want some, none failed, none from b3: %s", res.Requests, res.Failed, res.Versions, res.Detail())
	}
	t.Logf("deploy b3: %s %s: %s", status, b3.Error, b3.Cause)
	if status != contract.StatusRolledBack || b3.Error != "DeployFailed" || !strings.Contains(b3.Cause, "the green side, before any traffic: hook before_traffic of b3 failed on 2 of 2 instances") ||
		!strings.Contains(b3.Cause, "(hook before_traffic of b3 failed (exit 3))") {
		t.Fatalf("deploy b3 = %s %s (%s), want ROLLED_BACK after DeployFailed naming the hook on the green side", status, b3.Error, b3.Cause)
	}
	if got := servingSide(t, env); got != config.Blue {
		t.Errorf("after b3 the listener serves %s, want blue", got)
	}
	sideServes(t, env, config.Blue, "b1")
	after := pids(t, env)
	for _, id := range blue {
		if after[id] != before[id] {
			t.Errorf("blue %s restarted: pid %s, then %s", id, before[id], after[id])
		}
	}
	if steps := stepLines(t, env, b3.Name); strings.Contains(steps, "shifted ") {
		t.Errorf("b3 shifted weight although its before_traffic failed:\n%s", steps)
	}
	d, err := env.Ledger.GetDeployment(context.Background(), b3.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Summary, "no weight had moved") {
		t.Errorf("b3's summary = %q, want it to say no weight had moved", d.Summary)
	}
	results, err := env.Ledger.InstanceResults(context.Background(), b3.Name)
	if err != nil {
		t.Fatal(err)
	}
	var logged int
	for _, r := range results {
		if r.Action == "before_traffic" {
			out := fleet.HookLines(r.Output, "before_traffic")
			if strings.Contains(out, "hook before_traffic: before_traffic of b3 ran with SLIPWAY_HOOK=before_traffic") && strings.Contains(out, "hook before_traffic: cache cold") &&
				strings.Contains(out, "error: hook before_traffic of b3 failed (exit 3)") {
				logged++
			}
		}
	}
	if logged != 2 {
		t.Errorf("the command log shows b3's before_traffic output on %d instances, want 2: %+v", logged, results)
	}

	b4, status := deploy(t, env, "b4", localenv.RunOptions{})
	t.Logf("deploy b4: %s %s: %s", status, b4.Error, b4.Cause)
	if status != contract.StatusRolledBack || b4.Error != "DeployFailed" || !strings.Contains(b4.Cause, "the green side, with all the traffic: hook after_traffic of b4 failed on 2 of 2 instances") {
		t.Fatalf("deploy b4 = %s %s (%s), want ROLLED_BACK after DeployFailed naming after_traffic", status, b4.Error, b4.Cause)
	}
	if got := servingSide(t, env); got != config.Blue {
		t.Errorf("after b4 the listener serves %s, want blue (switched back)", got)
	}
	sideServes(t, env, config.Blue, "b1")
	// It ran once green had all the traffic: the switch back moved weight.
	if d, _ := env.Ledger.GetDeployment(context.Background(), b4.Name); switchedBack.FindStringSubmatch(d.Summary) == nil || strings.Contains(d.Summary, "no weight had moved") {
		t.Errorf("b4's summary = %q, want it to say switched back in N ms, weight having moved", d.Summary)
	}
	ran = hooksRun(t, env)
	for _, id := range green {
		if want := "b3 before_traffic|b4 before_traffic|b4 after_traffic|"; ran[id] != want {
			t.Errorf("green %s ran hooks %q, want %q", id, ran[id], want)
		}
	}
	// The switch back moved weight: blue, back in service, ran b1's own
	// after_traffic (b3's, which moved none, ran nothing on blue).
	for _, id := range blue {
		if want := "b1 before_traffic|b1 after_traffic|b1 after_traffic|"; ran[id] != want {
			t.Errorf("blue %s ran hooks %q, want %q (b1's, again after the switch back)", id, ran[id], want)
		}
	}
	if steps := stepLines(t, env, b4.Name); !strings.Contains(steps, "ok rollback: the blue side, back in service: hook after_traffic of b1 passed on 2 instances") {
		t.Errorf("b4's steps do not show b1's after_traffic on blue after the switch back:\n%s", steps)
	}
	r := reportOf(t, env, b4.Name)
	for _, w := range []string{
		"hook before_traffic on each instance of the idle side, once the balancer reports it healthy and its smoke checks pass, before any weight moves to it (a failure switches back: no traffic moved)",
		"hook after_traffic on each instance of the new side, once the last shift step gave it all the traffic (a failure switches back)",
		"failed: the green side, with all the traffic: hook after_traffic of b4 failed",
	} {
		if !strings.Contains(r, w) {
			t.Errorf("b4's report does not show %q:\n%s", w, r)
		}
	}
}

// TestScenarioInPlaceBeforeTrafficFails: behind the embedded load
// balancer, a wave's before_traffic runs once it is healthy and before it
// is registered again, its after_traffic once in service. t2's
// before_traffic fails on the canary: it is never put back on t2; the
// rollback wave switches it back to t1 and runs t1's before_traffic and
// after_traffic (not t2's) around its registration. Under load through the
// balancer: no failed request, no answer from t2. Then t3 succeeds, and a
// rollback execution (slipway rollback) returns to t1 wave by wave,
// running t1's traffic hooks on each wave, not t3's.
func TestScenarioInPlaceBeforeTrafficFails(t *testing.T) {
	env := trafficEnv(t, false)
	mustDeploy(t, env, "t1")
	t1 := "t1 before_traffic|t1 after_traffic|"
	for id, got := range hooksRun(t, env) {
		if got != t1 {
			t.Errorf("%s ran hooks %q, want %q", id, got, t1)
		}
	}
	url, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}
	var exec *asl.Execution
	var status string
	res := underLoad(t, []string{url + "/"}, func() { exec, status = deploy(t, env, "t2", localenv.RunOptions{}) })
	t.Logf("load through %s: %s", url, res.Detail())
	if res.Failed != 0 || res.Requests == 0 || res.Versions["t2"].Count != 0 {
		t.Errorf("load through the endpoint: %d requests, %d failed, versions %v; want some, none failed, none from t2: %s", res.Requests, res.Failed, res.Versions, res.Detail())
	}
	t.Logf("deploy t2: %s %s: %s", status, exec.Error, exec.Cause)
	if status != contract.StatusRolledBack || exec.Error != "DeployFailed" || !strings.Contains(exec.Cause, "wave 1: hook before_traffic of t2 failed on 1 of 1 instances: staging-1: a lifecycle hook failed (hook before_traffic of t2 failed (exit 3))") {
		t.Fatalf("deploy t2 = %s %s (%s), want ROLLED_BACK after DeployFailed naming the hook", status, exec.Error, exec.Cause)
	}
	allServe(t, env, "t1")
	ran := hooksRun(t, env)
	if want := t1 + "t2 before_traffic|" + t1; ran["staging-1"] != want {
		t.Errorf("staging-1 ran hooks %q, want %q (t2's before_traffic, then the rollback with t1's)", ran["staging-1"], want)
	}
	for _, id := range []string{"staging-2", "staging-3"} {
		if ran[id] != t1 {
			t.Errorf("%s, never reached by t2, ran hooks %q, want %q", id, ran[id], t1)
		}
	}
	for g, ts := range groupStates(t, env) {
		if len(ts) != 3 {
			t.Errorf("target group %s holds %v after the rollback, want the 3 instances", g, ts)
		}
	}
	steps := stepLines(t, env, exec.Name)
	for _, w := range []string{"rollback of wave 1: hook before_traffic of t1 passed on 1 instance", "rollback of wave 1: hook after_traffic of t1 passed on 1 instance"} {
		if !strings.Contains(steps, w) {
			t.Errorf("t2's steps do not say %q:\n%s", w, steps)
		}
	}

	mustDeploy(t, env, "t3")
	before := hooksRun(t, env)
	rb, err := env.Rollback(context.Background(), contract.RollbackRequest{App: "demo", Environment: "staging", Trigger: contract.Trigger{Source: "cli"}}, localenv.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Ledger.GetDeployment(context.Background(), rb.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rollback: %s %s", d.Status, d.Summary)
	if d.Status != contract.StatusRolledBack || d.Version != "t1" {
		t.Fatalf("rollback = %s to %s (%s), want ROLLED_BACK to t1", d.Status, d.Version, d.Summary)
	}
	allServe(t, env, "t1")
	for id, got := range hooksRun(t, env) {
		if want := before[id] + t1; got != want {
			t.Errorf("%s ran hooks %q across the rollback, want %q (t1's own, after t3's)", id, got, want)
		}
	}
}

// TestScenarioInPlaceAfterTrafficFails: behind the embedded load
// balancer, t4's after_traffic fails on the canary once the balancer has
// it in service (it served t4 by then): the deployment rolls back, the
// rollback wave takes it out of the target groups, puts t1 back and runs
// t1's before_traffic and after_traffic (not t4's) around its
// registration. Every instance serves t1 and is in the target groups,
// healthy; under load through the balancer no request failed.
func TestScenarioInPlaceAfterTrafficFails(t *testing.T) {
	env := trafficEnv(t, false)
	mustDeploy(t, env, "t1")
	t1 := "t1 before_traffic|t1 after_traffic|"
	url, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}
	var exec *asl.Execution
	var status string
	res := underLoad(t, []string{url + "/"}, func() { exec, status = deploy(t, env, "t4", localenv.RunOptions{}) })
	t.Logf("load through %s: %s", url, res.Detail())
	if res.Failed != 0 || res.Requests == 0 || res.Versions["t4"].Count == 0 {
		t.Errorf("load through the endpoint: %d requests, %d failed, versions %v; want some, none failed, some from t4 (in service when its after_traffic ran): %s", res.Requests, res.Failed, res.Versions, res.Detail())
	}
	t.Logf("deploy t4: %s %s: %s", status, exec.Error, exec.Cause)
	if status != contract.StatusRolledBack || exec.Error != "DeployFailed" ||
		!strings.Contains(exec.Cause, "wave 1: hook after_traffic of t4 failed on 1 of 1 instances: staging-1: a lifecycle hook failed (hook after_traffic of t4 failed (exit 3))") {
		t.Fatalf("deploy t4 = %s %s (%s), want ROLLED_BACK after DeployFailed naming after_traffic on wave 1", status, exec.Error, exec.Cause)
	}
	allServe(t, env, "t1")
	ran := hooksRun(t, env)
	if want := t1 + "t4 before_traffic|t4 after_traffic|" + t1; ran["staging-1"] != want {
		t.Errorf("staging-1 ran hooks %q, want %q (t4's both, then the rollback wave with t1's)", ran["staging-1"], want)
	}
	for _, id := range []string{"staging-2", "staging-3"} {
		if ran[id] != t1 {
			t.Errorf("%s, never reached by t4, ran hooks %q, want %q", id, ran[id], t1)
		}
	}
	groups := groupStates(t, env)
	if len(groups) == 0 {
		t.Fatal("the environment has no target groups")
	}
	for g, ts := range groups {
		healthy := 0
		for _, state := range ts {
			if state == traffic.StateHealthy {
				healthy++
			}
		}
		if len(ts) != 3 || healthy != 3 {
			t.Errorf("target group %s holds %v after the rollback, want the 3 instances healthy", g, ts)
		}
	}
	steps := stepLines(t, env, exec.Name)
	order := []string{
		"ok wave 1: hook before_traffic of t4 passed on 1 instance",
		"failed wave 1: hook after_traffic of t4 failed on 1 of 1 instances",
		"ok rollback of wave 1: hook before_traffic of t1 passed on 1 instance",
		"ok rollback of wave 1: hook after_traffic of t1 passed on 1 instance",
	}
	at := 0
	for _, w := range order {
		i := strings.Index(steps[at:], w)
		if i < 0 {
			t.Errorf("t4's steps do not say %q after %q:\n%s", w, steps[:at], steps)
			break
		}
		at += i + len(w)
	}
	results, err := env.Ledger.InstanceResults(context.Background(), exec.Name)
	if err != nil {
		t.Fatal(err)
	}
	var logged int
	for _, r := range results {
		if r.Action == "after_traffic" && r.Version == "t4" {
			if out := fleet.HookLines(r.Output, "after_traffic"); strings.Contains(out, "hook after_traffic: cache cold") && strings.Contains(out, "error: hook after_traffic of t4 failed (exit 3)") {
				logged++
			}
		}
	}
	if logged != 1 {
		t.Errorf("the command log shows t4's after_traffic output on %d instances, want 1: %+v", logged, results)
	}
	r := reportOf(t, env, exec.Name)
	for _, w := range []string{
		"hook after_traffic on each wave's instances, once the load balancer has them in service (a failure rolls back)",
		"; a rollback wave runs t1's own after_traffic instead",
		"failed: wave 1: hook after_traffic of t4 failed on 1 of 1 instances",
	} {
		if !strings.Contains(r, w) {
			t.Errorf("t4's report does not show %q:\n%s", w, r)
		}
	}
}

// TestScenarioTrafficHooksWithoutLoadBalancer: an environment with no
// target groups and no blue/green switches no traffic, so a release's
// before_traffic and after_traffic do not run there (as CodeDeploy's
// BeforeAllowTraffic and AfterAllowTraffic): t1 and then t3 deploy, and a
// rollback returns to t1, all without running a traffic hook on any
// instance; each deployment's ledger says why, and its checklist says
// "does not run".
func TestScenarioTrafficHooksWithoutLoadBalancer(t *testing.T) {
	env := newFleetEnv(t, localenv.Options{App: "demo", Instances: 3})
	for _, v := range []string{"t1", "t3"} {
		if _, err := env.Artifacts.Publish(context.Background(), "demo", v, trafficRelease(t, v)); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := env.Config.Env("staging"); len(c.TargetGroups) != 0 || c.BlueGreen != nil {
		t.Fatalf("staging has target groups %v, blue/green %v; want neither", c.TargetGroups, c.BlueGreen)
	}
	var ids []string
	for _, v := range []string{"t1", "t3"} {
		exec, status := deploy(t, env, v, localenv.RunOptions{})
		if status != contract.StatusSucceeded {
			t.Fatalf("deploy %s = %s (%s: %s), want SUCCEEDED", v, status, exec.Error, exec.Cause)
		}
		allServe(t, env, v)
		ids = append(ids, exec.Name)
	}
	rb, err := env.Rollback(context.Background(), contract.RollbackRequest{App: "demo", Environment: "staging", Trigger: contract.Trigger{Source: "cli"}}, localenv.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Ledger.GetDeployment(context.Background(), rb.Name)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != contract.StatusRolledBack || d.Version != "t1" {
		t.Fatalf("rollback = %s to %s (%s), want ROLLED_BACK to t1", d.Status, d.Version, d.Summary)
	}
	allServe(t, env, "t1")
	ran := hooksRun(t, env)
	if len(ran) != 3 {
		t.Errorf("hooks.log read on %d instances, want 3", len(ran))
	}
	for id, got := range ran {
		if got != "" {
			t.Errorf("%s ran hooks %q without a load balancer, want none", id, got)
		}
	}
	for i, v := range []string{"t1", "t3"} {
		steps := stepLines(t, env, ids[i])
		if w := "info hooks before_traffic and after_traffic do not run: environment staging has no load balancer (no target_groups, no blue_green), so no traffic is switched"; !strings.Contains(steps, w) {
			t.Errorf("deploy %s's steps do not say %q:\n%s", v, w, steps)
		}
		if strings.Contains(steps, ": hook before_traffic of") || strings.Contains(steps, ": hook after_traffic of") {
			t.Errorf("deploy %s's steps show a traffic hook running:\n%s", v, steps)
		}
		r := reportOf(t, env, ids[i])
		for _, h := range []string{"before_traffic", "after_traffic"} {
			if w := "hook " + h + " does not run: staging has no load balancer, so no traffic is switched (as CodeDeploy's traffic hooks)"; !strings.Contains(r, w) {
				t.Errorf("deploy %s's report does not show %q:\n%s", v, w, r)
			}
		}
	}
	if steps := stepLines(t, env, rb.Name); strings.Contains(steps, ": hook before_traffic of") || strings.Contains(steps, ": hook after_traffic of") {
		t.Errorf("the rollback's steps show a traffic hook running:\n%s", steps)
	}
}

// TestScenarioRollbackWaveLeftOut: a rollback wave that fails while out of
// the target group leaves its instance out of service. t5 serves; t4's
// after_traffic fails on wave 1, and the rollback wave returning staging-1
// to t5 fails t5's own before_traffic there, before registering it. Every
// host is back on t5, but staging-1 serves nothing: ROLLBACK_FAILED naming
// it, not ROLLED_BACK. The next deployment (t3) puts it back first, and
// every instance is then healthy in the target group, on t3.
func TestScenarioRollbackWaveLeftOut(t *testing.T) {
	env := trafficEnv(t, false)
	mustDeploy(t, env, "t5")
	if err := os.WriteFile(filepath.Join(env.Fleet.InstanceDir("staging", "staging-1"), "before_traffic.fail"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	exec, status := deploy(t, env, "t4", localenv.RunOptions{})
	t.Logf("deploy t4: %s %s: %s", status, exec.Error, exec.Cause)
	d, err := env.Ledger.GetDeployment(context.Background(), exec.Name)
	if err != nil {
		t.Fatal(err)
	}
	if status != contract.StatusRollbackFailed || !strings.Contains(d.Summary, "Every instance is back on t5, but staging-1 is out of the target groups") ||
		!strings.Contains(d.Summary, "hook before_traffic of t5 failed") {
		t.Fatalf("deploy t4 = %s (%s), want ROLLBACK_FAILED saying staging-1 is out of the target groups after t5's before_traffic failed", status, d.Summary)
	}
	allServe(t, env, "t5")
	groups := groupStates(t, env)
	if len(groups) == 0 {
		t.Fatal("the environment has no target groups")
	}
	for g, got := range groups {
		if got["staging-1"] != "" && got["staging-1"] != traffic.StateDraining {
			t.Errorf("after the failed rollback wave staging-1 is %q in target group %s, want out of it (states %v)", got["staging-1"], g, got)
		}
	}
	// The next deployment puts it back first.
	if err := os.Remove(filepath.Join(env.Fleet.InstanceDir("staging", "staging-1"), "before_traffic.fail")); err != nil {
		t.Fatal(err)
	}
	next, status := deploy(t, env, "t3", localenv.RunOptions{})
	if status != contract.StatusSucceeded {
		t.Fatalf("deploy t3 = %s (%s: %s), want SUCCEEDED", status, next.Error, next.Cause)
	}
	allServe(t, env, "t3")
	if steps := stepLines(t, env, next.Name); !strings.Contains(steps, "staging-1 left out of the target groups by an earlier deployment (closed unfinished, or whose rollback wave failed)") {
		t.Errorf("t3's steps do not say it puts staging-1 back first:\n%s", steps)
	}
	for g, got := range groupStates(t, env) {
		for _, id := range []string{"staging-1", "staging-2", "staging-3"} {
			if got[id] != traffic.StateHealthy {
				t.Errorf("after t3, %s is %q in target group %s, want healthy (states %v)", id, got[id], g, got)
			}
		}
	}
}
