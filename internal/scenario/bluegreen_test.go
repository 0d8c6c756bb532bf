package scenario

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// blueGreenManifest is the demo manifest with a blue/green rollout in two
// steps (50%, then 100%) and a short bake at each.
const blueGreenManifest = `app: demo
service: {start: bin/demo-app, unit: demo-app}
health: {path: /healthz, successes: 2, interval: 1s, timeout: 4s}
rollout: {strategy: blue-green, shift: ["50%", "100%"], shift_bake: 2s, keep_warm: 1h, poll_interval: 1s}
bake: {duration: 2m, interval: 20s}
alarms: [demo-5xx]
keep_releases: 3
`

var blueGreenReleases releaseSet

// blueGreenRelease returns the demo app's release version built with the
// blue/green manifest, building v1..v4 once per test binary. Its v3 is
// built from v2's sources (the demo's own v3 fails its health check; this
// one is healthy, so that only the alarm makes it switch back); v4 is the
// demo's v3, which fails its health check. Only v1 has a traffic hook
// (blueGreenAfterTraffic).
func blueGreenRelease(t testing.TB, version string) []byte {
	t.Helper()
	m := []byte(blueGreenManifest)
	v1 := []byte(blueGreenManifest + blueGreenAfterTraffic)
	return blueGreenReleases.get(t, version, map[string]BuildOptions{"v1": {Manifest: v1}, "v2": {Manifest: m}, "v3": {Manifest: m, From: "v2"}, "v4": {Manifest: m, From: "v3"}})
}

// blueGreenAfterTraffic is v1's after_traffic hook: it appends "v1
// after_traffic" to hooks.log in the instance's root, and fails while
// that root holds a file after_traffic.fail.
const blueGreenAfterTraffic = `hooks:
  after_traffic: {run: 'echo v1 after_traffic >> "$SLIPWAY_ROOT/hooks.log"; if [ -e "$SLIPWAY_ROOT/after_traffic.fail" ]; then echo purge refused >&2; exit 4; fi', timeout: 10s}
`

// blueGreenEnv is an embedded blue/green environment of four instances
// (two per side) with v1..v4 published, built with blueGreenManifest.
func blueGreenEnv(t testing.TB) *localenv.Env {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real processes")
	}
	env, err := localenv.Init(filepath.Join(t.TempDir(), "state"), localenv.Options{App: "demo", Instances: 4, BlueGreen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop(context.Background()) })
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		if _, err := env.Artifacts.Publish(context.Background(), "demo", v, blueGreenRelease(t, v)); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// sideServes checks what each instance of side answers on its own
// address.
func sideServes(t *testing.T, env *localenv.Env, side, want string) {
	t.Helper()
	insts, err := env.Deps.Fleet.Instances(context.Background(), "staging", map[string]string{localenv.SideTag: side})
	if err != nil || len(insts) != 2 {
		t.Fatalf("%s side = %v, %v; want 2 instances", side, insts, err)
	}
	all := serving(t, env)
	for _, i := range insts {
		if all[i.ID] != want {
			t.Errorf("%s instance %s serves %q, want %s", side, i.ID, all[i.ID], want)
		}
	}
}

// servingSide is the side the listener sends everything to.
func servingSide(t *testing.T, env *localenv.Env) string {
	t.Helper()
	c, _ := env.Config.Env("staging")
	w, err := env.Deps.Traffic.Weights(context.Background(), c.BlueGreen.Listener)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case w[c.BlueGreen.Blue.TargetGroup] == 100 && w[c.BlueGreen.Green.TargetGroup] == 0:
		return config.Blue
	case w[c.BlueGreen.Green.TargetGroup] == 100 && w[c.BlueGreen.Blue.TargetGroup] == 0:
		return config.Green
	}
	t.Fatalf("listener weights = %v, want all on one side", w)
	return ""
}

var switchedBack = regexp.MustCompile(`switched back in (\d+) ms`)

