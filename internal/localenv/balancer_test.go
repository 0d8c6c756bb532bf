package localenv

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/traffic"
	"github.com/slipway-deploy/slipway/internal/traffic/balancer"
)

// TestInitWithBalancer puts each environment behind a real balancer
// process: a group and a listener named after it with every instance
// registered, TargetGroups set, Deps.Traffic on it, the endpoint known to a
// second Open; Stop stops the process.
func TestInitWithBalancer(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "state")
	env, err := Init(root, Options{App: "demo", Environments: []string{"staging", "production"}, Instances: 2, Balancer: true})
	if err != nil {
		t.Fatalf("Init with Balancer: %v", err)
	}
	t.Cleanup(func() { env.Stop(context.Background()) })
	for _, name := range []string{"staging", "production"} {
		c, _ := env.Config.Env(name)
		if !slices.Equal(c.TargetGroups, []string{name}) {
			t.Errorf("TargetGroups of %s = %v, want [%s]", name, c.TargetGroups, name)
		}
		ts, err := env.Deps.Traffic.Targets(ctx, name)
		if err != nil {
			t.Fatalf("Targets(%s): %v", name, err)
		}
		var ids []string
		for _, tg := range ts {
			ids = append(ids, tg.ID)
			if tg.Port == 0 || tg.State == traffic.StateDraining {
				t.Errorf("target %+v of %s: want a port, not draining", tg, name)
			}
		}
		slices.Sort(ids)
		if want := []string{name + "-1", name + "-2"}; !slices.Equal(ids, want) {
			t.Errorf("targets of %s = %v, want %v", name, ids, want)
		}
		w, err := env.Deps.Traffic.Weights(ctx, name)
		if err != nil || w[name] != 100 {
			t.Errorf("Weights(%s) = %v, %v; want %s: 100", name, w, err, name)
		}
	}
	again, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	url, err := again.Endpoint("staging")
	if err != nil || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("Endpoint(staging) = %q, %v; want http://127.0.0.1:PORT", url, err)
	}
	if _, err := again.Endpoint("nowhere"); err == nil {
		t.Error("Endpoint(nowhere): no error")
	}
	if err := env.StopBalancer(ctx); err != nil {
		t.Fatalf("StopBalancer: %v", err)
	}
	if _, err := again.Endpoint("staging"); !errors.Is(err, balancer.ErrNotRunning) {
		t.Errorf("Endpoint after stop: %v, want ErrNotRunning", err)
	}
	if _, err := env.Deps.Traffic.Targets(ctx, "staging"); !errors.Is(err, balancer.ErrNotRunning) {
		t.Errorf("Targets after stop: %v, want ErrNotRunning", err)
	}
}

// TestInitWithoutBalancer keeps the environment as it was: no groups, no
// traffic port.
func TestInitWithoutBalancer(t *testing.T) {
	env := newEnv(t)
	if env.Deps.Traffic != nil || env.HasBalancer() {
		t.Errorf("Deps.Traffic = %v, HasBalancer %v; want nil, false", env.Deps.Traffic, env.HasBalancer())
	}
	if c, _ := env.Config.Env("staging"); len(c.TargetGroups) != 0 {
		t.Errorf("TargetGroups = %v, want none", c.TargetGroups)
	}
	if _, err := env.Endpoint("staging"); err == nil || !strings.Contains(err.Error(), "--balancer") {
		t.Errorf("Endpoint without balancer: %v, want a hint at --balancer", err)
	}
}
