package localenv

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

func initBlueGreen(t testing.TB, n int) *Env {
	t.Helper()
	env, err := Init(filepath.Join(t.TempDir(), "state"), Options{App: "demo", Instances: n, BlueGreen: true})
	if err != nil {
		t.Fatalf("Init with BlueGreen: %v", err)
	}
	t.Cleanup(func() { env.Stop(context.Background()) })
	return env
}

func ids(t testing.TB, env *Env, tags map[string]string) []string {
	t.Helper()
	insts, err := env.Deps.Fleet.Instances(context.Background(), "staging", tags)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range insts {
		out = append(out, i.ID)
	}
	slices.Sort(out)
	return out
}

// TestInitBlueGreen splits three instances in two sides (2 blue, 1
// green) on a real balancer process: tags, groups with their side's
// instances registered, the listener all on green (so the first
// deployment goes to blue), the blue_green configuration written and read
// back, and the fleet selecting by side.
func TestInitBlueGreen(t *testing.T) {
	ctx := context.Background()
	env := initBlueGreen(t, 3)
	reopened, err := Open(env.Root)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	c, _ := reopened.Config.Env("staging")
	want := &config.BlueGreen{Listener: "staging",
		Blue:  config.Side{TargetGroup: "staging-blue", Tags: map[string]string{SideTag: "blue"}},
		Green: config.Side{TargetGroup: "staging-green", Tags: map[string]string{SideTag: "green"}}}
	if c.BlueGreen == nil || c.BlueGreen.Listener != want.Listener || c.BlueGreen.Blue.TargetGroup != want.Blue.TargetGroup ||
		c.BlueGreen.Green.TargetGroup != want.Green.TargetGroup || c.BlueGreen.Blue.Tags[SideTag] != "blue" || c.BlueGreen.Green.Tags[SideTag] != "green" {
		t.Fatalf("blue_green = %+v, want %+v", c.BlueGreen, want)
	}
	if len(c.TargetGroups) != 0 {
		t.Errorf("target_groups = %v, want none (the sides are not rolled in place)", c.TargetGroups)
	}
	if got := ids(t, env, want.Blue.Tags); !slices.Equal(got, []string{"staging-1", "staging-2"}) {
		t.Errorf("blue instances = %v, want staging-1, staging-2", got)
	}
	if got := ids(t, env, want.Green.Tags); !slices.Equal(got, []string{"staging-3"}) {
		t.Errorf("green instances = %v, want staging-3", got)
	}
	if got := ids(t, env, map[string]string{"app": "other"}); len(got) != 3 {
		t.Errorf("instances by other tags = %v, want all 3 (only the side tag selects)", got)
	}
	for group, want := range map[string][]string{"staging-blue": {"staging-1", "staging-2"}, "staging-green": {"staging-3"}} {
		ts, err := env.Deps.Traffic.Targets(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tg := range ts {
			got = append(got, tg.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("targets of %s = %v, want %v", group, got, want)
		}
	}
	side, w, err := pipeline.Serving(ctx, env.Deps.Traffic, c.BlueGreen)
	if err != nil || side != config.Green || w["staging-blue"] != 0 || w["staging-green"] != 100 {
		t.Errorf("serving = %s %v (%v), want green at 100 so the first deployment goes to blue", side, w, err)
	}
	if _, err := env.Endpoint("staging"); err != nil {
		t.Errorf("endpoint: %v", err)
	}
}

func TestInitBlueGreenRefusesOneInstance(t *testing.T) {
	_, err := Init(filepath.Join(t.TempDir(), "state"), Options{App: "demo", Instances: 1, BlueGreen: true})
	if err == nil || !strings.Contains(err.Error(), "at least 2 instances") {
		t.Fatalf("Init(1 instance, BlueGreen) = %v, want a refusal that asks for at least 2", err)
	}
}

// BenchmarkBlueGreenSwitchBackEmbedded times the switch back on the
// embedded balancer process: from the switch-back decision (the
// pipeline's switch_back action called) to the listener's weights read
// back all on the side that served before. Between iterations (timer
// stopped) the listener is shifted to the other side again.
func BenchmarkBlueGreenSwitchBackEmbedded(b *testing.B) {
	ctx := context.Background()
	env := initBlueGreen(b, 2)
	st := contract.BlueGreenState{Listener: "staging", Serving: config.Blue, Idle: config.Green,
		ServingGroup: "staging-blue", IdleGroup: "staging-green", Steps: []int{100}, Step: 1, Weight: 100, Shifted: true, Healthy: true}
	h := &pipeline.BlueGreen{Deps: env.Deps}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := env.Deps.Traffic.SetWeights(ctx, "staging", map[string]int{"staging-green": 100, "staging-blue": 0}); err != nil {
			b.Fatal(err)
		}
		in := contract.BlueGreenInput{Action: contract.BlueGreenSwitchBack, Environment: "staging", BlueGreen: &st}
		b.StartTimer()
		out, err := h.Handle(ctx, in)
		if err != nil || !out.SwitchedBack {
			b.Fatalf("switch back = %+v, %v", out, err)
		}
	}
	b.StopTimer()
	w, err := env.Deps.Traffic.Weights(ctx, "staging")
	if err != nil || w["staging-blue"] != 100 || w["staging-green"] != 0 {
		b.Fatalf("weights after = %v, %v; want all on blue", w, err)
	}
}