// TestScenarioBlueGreen runs blue/green on real processes behind the real
// embedded balancer, with load through the environment's endpoint: v1
// goes to blue (nothing served before); under load, v2 goes to green and
// the listener shifts to it in two steps, blue still running v1; then v3
// goes to blue and an alarm at its first shift step switches the listener
// back to green in one call: zero failed requests throughout, v3 rolled
// back without a restart, "switched back in N ms" in the ledger.
func TestScenarioBlueGreen(t *testing.T) {
	env := blueGreenEnv(t)
	mustDeploy(t, env, "v1")
	if got := servingSide(t, env); got != config.Blue {
		t.Fatalf("after v1 the listener serves %s, want blue", got)
	}
	sideServes(t, env, config.Blue, "v1")
	url, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}

	var bluePIDs map[string]string
	var v3 *asl.Execution
	var v3Status string
	res := underLoad(t, []string{url + "/"}, func() {
		mustDeploy(t, env, "v2")
		if got := servingSide(t, env); got != config.Green {
			t.Errorf("after v2 the listener serves %s, want green", got)
		}
		sideServes(t, env, config.Green, "v2")
		sideServes(t, env, config.Blue, "v1") // the old side, warm
		bluePIDs = pids(t, env)

		alarm := localenv.RunOptions{OnEvent: func(ev asl.HistoryEvent) {
			if ev.Type == "PassStateEntered" && ev.StateEnteredEventDetails != nil && ev.StateEnteredEventDetails.Name == "ShiftStartBake" {
				env.Alarms.Set("demo-5xx", health.StateAlarm, "blue/green scenario")
			}
		}}
		v3, v3Status = deploy(t, env, "v3", alarm)
	})
	t.Logf("load through %s: %s", url, res.Detail())
	if res.Failed != 0 || res.Requests == 0 {
		t.Errorf("load through the endpoint: %d requests, %d failed; want some, none failed: %s", res.Requests, res.Failed, res.Detail())
	}
	if v3Status != contract.StatusRolledBack {
		t.Fatalf("deploy v3 = %s (%s: %s), want ROLLED_BACK", v3Status, v3.Error, v3.Cause)
	}
	if got := servingSide(t, env); got != config.Green {
		t.Errorf("after v3's switch back the listener serves %s, want green", got)
	}
	sideServes(t, env, config.Green, "v2")
	// v3 may or may not answer: its 50% step lasts from the shift to the
	// first alarm check, a few milliseconds on the embedded clock.
	if res.Versions["v1"].Count == 0 || res.Versions["v2"].Count == 0 {
		t.Errorf("versions seen through the endpoint = %v, want v1 (before the shift) and v2", res.Versions)
	}
	if last := res.Versions["v3"].Last; !last.IsZero() && res.Versions["v2"].Last.Before(last) {
		t.Errorf("v3 answered last (%v), after v2 (%v): the switch back did not hold", last, res.Versions["v2"].Last)
	}
	// The serving side was not restarted by the switch back.
	after := pids(t, env)
	greens, _ := env.Deps.Fleet.Instances(context.Background(), "staging", map[string]string{localenv.SideTag: config.Green})
	for _, i := range greens {
		if after[i.ID] != bluePIDs[i.ID] {
			t.Errorf("green instance %s restarted across the switch back: pid %s, then %s", i.ID, bluePIDs[i.ID], after[i.ID])
		}
	}
	d, err := env.Ledger.GetDeployment(context.Background(), v3.Name)
	if err != nil {
		t.Fatal(err)
	}
	m := switchedBack.FindStringSubmatch(d.Summary)
	if m == nil {
		t.Fatalf("v3's summary = %q, want it to say switched back in N ms", d.Summary)
	}
	t.Logf("v3: %s", d.Summary)
	if !strings.Contains(d.Summary, "green") {
		t.Errorf("v3's summary = %q, want it to name green, the side back in service", d.Summary)
	}
}

