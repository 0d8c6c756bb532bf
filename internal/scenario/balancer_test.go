package scenario

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/autoscale"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// waitHealthy waits until the balancer reports every target of group
// healthy, n of them.
func waitHealthy(t *testing.T, env *localenv.Env, group string, n int) []traffic.TargetHealth {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ts, err := env.Deps.Traffic.Targets(context.Background(), group)
		if err != nil {
			t.Fatal(err)
		}
		healthy := 0
		for _, tg := range ts {
			if tg.State == traffic.StateHealthy {
				healthy++
			}
		}
		if healthy == n && len(ts) == n {
			return ts
		}
		if time.Now().After(deadline) {
			t.Fatalf("targets of %s = %+v, want %d healthy", group, ts, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestScenarioBalancer serves a deployed release through the embedded
// load balancer's endpoint (real app processes, real balancer process),
// and a scaled-out instance joins the target group once its launch hook
// completed, and turns healthy.
func TestScenarioBalancer(t *testing.T) {
	env := newFleetEnv(t, localenv.Options{App: "demo", Instances: 2, Balancer: true})
	mustDeploy(t, env, "v1")
	waitHealthy(t, env, "staging", 2)
	url, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			t.Fatalf("request %d through %s: %v", i, url, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-App-Version") != "v1" {
			t.Fatalf("request %d through %s = %d, version %q; want 200 from v1", i, url, resp.StatusCode, resp.Header.Get("X-App-Version"))
		}
	}
	res, err := env.ScaleOut(context.Background(), "staging")
	if err != nil || res.Action != autoscale.Continue {
		t.Fatalf("scale-out = %+v, %v; want CONTINUE", res, err)
	}
	ts := waitHealthy(t, env, "staging", 3)
	if ts[2].ID != res.InstanceID {
		t.Errorf("targets = %+v, want %s registered last", ts, res.InstanceID)
	}
	c, err := env.Balancer()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := c.Counters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.Listeners["staging"]; got.Requests < 20 || got.Failed != 0 {
		t.Errorf("listener counters = %+v, want 20 requests or more, none failed", got)
	}
}
