package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/canary"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

// CanaryMetrics reads what instances served, for the canary analysis: the
// embedded load balancer's per-target counters, or CloudWatch metrics
// published per instance.
type CanaryMetrics interface {
	// Source says where env's figures come from for spec, as the plan
	// shows it, or why they cannot be read there (Preflight refuses).
	Source(ctx context.Context, env string, spec contract.CanarySpec) (string, error)
	// Totals returns what each of ids served: from since to now
	// (CloudWatch), or since the source began counting (the balancer's
	// counters); the analysis only ever takes differences.
	Totals(ctx context.Context, env string, spec contract.CanarySpec, ids []string, since, now time.Time) (map[string]canary.Totals, error)
}

// canarySleepCap bounds how long one canary call waits for its sample to
// be due: the Lambda's timeout is short, and on AWS the Wait state has
// waited already.
const canarySleepCap = 20 * time.Second

// canary runs StartCanary (no cursor yet: take the starting point) and
// CheckCanary (one sample, then the tests on every sample so far).
func (h *Health) canary(ctx context.Context, in contract.HealthInput) (contract.HealthOutput, error) {
	out := contract.HealthOutput{Wave: in.Wave, Status: contract.ProbePending}
	spec := in.Canary
	if spec == nil || in.Wave < 0 || in.Wave >= len(in.Waves)-1 {
		return out, fmt.Errorf("health: canary analysis needs its spec and a wave with waves after it (wave %d of %d)", in.Wave+1, len(in.Waves))
	}
	if h.CanaryMetrics == nil {
		return out, &contract.CanaryFailed{Message: "canary analysis: this function has no source of metrics configured, so the canary cannot be called safe"}
	}
	if in.Previous == nil || in.Previous.Canary == nil {
		return h.startCanary(ctx, in, *spec)
	}
	cur := *in.Previous.Canary
	cur.Samples = slices.Clone(cur.Samples)
	out.Canary = &cur
	started, err := time.Parse(time.RFC3339Nano, cur.StartedAt)
	if err != nil {
		return out, fmt.Errorf("canary: started_at %q is not an RFC 3339 time", cur.StartedAt)
	}
	n := len(cur.Samples) + 1
	interval := time.Duration(spec.IntervalSeconds) * time.Second
	// The sample is due n intervals after the start. On AWS the Wait state
	// has waited; the embedded engine's clock skips Wait states, so the
	// analysis, which needs real traffic, waits here.
	due := started.Add(time.Duration(n) * interval)
	if wait := due.Sub(h.Time()); wait > 0 {
		if err := sleepCtx(ctx, min(wait, canarySleepCap)); err != nil {
			return out, err
		}
		if h.Time().Before(due) {
			return out, nil // not due yet: the next call samples
		}
	}
	now := h.Time()
	sides, err := h.canarySides(ctx, in.Environment, *spec, cur, started, now)
	if err != nil {
		return out, err
	}
	var sofar canary.Sample
	for _, s := range cur.Samples {
		sofar.Canary, sofar.Baseline = sofar.Canary.Add(s.Canary), sofar.Baseline.Add(s.Baseline)
	}
	since := canary.Sample{Canary: sides.Canary.Sub(cur.Start.Canary), Baseline: sides.Baseline.Sub(cur.Start.Baseline)}
	sample := canary.Sample{Canary: since.Canary.Sub(sofar.Canary), Baseline: since.Baseline.Sub(sofar.Baseline)}
	cur.Samples = append(cur.Samples, sample)
	verdict := canary.Analyze(spec.Config(), cur.Samples)
	detail := contract.CanaryDetail{Kind: contract.DetailCanary, Sample: n, Samples: spec.Samples, Seconds: now.Sub(started).Seconds(),
		Interval: sample, Verdict: verdict, Canary: cur.Canary, Baseline: cur.Baseline, Spec: *spec}
	what := canaryWhat(in.Wave, cur)
	if verdict.Failed() {
		detail.Done, detail.Failed = true, true
		msg := fmt.Sprintf("canary analysis failed at sample %d of %d: %s served significantly worse than %s at %s confidence: %s",
			n, spec.Samples, what, canaryBaselineWhat(cur), canary.Percent(spec.Confidence), verdict.Summary())
		h.Step(ctx, in.DeploymentID, contract.StageHealth, StepFailed, msg, detail)
		return out, &contract.CanaryFailed{Message: msg}
	}
	if n < spec.Samples {
		h.Step(ctx, in.DeploymentID, contract.StageHealth, StepInfo, fmt.Sprintf("canary sample %d of %d: %s", n, spec.Samples, verdict.Summary()), detail)
		return out, nil
	}
	detail.Done = true
	out.Done, out.Status = true, contract.ProbeHealthy
	outcome := "not significantly worse"
	if verdict.Errors.Inconclusive != "" {
		outcome = "inconclusive (" + verdict.Errors.Inconclusive + "): the rollout goes on"
	}
	h.Step(ctx, in.DeploymentID, contract.StageHealth, StepOK, fmt.Sprintf("canary analysis passed after %s: %s %s than %s at %s confidence: %s",
		durText(spec.BakeSeconds), what, outcome, canaryBaselineWhat(cur), canary.Percent(spec.Confidence), verdict.Summary()), detail)
	return out, nil
}