// TestScenarioBlueGreenFailedIdleSide: a release that fails its health
// checks on the idle side never gets weight. Under load through the
// endpoint, v4 goes to green and fails there; the listener is confirmed
// on blue (no weight had moved), blue is never restarted: 0 failed
// requests, ROLLED_BACK (v4's migrations reverted after the switch back),
// and the summary says the green side got no traffic.
func TestScenarioBlueGreenFailedIdleSide(t *testing.T) {
	env := blueGreenEnv(t)
	mustDeploy(t, env, "v1")
	url, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}
	before := pids(t, env)
	var exec *asl.Execution
	var status string
	res := underLoad(t, []string{url + "/"}, func() { exec, status = deploy(t, env, "v4", localenv.RunOptions{}) })
	t.Logf("load through %s: %s", url, res.Detail())
	if res.Failed != 0 || res.Requests == 0 || res.Versions["v4"].Count != 0 {
		t.Errorf("load through the endpoint: %d requests, %d failed, versions %v; want some, none failed, none from v4: %s", res.Requests, res.Failed, res.Versions, res.Detail())
	}
	// v4 migrated the schema (1 → 3); once all traffic is confirmed on
	// blue, its reversible migrations are reverted, as after an in-place
	// rollback: ROLLED_BACK, the schema where it was.
	if status != contract.StatusRolledBack {
		t.Fatalf("deploy v4 = %s (%s: %s), want ROLLED_BACK", status, exec.Error, exec.Cause)
	}
	if got := servingSide(t, env); got != config.Blue {
		t.Errorf("after v4 the listener serves %s, want blue", got)
	}
	sideServes(t, env, config.Blue, "v1")
	after := pids(t, env)
	blues, _ := env.Deps.Fleet.Instances(context.Background(), "staging", map[string]string{localenv.SideTag: config.Blue})
	for _, i := range blues {
		if after[i.ID] != before[i.ID] {
			t.Errorf("blue instance %s restarted: pid %s, then %s", i.ID, before[i.ID], after[i.ID])
		}
	}
	d, err := env.Ledger.GetDeployment(context.Background(), exec.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("v4: %s", d.Summary)
	if !strings.Contains(d.Summary, "no weight had moved") || !strings.Contains(d.Summary, "green side got no traffic") {
		t.Errorf("v4's summary = %q, want it to say no weight had moved and green got no traffic", d.Summary)
	}
}

