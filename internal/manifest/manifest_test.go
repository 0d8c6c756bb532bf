package manifest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWaveSizes(t *testing.T) {
	pct := func(p float64) WaveSpec { return WaveSpec{Percent: p} }
	cnt := func(c int) WaveSpec { return WaveSpec{Count: c} }
	tests := []struct {
		name  string
		specs []WaveSpec
		n     int
		want  []int
	}{
		{"one host", []WaveSpec{cnt(1), pct(25), pct(100)}, 1, []int{1}},
		{"three hosts default", DefaultWaves, 3, []int{1, 2}},
		{"four hosts default", DefaultWaves, 4, []int{1, 3}},
		{"twenty hosts default", DefaultWaves, 20, []int{1, 4, 15}},
		{"percentage rounding to zero rounds up to one", []WaveSpec{pct(1), pct(100)}, 3, []int{1, 2}},
		{"all at once", []WaveSpec{pct(100)}, 5, []int{5}},
		{"short last wave is completed", []WaveSpec{cnt(1), pct(50)}, 10, []int{1, 4, 5}},
		{"count above fleet is clamped", []WaveSpec{cnt(50)}, 3, []int{3}},
		{"no hosts", DefaultWaves, 0, nil},
		{"thousand hosts", []WaveSpec{cnt(1), pct(10), pct(50), pct(100)}, 1000, []int{1, 99, 400, 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WaveSizes(tt.specs, tt.n)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("WaveSizes(%v, %d) mismatch (-want +got):\n%s", tt.specs, tt.n, diff)
			}
			sum := 0
			for _, s := range got {
				sum += s
			}
			if sum != tt.n {
				t.Errorf("WaveSizes(%v, %d) covers %d instances, want %d", tt.specs, tt.n, sum, tt.n)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	got := Plan(DefaultWaves, []string{"a", "b", "c", "d"})
	want := [][]string{{"a"}, {"b", "c", "d"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Plan mismatch (-want +got):\n%s", diff)
	}
}

func TestParse(t *testing.T) {
	m, err := Parse([]byte(`
app: demo
service:
  start: bin/demo-app
health:
  successes: 2
  interval: 1s
  timeout: 5s
rollout:
  waves: [1, "50%", "100%"]
bake:
  duration: 1m
  interval: 10s
alarms: [demo-5xx]
environments:
  production:
    waves: ["10%", "100%"]
    alarms: [demo-latency]
`))
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if m.Health.Path != "/healthz" || m.Health.ExpectStatus != 200 || m.Health.Interval.Duration != time.Second {
		t.Errorf("Parse() health = %+v, want defaults for path and status", m.Health)
	}
	waves, bake, alarms := m.ForEnvironment("production")
	if got := len(waves); got != 2 {
		t.Errorf("ForEnvironment(production) waves = %v, want 2 waves", waves)
	}
	if bake.Duration.Duration != time.Minute {
		t.Errorf("ForEnvironment(production) bake = %v, want 1m from the top level", bake.Duration)
	}
	if diff := cmp.Diff([]string{"demo-5xx", "demo-latency"}, alarms); diff != "" {
		t.Errorf("ForEnvironment(production) alarms (-want +got):\n%s", diff)
	}
	if got := m.TargetTags("staging")["slipway:env"]; got != "staging" {
		t.Errorf("TargetTags(staging)[slipway:env] = %q, want staging", got)
	}
	env := string(m.ReleaseEnv("v2"))
	for _, want := range []string{"SLIPWAY_VERSION=v2\n", "SLIPWAY_START=bin/demo-app\n", "SLIPWAY_HEALTH_TIMEOUT=5\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("ReleaseEnv(v2) = %q, want it to contain %q", env, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "is empty"},
		{"unknown field", "app: demo\nservice: {start: x}\nhelth: {}\n", "slipway.yaml:3:1: helth: unknown key"},
		{"bad app", "app: Demo_App\nservice: {start: x}\n", "app: \"Demo_App\""},
		{"bad wave", "app: demo\nservice: {start: x}\nrollout: {waves: [0]}\n", "wave 1 is \"0\""},
		{"bad percent", "app: demo\nservice: {start: x}\nrollout: {waves: [\"120%\"]}\n", "at most 100%"},
		{"bad duration", "app: demo\nservice: {start: x}\nbake: {duration: soon}\n", "\"soon\" is not a duration"},
		{"absolute start", "app: demo\nservice: {start: /usr/bin/x}\n", "service.start"},
		{"timeout too short", "app: demo\nservice: {start: x}\nhealth: {successes: 5, interval: 2s, timeout: 3s}\n", "health.timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error = %v, want it to mention %q", tt.yaml, err, tt.want)
			}
		})
	}
}
