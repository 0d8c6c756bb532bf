package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/slipway-deploy/slipway/internal/canary"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// CanaryAnalysis is a deployment's canary analysis as it ran: what each
// side served in each sample interval, and the verdict on everything
// counted up to the last sample.
type CanaryAnalysis struct {
	Canary   []string            `json:"canary"`
	Baseline []string            `json:"baseline"`
	Spec     contract.CanarySpec `json:"spec"`
	Samples  []CanaryPoint       `json:"samples"`
	Verdict  canary.Verdict      `json:"verdict"`
	// Status is ok (the bake passed), failed (the canary was worse), or
	// waiting while the bake goes on.
	Status string `json:"status"`
}

// CanaryPoint is one sample: how long after the start it was taken, and
// what each side served in its interval.
type CanaryPoint struct {
	Sample   int           `json:"sample"`
	Seconds  float64       `json:"seconds"`
	Canary   canary.Totals `json:"canary"`
	Baseline canary.Totals `json:"baseline"`
}

// canaryAnalysis gathers the canary steps of a deployment, nil when it
// had none.
func canaryAnalysis(steps []ledger.Step) *CanaryAnalysis {
	var a *CanaryAnalysis
	seen := map[int]bool{}
	for _, st := range steps {
		d, ok := contract.ParseCanaryDetail(st.Detail)
		if !ok || seen[d.Sample] {
			continue // a retried call writes its step again
		}
		seen[d.Sample] = true
		if a == nil {
			a = &CanaryAnalysis{Canary: d.Canary, Baseline: d.Baseline, Spec: d.Spec, Status: StatusWaiting}
		}
		a.Samples = append(a.Samples, CanaryPoint{Sample: d.Sample, Seconds: d.Seconds, Canary: d.Interval.Canary, Baseline: d.Interval.Baseline})
		a.Verdict = d.Verdict
		switch {
		case d.Failed:
			a.Status = StatusFailed
		case d.Done:
			a.Status = StatusOK
		}
	}
	return a
}

// Prefix of the canary analysis's checklist line.
const checkCanary = "canary analysis"

// canaryCheck is the checklist's line for the canary analysis, exactly as
// it will run, or why it will not.
func canaryCheck(p contract.PreflightOutput, add func(format string, a ...any)) {
	if p.CanarySkipped != "" {
		add("%s: skipped: %s", checkCanary, p.CanarySkipped)
		return
	}
	c := p.Canary
	if c == nil {
		return
	}
	canaryIDs, baseline := "the first wave", "the instances not yet deployed"
	if len(p.Waves) > 1 {
		canaryIDs = strings.Join(p.Waves[0], ", ")
		var rest []string
		for _, w := range p.Waves[1:] {
			rest = append(rest, w...)
		}
		baseline = strings.Join(rest, ", ")
	}
	tests := "its error rate is significantly higher (one-sided pooled two-proportion z-test)"
	if c.Latency {
		tests += fmt.Sprintf(" or its mean latency significantly above both the baseline's +%s and +%s (one-sided Welch t-test on the intervals' means)",
			canary.Percent(c.LatencyIncrease), canary.Millis(c.LatencyMarginMS))
	}
	add("%s of wave 1 (%s) against %s, not yet deployed, once the canary is in service: %d samples every %s over %s from %s; fails when %s, at %s confidence (each look at α = %s / (%d samples × %d tests)), once each side has served %d requests; a failure rolls back",
		checkCanary, canaryIDs, baseline, c.Samples, roundSeconds(c.IntervalSeconds), roundSeconds(c.BakeSeconds), c.Source, tests,
		canary.Percent(c.Confidence), canary.Percent(1-c.Confidence), c.Samples, c.Config().Tests(), c.MinRequests)
}

// canaryResult is the canary line's result from the canary steps.
func canaryResult(steps []ledger.Step, status string) (string, string) {
	a := canaryAnalysis(steps)
	if a == nil {
		return status, ""
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if contract.DetailKind(steps[i].Detail) == contract.DetailCanary && (a.Status == StatusOK || a.Status == StatusFailed) {
			return a.Status, steps[i].Message
		}
	}
	return status, fmt.Sprintf("%d of %d samples taken", len(a.Samples), a.Spec.Samples)
}