// startCanary takes the starting point: what each side's source has
// counted now.
func (h *Health) startCanary(ctx context.Context, in contract.HealthInput, spec contract.CanarySpec) (contract.HealthOutput, error) {
	now := h.Time()
	cur := contract.CanaryCursor{StartedAt: now.UTC().Format(time.RFC3339Nano), Canary: slices.Clone(in.Waves[in.Wave]), Samples: []canary.Sample{}}
	for _, w := range in.Waves[in.Wave+1:] {
		cur.Baseline = append(cur.Baseline, w...)
	}
	start, err := h.canarySides(ctx, in.Environment, spec, cur, now, now)
	if err != nil {
		return contract.HealthOutput{Wave: in.Wave, Status: contract.ProbePending}, err
	}
	cur.Start = start
	h.Step(ctx, in.DeploymentID, contract.StageHealth, StepInfo, fmt.Sprintf("canary analysis: %s against %s, %s every %s over %s, from %s",
		canaryWhat(in.Wave, cur), canaryBaselineWhat(cur), Count(spec.Samples, "sample"), durText(spec.IntervalSeconds), durText(spec.BakeSeconds), spec.Source), nil)
	return contract.HealthOutput{Wave: in.Wave, Status: contract.ProbePending, Canary: &cur}, nil
}

// canarySides sums what each side's instances served.
func (h *Health) canarySides(ctx context.Context, env string, spec contract.CanarySpec, cur contract.CanaryCursor, since, now time.Time) (canary.Sample, error) {
	ids := append(slices.Clone(cur.Canary), cur.Baseline...)
	totals, err := h.CanaryMetrics.Totals(ctx, env, spec, ids, since, now)
	if err != nil {
		return canary.Sample{}, Classify(err, func(m string) error {
			return &contract.CanaryFailed{Message: "canary analysis: the metrics could not be read, so the canary cannot be called safe: " + m}
		})
	}
	var s canary.Sample
	for _, id := range cur.Canary {
		s.Canary = s.Canary.Add(totals[id])
	}
	for _, id := range cur.Baseline {
		s.Baseline = s.Baseline.Add(totals[id])
	}
	return s, nil
}

func canaryWhat(wave int, cur contract.CanaryCursor) string {
	return fmt.Sprintf("wave %d (%s)", wave+1, List(cur.Canary))
}

func canaryBaselineWhat(cur contract.CanaryCursor) string {
	return fmt.Sprintf("the %s not yet deployed (%s)", Count(len(cur.Baseline), "instance"), List(cur.Baseline))
}

// durText writes whole seconds as a duration: 10s, 2m, 1m30s.
func durText(s int) string {
	d := (time.Duration(s) * time.Second).String()
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// canarySpec sets out.Canary from the manifest's rollout.canary, or says
// in out.CanarySkipped why it does not run here; it refuses when the
// environment's figures cannot be read.
func (h *Preflight) canarySpec(ctx context.Context, m *manifest.Manifest, env string, out *contract.PreflightOutput) error {
	c := m.Rollout.Canary
	if c == nil || out.BlueGreen != nil {
		return nil
	}
	switch {
	case out.WaveCount < 2:
		out.CanarySkipped = fmt.Sprintf("the plan has one wave (%s): no instance is left to compare the canary with", Count(len(out.Instances), "instance"))
		return nil
	case out.PreviousVersion == "":
		out.CanarySkipped = "first deployment: nothing serves yet to compare the canary with"
		return nil
	}
	spec := contract.CanarySpec{
		BakeSeconds: seconds(c.Bake.Duration), IntervalSeconds: seconds(c.Interval.Duration), Samples: c.Samples(),
		Confidence: c.Confidence.Value, MinRequests: int64(c.MinRequests),
		Latency: !c.Latency.Off, LatencyIncrease: c.Latency.Increase.Value, LatencyMarginMS: float64(c.Latency.Margin.Microseconds()) / 1000,
	}
	if mt := c.Metrics; mt != nil {
		spec.Metrics = &contract.CanaryMetrics{Namespace: mt.Namespace, Dimension: mt.Dimension, Requests: mt.Requests, Errors: mt.Errors, Latency: mt.Latency}
		for k, v := range mt.Dimensions {
			if spec.Metrics.Dimensions == nil {
				spec.Metrics.Dimensions = map[string]string{}
			}
			spec.Metrics.Dimensions[k] = strings.ReplaceAll(v, "{env}", env)
		}
	}
	if h.CanaryMetrics == nil {
		return Refuse("the manifest asks for canary analysis (rollout.canary) but nothing here reads per-instance metrics for it")
	}
	src, err := h.CanaryMetrics.Source(ctx, env, spec)
	if err != nil {
		return Classify(err, func(m string) error { return Refuse("canary analysis (rollout.canary): %s", m) })
	}
	spec.Source = src
	if spec.Metrics != nil && spec.Metrics.Latency == "" {
		spec.Latency = false
	}
	out.Canary = &spec
	return nil
}
