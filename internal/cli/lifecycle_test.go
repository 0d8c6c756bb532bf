package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/traffic/balancer"
)

// TestLocalStopStartAlarm stops and starts a real embedded environment's
// apps and balancer, and drives one of its alarms into a deployment.
func TestLocalStopStartAlarm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds releases and runs real processes")
	}
	files := releaseFiles(t)
	dir := stateDir(t)
	must(t, 0, dir, "local", "init", "--dir", dir, "--app", "demo", "--env", "staging", "--instances", "3")
	for _, v := range []string{"v1", "v2"} {
		must(t, 0, dir, "release", "publish", files[v], "--version", v)
	}
	must(t, 0, dir, "deploy", "--env", "staging", "--version", "v1")
	env, err := localenv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	endpoint, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}
	apps := func() int {
		t.Helper()
		pids, err := env.Fleet.PIDs()
		if err != nil {
			t.Fatal(err)
		}
		return len(pids)
	}
	serves := func() bool {
		resp, err := http.Get(endpoint + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if n := apps(); n != 3 || !serves() {
		t.Fatalf("after deploy: %d apps, endpoint serves %v; want 3 and true", n, serves())
	}

	out := must(t, 0, dir, "local", "stop")
	if !strings.HasPrefix(out, "stopped 3 app processes and the load balancer;") || !strings.Contains(out, "target: local ("+dir+")") {
		t.Errorf("local stop printed:\n%s", out)
	}
	if n := apps(); n != 0 || balancer.PID(env.BalancerDir()) != 0 || serves() {
		t.Fatalf("after local stop: %d apps, balancer pid %d, endpoint serves %v; want none", n, balancer.PID(env.BalancerDir()), serves())
	}

	out = must(t, 0, dir, "local", "start")
	if !strings.Contains(out, "load balancer: running\n3 instances serving: staging/") {
		t.Errorf("local start printed:\n%s", out)
	}
	if n := apps(); n != 3 || !serves() {
		t.Fatalf("after local start: %d apps, endpoint serves %v; want 3 and true", n, serves())
	}
	if st := must(t, 0, dir, "status", "--env", "staging"); !strings.Contains(st, "v1") {
		t.Errorf("status after local start lacks v1:\n%s", st)
	}

	// An alarm in ALARM fails the next deployment's health gate.
	must(t, factory.ExitUsage, dir, "local", "alarm", "set", "demo-5xx", "RED")
	if out = must(t, 0, dir, "local", "alarm", "set", "demo-5xx", "alarm"); !strings.Contains(out, "alarm demo-5xx: ALARM (was OK)") {
		t.Errorf("local alarm set printed:\n%s", out)
	}
	if out = must(t, 0, dir, "local", "alarm", "list"); !strings.Contains(out, "demo-5xx") || !strings.Contains(out, "ALARM") {
		t.Errorf("local alarm list printed:\n%s", out)
	}
	code, stdout, stderr := slipway(t, dir, "deploy", "--env", "staging", "--version", "v2")
	if code != factory.ExitFailed || !strings.Contains(stderr, "ended ROLLED_BACK (AlarmFired)") || !strings.Contains(stdout, "alarm in ALARM: demo-5xx") {
		t.Errorf("deploy with demo-5xx in ALARM = exit %d, want %d, rolled back by the alarm\n%s%s", code, factory.ExitFailed, stdout, stderr)
	}
	must(t, 0, dir, "local", "alarm", "set", "demo-5xx", "OK")
	must(t, 0, dir, "deploy", "--env", "staging", "--version", "v2")

	must(t, 0, dir, "local", "down")
	if n := apps(); n != 0 || balancer.PID(env.BalancerDir()) != 0 {
		t.Errorf("after local down: %d apps, balancer pid %d; want none", n, balancer.PID(env.BalancerDir()))
	}
}
