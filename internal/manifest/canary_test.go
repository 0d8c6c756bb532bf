package manifest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseCanary(t *testing.T) {
	y := base + `rollout:
  waves: [1, "100%"]
  canary:
    bake: 3m
    interval: 1m
    confidence: 99.9%
    min_requests: 200
    latency: {increase: 10%, margin: 20ms}
    metrics: {namespace: Shop, requests: Requests, errors: Errors5xx, latency: LatencyMs, dimensions: {Stage: "{env}"}}
`
	m, err := Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := &Canary{Bake: Duration{3 * time.Minute}, Interval: Duration{time.Minute}, Confidence: Fraction{0.999, true}, MinRequests: 200,
		Latency: CanaryLatency{Increase: Fraction{0.1, true}, Margin: Duration{20 * time.Millisecond}},
		Metrics: &CanaryMetrics{Namespace: "Shop", Dimension: "InstanceId", Requests: "Requests", Errors: "Errors5xx", Latency: "LatencyMs", Dimensions: map[string]string{"Stage": "{env}"}}}
	if d := cmp.Diff(want, m.Rollout.Canary); d != "" {
		t.Errorf("Parse canary (-want +got):\n%s", d)
	}
	if n := m.Rollout.Canary.Samples(); n != 3 {
		t.Errorf("Samples = %d, want 3", n)
	}

	m, err = Parse([]byte(base + "rollout:\n  canary: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want = &Canary{Bake: Duration{DefaultCanaryBake}, Interval: Duration{DefaultCanaryInterval}, Confidence: Fraction{0.99, true}, MinRequests: 50,
		Latency: CanaryLatency{Increase: Fraction{0.2, true}, Margin: Duration{5 * time.Millisecond}}}
	if d := cmp.Diff(want, m.Rollout.Canary); d != "" {
		t.Errorf("Parse canary defaults (-want +got):\n%s", d)
	}
	m, err = Parse([]byte(base + "rollout:\n  canary: {latency: off, confidence: 0.95}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Rollout.Canary; !c.Latency.Off || c.Confidence.Value != 0.95 {
		t.Errorf("latency off, confidence 0.95: got %+v", c)
	}
	if m, _ := Parse([]byte(base)); m.Rollout.Canary != nil {
		t.Errorf("no canary: got %+v", m.Rollout.Canary)
	}
}

func TestParseCanaryErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"blue-green", "rollout:\n  strategy: blue-green\n  canary: {}\n", []string{"slipway.yaml:6:11:", "rollout.canary", "blue-green rollout does not have"}},
		{"one wave", "rollout:\n  waves: [\"100%\"]\n  canary: {}\n", []string{"rollout.canary", "at least two waves"}},
		{"bake too long", "rollout:\n  canary: {bake: 1h}\n", []string{"rollout.canary.bake", "between 1s and 30m"}},
		{"interval longer than the bake", "rollout:\n  canary: {bake: 10s, interval: 20s}\n", []string{"rollout.canary.interval", "longer than the bake"}},
		{"too many samples", "rollout:\n  canary: {bake: 30m, interval: 1s}\n", []string{"rollout.canary.interval", "1800 samples", "more than 120"}},
		{"confidence 100%", "rollout:\n  canary: {confidence: 100%}\n", []string{"slipway.yaml:5:", "rollout.canary.confidence", "below 100%"}},
		{"confidence not a share", "rollout:\n  canary: {confidence: high}\n", []string{"rollout.canary.confidence", `"high" is not a share`}},
		{"min requests", "rollout:\n  canary: {min_requests: -1}\n", []string{"rollout.canary.min_requests", "at least 1"}},
		{"latency neither off nor a tolerance", "rollout:\n  canary: {latency: fast}\n", []string{"rollout.canary.latency", "want off"}},
		{"metrics without their names", "rollout:\n  canary:\n    metrics: {namespace: Shop}\n", []string{"rollout.canary.metrics.requests", "is required", "rollout.canary.metrics.errors"}},
		{"unknown key", "rollout:\n  canary: {bakes: 1m}\n", []string{"rollout.canary", "bakes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := base + tt.yaml
			_, err := Parse([]byte(y))
			checkErr(t, y, err, tt.want)
		})
	}
}