// sparks are the levels of a text chart, lowest first.
var sparks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws values on a scale from lo to hi, one character each; a
// missing value (NaN) is a space.
func sparkline(values []float64, lo, hi float64) string {
	var b strings.Builder
	for _, v := range values {
		switch {
		case math.IsNaN(v):
			b.WriteRune(' ')
		case hi <= lo:
			b.WriteRune(sparks[0])
		default:
			i := int(math.Round((v - lo) / (hi - lo) * float64(len(sparks)-1)))
			b.WriteRune(sparks[min(max(i, 0), len(sparks)-1)])
		}
	}
	return b.String()
}

// series returns each sample's error rate and mean latency for one side
// (NaN where it served nothing).
func (a *CanaryAnalysis) series(side func(CanaryPoint) canary.Totals) (rates, lats []float64) {
	for _, s := range a.Samples {
		t := side(s)
		r, l := math.NaN(), math.NaN()
		if t.Requests > 0 {
			r = t.ErrorRate()
		}
		if m, ok := t.MeanLatencyMS(); ok {
			l = m
		}
		rates, lats = append(rates, r), append(lats, l)
	}
	return rates, lats
}

func canarySide(p CanaryPoint) canary.Totals   { return p.Canary }
func baselineSide(p CanaryPoint) canary.Totals { return p.Baseline }

// bottom is the lowest value of the series, 0 when they have none.
func bottom(series ...[]float64) float64 {
	b := math.Inf(1)
	for _, s := range series {
		for _, v := range s {
			if !math.IsNaN(v) && v < b {
				b = v
			}
		}
	}
	if math.IsInf(b, 1) {
		return 0
	}
	return b
}

func top(series ...[]float64) float64 {
	t := 0.0
	for _, s := range series {
		for _, v := range s {
			if !math.IsNaN(v) && v > t {
				t = v
			}
		}
	}
	return t
}

// canaryText writes the analysis as a small text chart: per sample
// interval, each side's error rate and mean latency on a common scale,
// then the verdict.
func (r *Report) canaryText(t *textWriter) {
	a := r.Canary
	if a == nil || len(a.Samples) == 0 {
		return
	}
	t.printf("\nCanary analysis: wave 1 (%s) against %s — %s\n", strings.Join(a.Canary, ", "), strings.Join(a.Baseline, ", "), a.Status)
	cr, cl := a.series(canarySide)
	br, bl := a.series(baselineSide)
	rt, lt, lb := top(cr, br), top(cl, bl), bottom(cl, bl)
	pad := func(s string) string { return s + strings.Repeat(" ", max(0, len(a.Samples)-len([]rune(s)))) }
	v := a.Verdict
	cm, _ := v.Canary.MeanLatencyMS()
	bm, _ := v.Baseline.MeanLatencyMS()
	t.printf("   %d of %d samples, every %s: one character per interval, both sides on one scale; after them, the totals\n", len(a.Samples), a.Spec.Samples, roundSeconds(a.Spec.IntervalSeconds))
	t.printf("   error rate    canary    %s  %6s of %d requests (scale 0–%s)\n", pad(sparkline(cr, 0, rt)), canary.Percent(v.Canary.ErrorRate()), v.Canary.Requests, canary.Percent(rt))
	t.printf("                 baseline  %s  %6s of %d requests\n", pad(sparkline(br, 0, rt)), canary.Percent(v.Baseline.ErrorRate()), v.Baseline.Requests)
	if v.Canary.LatencyCount > 0 || v.Baseline.LatencyCount > 0 {
		t.printf("   mean latency  canary    %s  %6s (scale %s–%s)\n", pad(sparkline(cl, lb, lt)), canary.Millis(cm), canary.Millis(lb), canary.Millis(lt))
		t.printf("                 baseline  %s  %6s\n", pad(sparkline(bl, lb, lt)), canary.Millis(bm))
	}
	t.printf("   verdict       %s\n", v.Summary())
}

