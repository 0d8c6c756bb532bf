package scenario

import (
	"context"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// smokeManifest is the three-wave manifest with smoke checks of the
// critical path: the home page greets, and /healthz says so in JSON.
// GREETING's default is the release's own: s2 ships a typo in it, which
// the health check cannot see.
const smokeManifest = threeWaves + `config:
  GREETING:
    default: %s
smoke:
  - name: home page greets
    path: /
    body_contains: "hello from demo"
    max_latency: 2s
  - name: health says hello
    path: /healthz
    headers: {Accept: application/json}
    json: {status: ok, config.greeting: hello}
`

var smokeReleases releaseSet

func smokeRelease(t *testing.T, version string) []byte {
	t.Helper()
	builds := map[string]BuildOptions{}
	for v, greeting := range map[string]string{"s1": "hello", "s2": "helo"} {
		builds[v] = BuildOptions{Manifest: []byte(strings.Replace(smokeManifest, "%s", greeting, 1)), From: "v1"}
	}
	return smokeReleases.get(t, version, builds)
}

// TestScenarioSmokeCheckFailsOnlyOnTheNewRelease deploys behind the
// embedded load balancer a release whose smoke checks pass, on each
// wave's instances and through the balancer, then one that answers its
// health check but not its smoke check: it is rolled back after its
// first wave, and the report shows the request, the answer and the
// expectation.
func TestScenarioSmokeCheckFailsOnlyOnTheNewRelease(t *testing.T) {
	env := newFleetEnv(t, localenv.Options{App: "demo", Instances: 3, Balancer: true})
	for _, v := range []string{"s1", "s2"} {
		if _, err := env.Artifacts.Publish(context.Background(), "demo", v, smokeRelease(t, v)); err != nil {
			t.Fatal(err)
		}
	}
	exec, status := deploy(t, env, "s1", localenv.RunOptions{})
	if status != contract.StatusSucceeded {
		t.Fatalf("deploy s1 = %s (%s: %s), want SUCCEEDED", status, exec.Error, exec.Cause)
	}
	steps, _ := env.Ledger.Steps(context.Background(), exec.Name)
	var passed []string
	for _, s := range steps {
		if strings.Contains(s.Message, "smoke check") {
			passed = append(passed, s.Message)
		}
	}
	endpoint, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"wave 1: 2 smoke checks passed on 1 instance",
		"wave 2: 2 smoke checks passed on 1 instance",
		"wave 3: 2 smoke checks passed on 1 instance",
		"through the load balancer " + endpoint + ": 2 smoke checks passed",
	}
	if strings.Join(passed, "\n") != strings.Join(want, "\n") {
		t.Errorf("deploy s1's smoke steps:\n%s\nwant:\n%s", strings.Join(passed, "\n"), strings.Join(want, "\n"))
	}

	exec, status = deploy(t, env, "s2", localenv.RunOptions{})
	if status != contract.StatusRolledBack || exec.Error != "SmokeCheckFailed" {
		t.Fatalf("deploy s2 = %s %s (%s), want ROLLED_BACK after SmokeCheckFailed", status, exec.Error, exec.Cause)
	}
	allServe(t, env, "s1")
	for _, w := range []string{
		`wave 1: 2 smoke checks of 2 failed`,
		`"home page greets" on staging-1: GET http://127.0.0.1:`,
		`answered HTTP 200 in `,
		`"helo from demo s2\n"; expected status 200, body contains "hello from demo", within 2s (the body does not contain "hello from demo")`,
		`expected status 200, config.greeting = "hello", status = "ok", within 5s (config.greeting = "helo", want "hello")`,
	} {
		if !strings.Contains(exec.Cause, w) {
			t.Errorf("deploy s2's cause does not contain %q:\n%s", w, exec.Cause)
		}
	}
	r := reportOf(t, env, exec.Name)
	for _, w := range []string{
		`expected status 200, body contains "hello from demo"`,
		`smoke "home page greets": GET / expects status 200, body contains "hello from demo", within 2s, on each wave's instances once healthy, and through the load balancer ` + endpoint + ` after the last wave; a failure rolls back — failed: wave 1: 2 smoke checks of 2 failed`,
	} {
		if !strings.Contains(r, w) {
			t.Errorf("deploy s2's report does not show %q:\n%s", w, r)
		}
	}
}