// TestScenarioBlueGreenWarmRollback: after a blue/green deployment
// succeeds, the side that served before stays warm (rollout.keep_warm). A
// rollback then (an alarm after the bake, or `slipway rollback`) is one
// switch of the listener back to it: under load through the endpoint, v2
// goes to green and succeeds, then the rollback puts all traffic back on
// blue, which was never restarted and still serves v1: zero failed
// requests, ROLLED_BACK, "switched back in N ms". v2's migration is
// reversible, so the schema goes back too: green keeps v2 (not restarted)
// and answers that its schema is gone, with no traffic.
func TestScenarioBlueGreenWarmRollback(t *testing.T) {
	env := blueGreenEnv(t)
	mustDeploy(t, env, "v1")
	url, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}
	var before map[string]string
	var rb *asl.Execution
	res := underLoad(t, []string{url + "/"}, func() {
		mustDeploy(t, env, "v2")
		if got := servingSide(t, env); got != config.Green {
			t.Errorf("after v2 the listener serves %s, want green", got)
		}
		before = pids(t, env)
		rb, err = env.Rollback(context.Background(), contract.RollbackRequest{App: "demo", Environment: "staging",
			Trigger: contract.Trigger{Source: "alarm", Alarm: "demo-5xx"}}, localenv.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("load through %s: %s", url, res.Detail())
	if res.Failed != 0 || res.Requests == 0 {
		t.Errorf("load through the endpoint: %d requests, %d failed; want some, none failed: %s", res.Requests, res.Failed, res.Detail())
	}
	d, err := env.Ledger.GetDeployment(context.Background(), rb.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rollback: %s %s", d.Status, d.Summary)
	if d.Status != contract.StatusRolledBack || d.Version != "v1" {
		t.Fatalf("rollback = %s to %s (%s), want ROLLED_BACK to v1", d.Status, d.Version, d.Summary)
	}
	if switchedBack.FindStringSubmatch(d.Summary) == nil || !strings.Contains(d.Summary, "blue") {
		t.Errorf("rollback summary = %q, want it to say switched back in N ms to blue", d.Summary)
	}
	if got := servingSide(t, env); got != config.Blue {
		t.Errorf("after the rollback the listener serves %s, want blue", got)
	}
	sideServes(t, env, config.Blue, "v1")
	after := pids(t, env)
	for id, pid := range before {
		if after[id] != pid {
			t.Errorf("instance %s restarted across the rollback: pid %s, then %s", id, pid, after[id])
		}
	}
	if last := res.Versions["v2"].Last; !last.IsZero() && res.Versions["v1"].Last.Before(last) {
		t.Errorf("v2 answered last (%v), after v1 (%v): the switch back did not hold", last, res.Versions["v1"].Last)
	}
	// Blue, back in service, ran v1's own after_traffic (once when v1
	// took the traffic, again after the switch back); green, on v2 which
	// has none, ran nothing.
	blue, green := sideIDs(t, env, config.Blue), sideIDs(t, env, config.Green)
	ran := hooksRun(t, env)
	for _, id := range blue {
		if want := "v1 after_traffic|v1 after_traffic|"; ran[id] != want {
			t.Errorf("blue %s ran hooks %q, want %q (v1's, again after the switch back)", id, ran[id], want)
		}
	}
	for _, id := range green {
		if ran[id] != "" {
			t.Errorf("green %s ran hooks %q, want none", id, ran[id])
		}
	}
	if steps := stepLines(t, env, rb.Name); !strings.Contains(steps, "ok rollback: the blue side, back in service: hook after_traffic of v1 passed on 2 instances") {
		t.Errorf("the rollback's steps do not show v1's after_traffic on blue after the switch:\n%s", steps)
	}

	// v2 again to green, blue kept warm; v1's after_traffic now fails on
	// blue: the rollback switches the listener back, then fails on the
	// hook. The traffic is on blue, on v1, which is what ROLLED_BACK
	// promises; the summary says the hook failed.
	mustDeploy(t, env, "v2")
	for _, id := range blue {
		if err := os.WriteFile(filepath.Join(env.Fleet.InstanceDir("staging", id), "after_traffic.fail"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rb, err = env.Rollback(context.Background(), contract.RollbackRequest{App: "demo", Environment: "staging", Trigger: contract.Trigger{Source: "cli"}}, localenv.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err = env.Ledger.GetDeployment(context.Background(), rb.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rollback with a failing after_traffic: %s %s: %s", d.Status, d.Error, d.Summary)
	if !contract.RolledBack(d.Status) || d.Error != "DeployFailed" ||
		!strings.Contains(d.Summary, "all traffic on blue") ||
		!strings.Contains(d.Summary, "The rollback then failed: DeployFailed: rollback: the blue side, back in service: hook after_traffic of v1 failed on 2 of 2 instances") {
		t.Errorf("rollback = %s %s (%s), want it rolled back to blue, its summary naming v1's failed after_traffic", d.Status, d.Error, d.Summary)
	}
	if got := servingSide(t, env); got != config.Blue {
		t.Errorf("after the failed rollback the listener serves %s, want blue (switched, then the hook failed)", got)
	}
	sideServes(t, env, config.Blue, "v1")
	ran = hooksRun(t, env)
	for _, id := range blue {
		if want := "v1 after_traffic|v1 after_traffic|v1 after_traffic|"; ran[id] != want {
			t.Errorf("blue %s ran hooks %q, want %q", id, ran[id], want)
		}
	}
}