// CanaryChart is the canary analysis drawn as two small line charts (the
// error rate and the mean latency per sample interval, canary and
// baseline), in the coordinates of an SVG drawing.
type CanaryChart struct {
	Width, Height int
	Panels        []CanaryPanel
	Status        string
	Title         string
	Verdict       string
}

// CanaryPanel is one chart: its title, its scale's top, and each side's
// polyline.
type CanaryPanel struct {
	Title      string
	X, Y, W, H int
	Top        string
	// First and Last label the axis's ends: when the first and the last
	// samples were taken.
	First, Last      string
	Canary, Baseline string // "x,y x,y …"
	CanaryDots       []CanaryDot
	BaselineDots     []CanaryDot
}

// CanaryDot is one sample on a line, with its tooltip.
type CanaryDot struct {
	X, Y  float64
	Title string
}

const (
	chartWidth  = 1000
	chartPanelH = 150
	chartTop    = 30
)

// NewCanaryChart lays out r's canary analysis; nil when it had none.
func NewCanaryChart(r *Report) *CanaryChart {
	a := r.Canary
	if a == nil || len(a.Samples) == 0 {
		return nil
	}
	c := &CanaryChart{Width: chartWidth, Status: a.Status, Verdict: a.Verdict.Summary(),
		Title: fmt.Sprintf("wave 1 (%s) against %s", strings.Join(a.Canary, ", "), strings.Join(a.Baseline, ", "))}
	cr, cl := a.series(canarySide)
	br, bl := a.series(baselineSide)
	// empty is a panel's scale when every value is 0.
	type panelSpec struct {
		title  string
		c, b   []float64
		format func(float64) string
		empty  float64
	}
	panels := []panelSpec{{"error rate per interval", cr, br, canary.Percent, 0.01}}
	if a.Verdict.Canary.LatencyCount > 0 || a.Verdict.Baseline.LatencyCount > 0 {
		panels = append(panels, panelSpec{"mean latency per interval", cl, bl, canary.Millis, 1})
	}
	const left, gap, right = 60, 90, 20
	w := (chartWidth - left - right - gap*(len(panels)-1)) / len(panels)
	first, last := a.Samples[0], a.Samples[len(a.Samples)-1]
	for i, p := range panels {
		panel := CanaryPanel{Title: p.title, X: left + i*(w+gap), Y: chartTop, W: w, H: chartPanelH,
			First: fmt.Sprintf("sample %d, %s", first.Sample, formatSeconds(first.Seconds)), Last: fmt.Sprintf("sample %d, %s", last.Sample, formatSeconds(last.Seconds))}
		tp := top(p.c, p.b)
		if tp <= 0 {
			tp = p.empty
		}
		panel.Top = p.format(tp)
		line := func(vals []float64, side string) (string, []CanaryDot) {
			var pts []string
			var dots []CanaryDot
			n := len(vals)
			for j, v := range vals {
				if math.IsNaN(v) {
					continue
				}
				x := float64(panel.X)
				if n > 1 {
					x += float64(j) * float64(panel.W) / float64(n-1)
				} else {
					x += float64(panel.W) / 2
				}
				y := float64(panel.Y+panel.H) - v/tp*float64(panel.H)
				x, y = round1(x), round1(y)
				pts = append(pts, fmt.Sprintf("%g,%g", x, y))
				dots = append(dots, CanaryDot{X: x, Y: y, Title: fmt.Sprintf("%s, sample %d: %s", side, a.Samples[j].Sample, p.format(v))})
			}
			return strings.Join(pts, " "), dots
		}
		panel.Canary, panel.CanaryDots = line(p.c, "canary")
		panel.Baseline, panel.BaselineDots = line(p.b, "baseline")
		c.Panels = append(c.Panels, panel)
	}
	c.Height = chartTop + chartPanelH + 34
	return c
}
