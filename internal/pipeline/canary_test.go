package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/canary"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
)

// canarySource counts like the embedded balancer: cumulative totals per
// instance from an origin before the canary started. Each call to Totals
// adds one interval of traffic: per instance, reqs requests of which the
// rate given fails, each taking latencyMS.
type canarySource struct {
	totals map[string]canary.Totals
	rate   map[string]float64
	lat    map[string]float64
	reqs   int64
	err    error
	calls  int
}

func (s *canarySource) Source(context.Context, string, contract.CanarySpec) (string, error) {
	return "the stub's counters", nil
}

func (s *canarySource) Totals(_ context.Context, _ string, _ contract.CanarySpec, ids []string, since, now time.Time) (map[string]canary.Totals, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.calls > 0 {
		for _, id := range ids {
			errs := int64(float64(s.reqs) * s.rate[id])
			s.totals[id] = s.totals[id].Add(canary.Totals{Requests: s.reqs, Errors: errs, LatencyCount: s.reqs, LatencySumMS: float64(s.reqs) * (s.lat[id] + 0.1*float64(s.calls%3))})
		}
	}
	s.calls++
	out := map[string]canary.Totals{}
	for _, id := range ids {
		out[id] = s.totals[id]
	}
	return out, nil
}

// TestCanaryAnalysis: StartCanary takes the starting point; each
// CheckCanary samples both sides and tests everything so far; a canary
// whose error rate (or latency) is significantly worse fails with
// CanaryFailed; one within noise passes once the bake's samples are in;
// figures that cannot be read fail it too.
func TestCanaryAnalysis(t *testing.T) {
	base := map[string]canary.Totals{"a": {Requests: 5000, Errors: 400}, "b": {Requests: 5000, Errors: 10}, "c": {Requests: 5000, Errors: 10}}
	spec := contract.CanarySpec{BakeSeconds: 30, IntervalSeconds: 10, Samples: 3, Confidence: 0.99, MinRequests: 50,
		Latency: true, LatencyIncrease: 0.2, LatencyMarginMS: 5, Source: "the stub's counters"}
	tests := []struct {
		name      string
		rate, lat map[string]float64
		err       error
		wantErr   string
		wantSteps int
		wantIn    []string
	}{
		{name: "within noise", rate: map[string]float64{"a": 0.01, "b": 0.01, "c": 0.01}, lat: map[string]float64{"a": 2, "b": 2, "c": 2}, wantSteps: 4,
			wantIn: []string{"canary analysis: wave 1 (a) against the 2 instances not yet deployed (b, c), 3 samples every 10s over 30s, from the stub's counters",
				"canary sample 1 of 3: error rate 1% (1 of 100) vs 1% (2 of 200): z 0.00",
				"canary analysis passed after 30s: wave 1 (a) not significantly worse than the 2 instances not yet deployed (b, c) at 99% confidence: error rate 1% (3 of 300) vs 1% (6 of 600)"}},
		{name: "a canary failing a fifth of its requests", rate: map[string]float64{"a": 0.2, "b": 0.01, "c": 0.01}, lat: map[string]float64{"a": 2, "b": 2, "c": 2},
			wantErr: "CanaryFailed", wantSteps: 2,
			wantIn: []string{"canary analysis failed at sample 1 of 3: wave 1 (a) served significantly worse than the 2 instances not yet deployed (b, c) at 99% confidence: error rate 20% (20 of 100) vs 1% (2 of 200): z 5.95"}},
		{name: "a canary 40ms slower", rate: map[string]float64{}, lat: map[string]float64{"a": 50, "b": 10, "c": 10},
			wantErr: "CanaryFailed", wantSteps: 3, wantIn: []string{"failed at sample 2 of 3", "mean latency 50ms vs 10ms: t "}},
		{name: "figures that cannot be read", err: errors.New("AccessDenied: not authorized to perform cloudwatch:GetMetricData"), wantErr: "CanaryFailed", wantSteps: 0,
			wantIn: []string{"the metrics could not be read, so the canary cannot be called safe: AccessDenied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, led := deps(t, &pipelinetest.Fleet{})
			src := &canarySource{totals: map[string]canary.Totals{}, rate: tt.rate, lat: tt.lat, reqs: 100, err: tt.err}
			for k, v := range base {
				src.totals[k] = v
			}
			d.CanaryMetrics = src
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			d.Now = func() time.Time { return now }
			h := &pipeline.Health{Deps: d}
			in := contract.HealthInput{Action: contract.HealthCanary, DeploymentID: "dep-1", App: "demo", Environment: "staging",
				Wave: 0, Waves: [][]string{{"a"}, {"b"}, {"c"}}, Canary: &spec}
			var err error
			var out contract.HealthOutput
			for i := 0; i <= spec.Samples; i++ {
				out, err = h.Handle(context.Background(), in)
				if err != nil || out.Done {
					break
				}
				in.Previous = &out
				now = now.Add(10 * time.Second)
			}
			if name := errorName(err); name != tt.wantErr {
				t.Fatalf("error = %v (%s), want %q", err, name, tt.wantErr)
			}
			if tt.wantErr == "" && (!out.Done || out.Status != contract.ProbeHealthy || len(out.Canary.Samples) != 3) {
				t.Errorf("last output = %+v, want done and healthy after 3 samples", out)
			}
			steps, _ := led.Steps(context.Background(), "dep-1")
			var msgs []string
			details := 0
			for _, s := range steps {
				msgs = append(msgs, s.Message)
				if dt, ok := contract.ParseCanaryDetail(s.Detail); ok {
					details++
					if dt.Samples != 3 || dt.Sample != details || dt.Spec.Source != spec.Source {
						t.Errorf("detail %d = %+v", details, dt)
					}
				}
			}
			if len(steps) != tt.wantSteps {
				t.Errorf("%d steps, want %d:\n%s", len(steps), tt.wantSteps, strings.Join(msgs, "\n"))
			}
			text := strings.Join(msgs, "\n")
			if err != nil {
				text += "\n" + err.Error()
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(text, w) {
					t.Errorf("steps and error do not say %q:\n%s", w, text)
				}
			}
		})
	}
}
