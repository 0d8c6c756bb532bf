package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/canary"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// canaryFailed is rolledBack with a canary analysis instead of the second
// wave's failed health check: its canary wave (i-0a1) failed more of its
// requests than the three instances not yet deployed, at the third
// sample of six.
func canaryFailed(t *testing.T) DeploymentInput {
	in := rolledBack()
	spec := contract.CanarySpec{BakeSeconds: 60, IntervalSeconds: 10, Samples: 6, Confidence: 0.99, MinRequests: 50,
		Latency: true, LatencyIncrease: 0.2, LatencyMarginMS: 5, Source: "CloudWatch Shop: Requests, Errors5xx, LatencyMs per InstanceId"}
	p := *in.State.Preflight
	p.Canary = &spec
	in.State.Preflight = &p
	in.State.Error = &contract.StateError{Error: "CanaryFailed", Cause: "canary analysis failed at sample 3 of 6"}
	var kept []ledger.Step
	for _, s := range in.Steps {
		if s.Stage == "health" && s.Status == "failed" || strings.HasPrefix(s.Message, "wave 2") {
			continue
		}
		kept = append(kept, s)
	}
	for i, s := range kept {
		if s.Stage == "health" {
			at := s.At
			rest := append([]ledger.Step{}, kept[i+1:]...)
			kept = kept[:i+1]
			intervals := []canary.Sample{
				{Canary: canary.Totals{Requests: 120, Errors: 3, LatencyCount: 120, LatencySumMS: 120 * 41}, Baseline: canary.Totals{Requests: 360, Errors: 4, LatencyCount: 360, LatencySumMS: 360 * 40}},
				{Canary: canary.Totals{Requests: 118, Errors: 9, LatencyCount: 118, LatencySumMS: 118 * 44}, Baseline: canary.Totals{Requests: 355, Errors: 3, LatencyCount: 355, LatencySumMS: 355 * 39}},
				{Canary: canary.Totals{Requests: 121, Errors: 14, LatencyCount: 121, LatencySumMS: 121 * 47}, Baseline: canary.Totals{Requests: 362, Errors: 5, LatencyCount: 362, LatencySumMS: 362 * 41}},
			}
			kept = append(kept, ledger.Step{Stage: "health", Status: "info", Message: "canary analysis: wave 1 (i-0a1) against the 3 instances not yet deployed", At: at.Add(time.Second)})
			for n := range intervals {
				v := canary.Analyze(spec.Config(), intervals[:n+1])
				d := contract.CanaryDetail{Kind: contract.DetailCanary, Sample: n + 1, Samples: 6, Seconds: float64(10 * (n + 1)), Interval: intervals[n], Verdict: v,
					Canary: []string{"i-0a1"}, Baseline: []string{"i-0b2", "i-0c3", "i-0d4"}, Spec: spec, Done: v.Failed(), Failed: v.Failed()}
				b, err := json.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				st := ledger.Step{Stage: "health", Status: "info", Message: "canary sample: " + v.Summary(), At: at.Add(time.Duration(10*(n+1)) * time.Second), Detail: b}
				if v.Failed() {
					st.Status, st.Message = "failed", "canary analysis failed at sample 3 of 6: "+v.Summary()
				}
				kept = append(kept, st)
			}
			kept = append(kept, rest...)
			break
		}
	}
	for i := range kept {
		kept[i].Seq = i + 1
	}
	in.Steps = kept
	return in
}

// TestCanaryReport: the report draws both sides' series, gives the
// verdict, and the checklist says how the analysis ran and that it
// failed.
func TestCanaryReport(t *testing.T) {
	r := NewDeployment(canaryFailed(t))
	if r.Canary == nil || len(r.Canary.Samples) != 3 || r.Canary.Status != StatusFailed || !r.Canary.Verdict.Failed() {
		t.Fatalf("canary analysis = %+v, want 3 samples, failed", r.Canary)
	}
	golden(t, "canary-failed.txt.golden", []byte(r.String()))
	var b bytes.Buffer
	if err := r.HTML(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "canary-failed.html.golden", b.Bytes())
	golden(t, "canary-failed.md.golden", []byte(r.Markdown()))
	var line Check
	for _, c := range r.Checklist.Checks {
		if strings.HasPrefix(c.What, "canary analysis of wave 1 (i-0a1) against i-0b2, i-0c3, i-0d4") {
			line = c
		}
	}
	if line.Status != StatusFailed || !strings.HasPrefix(line.Detail, "canary analysis failed at sample 3 of 6") {
		t.Errorf("checklist line = %+v, want it failed with the failing step's message", line)
	}
	// `slipway show` refreshes the stored report from the ledger: the
	// analysis's line stays.
	in := canaryFailed(t)
	in.State = nil
	refreshed := Refresh(r, in)
	if got := refreshed.Checklist.Checks[len(refreshed.Checklist.Checks)-1]; got != line {
		t.Errorf("refreshed checklist's last line = %+v, want %+v", got, line)
	}
	for _, w := range []string{`<polyline class="c" points="`, `<polyline class="b" points="`, "error rate per interval", "mean latency per interval"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("the HTML report has no %q", w)
		}
	}
}

func TestSparkline(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	if got := sparkline([]float64{0, 0.5, 1, nan, 0.25}, 0, 1); got != "▁▅█ ▃" {
		t.Errorf("sparkline = %q", got)
	}
	if got := sparkline([]float64{40, 44, 48}, 40, 48); got != "▁▅█" {
		t.Errorf("sparkline from 40 = %q", got)
	}
	if got := sparkline([]float64{0, 0}, 0, 0); got != "▁▁" {
		t.Errorf("sparkline of zeros = %q", got)
	}
}
