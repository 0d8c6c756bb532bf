package manifest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBlueGreenRollout(t *testing.T) {
	m, err := Parse([]byte("app: demo\nservice: {start: x}\nrollout:\n  strategy: blue-green\n  shift: [\"10%\", \"50%\", \"100%\"]\n  shift_bake: 30s\n  keep_warm: 2h\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := m.Rollout
	if r.Strategy != StrategyBlueGreen || !reflect.DeepEqual(r.Shift, ShiftSpec{10, 50, 100}) || r.ShiftBake.Duration != 30*time.Second || r.KeepWarm.Duration != 2*time.Hour {
		t.Errorf("rollout = %+v", r)
	}
	m, err = Parse([]byte("app: demo\nservice: {start: x}\nrollout: {strategy: blue-green, shift: all}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Rollout.Shift, ShiftSpec{100}) || m.Rollout.KeepWarm.Duration != time.Hour || m.Rollout.ShiftBake.Duration != time.Minute {
		t.Errorf("defaults = %+v", m.Rollout)
	}
	m, err = Parse([]byte("app: demo\nservice: {start: x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Rollout.Strategy != StrategyInPlace {
		t.Errorf("default strategy = %q", m.Rollout.Strategy)
	}
}

func TestBlueGreenRolloutErrors(t *testing.T) {
	base := "app: demo\nservice: {start: x}\nrollout:\n"
	tests := []struct {
		name, in string
		want     []string
	}{
		{"strategy", "  strategy: canary\n", []string{"slipway.yaml:4:13:", "rollout.strategy", `"canary" is not a strategy`, "blue-green"}},
		{"shift word", "  shift: half\n", []string{"slipway.yaml:4:10:", "rollout.shift", `"half"`, `"all"`}},
		{"shift not percent", "  shift: [\"10%\", 50]\n", []string{"slipway.yaml:4:18:", "step 2", `"50"`}},
		{"shift shrinks", "  shift: [\"50%\", \"10%\", \"100%\"]\n", []string{"slipway.yaml:4:18:", "step 2", "does not grow"}},
		{"shift above 100", "  shift: [\"150%\"]\n", []string{"step 1", "at most 100%"}},
		{"shift short of 100", "  shift: [\"10%\", \"50%\"]\n", []string{"slipway.yaml:4:18:", "must be \"100%\""}},
		{"shift_bake", "  shift_bake: 10ms\n", []string{"slipway.yaml:4:15:", "rollout.shift_bake", "between 1s"}},
		{"keep_warm", "  keep_warm: 5s\n", []string{"slipway.yaml:4:14:", "rollout.keep_warm", "at least 1m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + tt.in))
			if err == nil {
				t.Fatalf("no error for %q", tt.in)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
