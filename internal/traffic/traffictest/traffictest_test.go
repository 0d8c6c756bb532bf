package traffictest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/traffic"
)

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	b := New().AddGroup("web", Group{Delay: 30 * time.Second, HealthyAfter: 1, DrainAfter: 1}, "i-1", "i-2")
	if err := b.Deregister(ctx, "web", []traffic.Target{{ID: "i-1"}}); err != nil {
		t.Fatal(err)
	}
	want := func(m map[string]string) {
		t.Helper()
		ts, err := b.Targets(ctx, "web")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, x := range ts {
			got[x.ID] = x.State
		}
		if len(got) != len(m) {
			t.Fatalf("targets = %v, want %v", got, m)
		}
		for k, v := range m {
			if got[k] != v {
				t.Fatalf("targets = %v, want %v", got, m)
			}
		}
	}
	want(map[string]string{"i-1": "draining", "i-2": "healthy"})
	want(map[string]string{"i-2": "healthy"})
	if err := b.Register(ctx, "web", []traffic.Target{{ID: "i-1"}}); err != nil {
		t.Fatal(err)
	}
	want(map[string]string{"i-1": "initial", "i-2": "healthy"})
	want(map[string]string{"i-1": "healthy", "i-2": "healthy"})

	b.Unhealthy("i-2")
	b.Stuck("i-1")
	_ = b.Deregister(ctx, "web", []traffic.Target{{ID: "i-1"}})
	for i := 0; i < 3; i++ {
		want(map[string]string{"i-1": "draining", "i-2": "unhealthy"})
	}
	if d, _ := b.DeregistrationDelay(ctx, "web"); d != 30*time.Second {
		t.Fatalf("delay = %s", d)
	}
	boom := errors.New("Throttling")
	b.Fail("register", boom)
	if err := b.Register(ctx, "web", nil); !errors.Is(err, boom) {
		t.Fatalf("register: %v", err)
	}
	if _, err := b.Targets(ctx, "nope"); err == nil {
		t.Fatal("unknown group: no error")
	}
	if got := len(b.Calls("deregister")); got != 2 {
		t.Fatalf("deregister calls = %d", got)
	}
	b.SetWeightsOf("l", map[string]int{"web": 100})
	if err := b.SetWeights(ctx, "l", map[string]int{"web": 0, "other": 100}); err == nil {
		t.Fatal("unknown group in weights: no error")
	}
	if w, _ := b.Weights(ctx, "l"); w["web"] != 100 {
		t.Fatalf("weights = %v", w)
	}
}
