// Package canary is the statistics of canary analysis: whether the
// canary wave, the first instances a deployment moves, serves worse than
// the instances not yet deployed (the baseline) while both take traffic,
// over the bake of that wave.
//
// Two one-sided tests run at each sample, on everything counted since the
// canary went into service:
//
// Error rate: a two-proportion z-test, pooled. With the canary's e_c
// failed requests of n_c, the baseline's e_b of n_b,
//
//	p_c = e_c/n_c, p_b = e_b/n_b, p = (e_c+e_b)/(n_c+n_b)
//	z   = (p_c − p_b) / √(p(1−p)(1/n_c + 1/n_b))
//
// and the p-value is P(Z ≥ z) for a standard normal Z. A canary no worse
// than the baseline gives a z around 0 or below; a failing one, a large
// positive z.
//
// Latency: Welch's t-test on the mean latency of each sample interval
// (one mean per interval and side, so a slow spell that slows many
// requests at once counts once), one-sided against a tolerance: the
// canary fails only when its mean is significantly above both the
// baseline's × (1 + LatencyIncrease) and the baseline's + LatencyMarginMS.
// For a scale s (1 + LatencyIncrease, or 1 with the margin m),
//
//	t  = (x̄_c − s·x̄_b − m) / √(v_c/k_c + s²·v_b/k_b)
//	df = (v_c/k_c + s²v_b/k_b)² / ((v_c/k_c)²/(k_c−1) + (s²v_b/k_b)²/(k_b−1))
//
// with x̄, v and k each side's mean, variance and number of interval
// means; the p-value is P(T ≥ t) for Student's t with df degrees of
// freedom, and the test's p-value the larger of the two (it rejects only
// when both do).
//
// A test looks once per sample, so a bake of k samples looks k times; the
// analysis is Bonferroni-corrected: each look of each test rejects at
// (1 − Confidence) / (k × tests). The chance that a canary no worse than
// its baseline fails the analysis is then at most 1 − Confidence. A test
// gives no verdict until each side has served MinRequests requests: a
// canary that took too little traffic continues, and the report says the
// analysis was inconclusive.
package canary

import (
	"fmt"
	"math"
	"strings"
)

// Totals are what one side served over a span of time.
type Totals struct {
	Requests int64 `json:"requests"`
	// Errors are the failed requests: a 5xx answer, or none at all.
	Errors int64 `json:"errors"`
	// LatencyCount requests were timed, taking LatencySumMS milliseconds
	// in all (the latency metric's sample count and sum).
	LatencyCount int64   `json:"latency_count,omitempty"`
	LatencySumMS float64 `json:"latency_sum_ms,omitempty"`
}

// Add returns t + u.
func (t Totals) Add(u Totals) Totals {
	return Totals{t.Requests + u.Requests, t.Errors + u.Errors, t.LatencyCount + u.LatencyCount, t.LatencySumMS + u.LatencySumMS}
}

// Sub returns t − u, never below zero: a counter that went back (a
// restarted balancer) counts from zero again.
func (t Totals) Sub(u Totals) Totals {
	d := Totals{t.Requests - u.Requests, t.Errors - u.Errors, t.LatencyCount - u.LatencyCount, t.LatencySumMS - u.LatencySumMS}
	if d.Requests < 0 || d.Errors < 0 || d.LatencyCount < 0 || d.LatencySumMS < 0 {
		return t
	}
	return d
}

// ErrorRate is Errors/Requests, 0 without requests.
func (t Totals) ErrorRate() float64 {
	if t.Requests <= 0 {
		return 0
	}
	return float64(t.Errors) / float64(t.Requests)
}

// MeanLatencyMS is the mean latency, and false when nothing was timed.
func (t Totals) MeanLatencyMS() (float64, bool) {
	if t.LatencyCount <= 0 {
		return 0, false
	}
	return t.LatencySumMS / float64(t.LatencyCount), true
}

// Sample is what each side served in one sample interval.
type Sample struct {
	Canary   Totals `json:"canary"`
	Baseline Totals `json:"baseline"`
}

// Config is how the analysis judges.
type Config struct {
	// Confidence is 1 − the chance the whole analysis fails a canary no
	// worse than its baseline (0.99 by default).
	Confidence float64
	// Looks is how many samples the bake takes (at least 1).
	Looks int
	// MinRequests is the requests each side must have served before a
	// test can fail the canary.
	MinRequests int64
	// Latency runs the latency test.
	Latency bool
	// LatencyIncrease and LatencyMarginMS are the latency tolerance: the
	// canary's mean may be up to this fraction and this many milliseconds
	// above the baseline's.
	LatencyIncrease float64
	LatencyMarginMS float64
}

// Tests is how many tests each look runs.
func (c Config) Tests() int {
	if c.Latency {
		return 2
	}
	return 1
}

// Alpha is the significance level of one look of one test (Bonferroni).
func (c Config) Alpha() float64 {
	return (1 - c.Confidence) / float64(max(c.Looks, 1)*c.Tests())
}

// Test is one test's result at one look.
type Test struct {
	// Statistic is z (error rate) or t (latency); DF, t's degrees of
	// freedom.
	Statistic float64 `json:"statistic"`
	DF        float64 `json:"df,omitempty"`
	// P is the one-sided p-value; Alpha, the level it is compared with.
	P     float64 `json:"p"`
	Alpha float64 `json:"alpha"`
	// Worse is set when P < Alpha: the canary is significantly worse.
	Worse bool `json:"worse"`
	// Inconclusive says why the test could not judge (too few requests
	// or intervals); the canary is not failed on it.
	Inconclusive string `json:"inconclusive,omitempty"`
}

// Verdict is the analysis at one look: both tests on everything counted
// so far.
type Verdict struct {
	Errors  Test  `json:"errors"`
	Latency *Test `json:"latency,omitempty"`
	// Canary and Baseline are each side's totals since the canary went
	// into service.
	Canary   Totals `json:"canary"`
	Baseline Totals `json:"baseline"`
}

// Failed says whether a test found the canary significantly worse.
func (v Verdict) Failed() bool {
	return v.Errors.Worse || v.Latency != nil && v.Latency.Worse
}

// Analyze runs the tests on the samples taken so far.
func Analyze(c Config, samples []Sample) Verdict {
	var v Verdict
	for _, s := range samples {
		v.Canary = v.Canary.Add(s.Canary)
		v.Baseline = v.Baseline.Add(s.Baseline)
	}
	alpha := c.Alpha()
	v.Errors = Test{Alpha: alpha}
	if why := tooFew(c, v.Canary, v.Baseline); why != "" {
		v.Errors.Inconclusive = why
		v.Errors.P = 1
	} else {
		v.Errors.Statistic, v.Errors.P = ErrorRateZ(v.Canary.Errors, v.Canary.Requests, v.Baseline.Errors, v.Baseline.Requests)
		v.Errors.Worse = v.Errors.P < alpha
	}
	if c.Latency {
		t := Test{Alpha: alpha, P: 1}
		var cm, bm []float64
		for _, s := range samples {
			if m, ok := s.Canary.MeanLatencyMS(); ok {
				cm = append(cm, m)
			}
			if m, ok := s.Baseline.MeanLatencyMS(); ok {
				bm = append(bm, m)
			}
		}
		switch {
		case tooFew(c, v.Canary, v.Baseline) != "":
			t.Inconclusive = tooFew(c, v.Canary, v.Baseline)
		case len(cm) < 2 || len(bm) < 2:
			t.Inconclusive = fmt.Sprintf("latency needs 2 timed intervals a side (canary %d, baseline %d)", len(cm), len(bm))
		default:
			t.Statistic, t.DF, t.P = LatencyT(cm, bm, c.LatencyIncrease, c.LatencyMarginMS)
			t.Worse = t.P < alpha
		}
		v.Latency = &t
	}
	return v
}

func tooFew(c Config, canary, baseline Totals) string {
	if canary.Requests < c.MinRequests || baseline.Requests < c.MinRequests {
		return fmt.Sprintf("too little traffic to judge: canary %d, baseline %d requests, %d needed a side", canary.Requests, baseline.Requests, c.MinRequests)
	}
	return ""
}

// ErrorRateZ is the pooled two-proportion z-test of the canary's error
// rate (ec of nc) against the baseline's (eb of nb), one-sided: z and
// P(Z ≥ z). Both rates equal (none failed, or all) give z = 0, p = 0.5.
func ErrorRateZ(ec, nc, eb, nb int64) (z, p float64) {
	if nc <= 0 || nb <= 0 {
		return 0, 1
	}
	pc, pb := float64(ec)/float64(nc), float64(eb)/float64(nb)
	pool := float64(ec+eb) / float64(nc+nb)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(nc) + 1/float64(nb)))
	if se == 0 {
		return 0, 0.5
	}
	z = (pc - pb) / se
	return z, NormalSF(z)
}

// LatencyT is the one-sided Welch test that the canary's interval means
// are above the baseline's × (1 + increase) and above the baseline's +
// marginMS: the t and degrees of freedom of the test with the larger
// p-value, and that p-value.
func LatencyT(canary, baseline []float64, increase, marginMS float64) (t, df, p float64) {
	t1, df1, p1 := welch(canary, baseline, 1+increase, 0)
	t2, df2, p2 := welch(canary, baseline, 1, marginMS)
	if p1 >= p2 {
		return t1, df1, p1
	}
	return t2, df2, p2
}

// welch tests mean(c) > scale·mean(b) + margin.
func welch(c, b []float64, scale, margin float64) (t, df, p float64) {
	mc, vc := meanVar(c)
	mb, vb := meanVar(b)
	kc, kb := float64(len(c)), float64(len(b))
	ac, ab := vc/kc, scale*scale*vb/kb
	diff := mc - scale*mb - margin
	se2 := ac + ab
	if se2 == 0 {
		// Every interval mean the same on both sides: the difference is
		// exact.
		switch {
		case diff > 0:
			return math.Inf(1), kc + kb - 2, 0
		case diff < 0:
			return math.Inf(-1), kc + kb - 2, 1
		}
		return 0, kc + kb - 2, 0.5
	}
	t = diff / math.Sqrt(se2)
	den := 0.0
	if kc > 1 {
		den += ac * ac / (kc - 1)
	}
	if kb > 1 {
		den += ab * ab / (kb - 1)
	}
	df = kc + kb - 2
	if den > 0 {
		df = se2 * se2 / den
	}
	return t, df, StudentSF(t, df)
}

func meanVar(xs []float64) (mean, variance float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		variance += (x - mean) * (x - mean)
	}
	return mean, variance / float64(len(xs)-1)
}

// NormalSF is P(Z ≥ z) for a standard normal Z.
func NormalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// NormalQuantile is the z with P(Z ≥ z) = p, for 0 < p < 1.
func NormalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(1-2*p) }

// StudentSF is P(T ≥ t) for Student's t with df degrees of freedom.
func StudentSF(t, df float64) float64 {
	switch {
	case math.IsNaN(t) || df <= 0:
		return 1
	case math.IsInf(t, 1):
		return 0
	case math.IsInf(t, -1):
		return 1
	}
	tail := 0.5 * regIncBeta(df/2, 0.5, df/(df+t*t))
	if t > 0 {
		return tail
	}
	return 1 - tail
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by
// its continued fraction (Numerical Recipes' betacf, Lentz's method).
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log(1-x))
	if x < (a+1)/(a+b+2) {
		return front * betacf(a, b, x) / a
	}
	return 1 - front*betacf(b, a, 1-x)/b
}

func betacf(a, b, x float64) float64 {
	const (
		maxIter = 300
		eps     = 1e-14
		tiny    = 1e-300
	)
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// Summary writes the verdict for people: each test's figures, statistic,
// p-value and level.
//
//	error rate 20.4% (53 of 260) vs 1.0% (5 of 520): z 9.12, p 3.8e-20 < α 0.0017, worse
func (v Verdict) Summary() string {
	s := fmt.Sprintf("error rate %s (%d of %d) vs %s (%d of %d): ", Percent(v.Canary.ErrorRate()), v.Canary.Errors, v.Canary.Requests,
		Percent(v.Baseline.ErrorRate()), v.Baseline.Errors, v.Baseline.Requests)
	s += v.Errors.describe("z")
	if l := v.Latency; l != nil {
		cm, _ := v.Canary.MeanLatencyMS()
		bm, _ := v.Baseline.MeanLatencyMS()
		s += fmt.Sprintf("; mean latency %s vs %s: %s", Millis(cm), Millis(bm), l.describe("t"))
	}
	return s
}

func (t Test) describe(stat string) string {
	if t.Inconclusive != "" {
		return "no verdict (" + t.Inconclusive + ")"
	}
	rel, what := "≥", "not significantly worse"
	if t.Worse {
		rel, what = "<", "significantly worse"
	}
	return fmt.Sprintf("%s %s, p %s %s α %s, %s", stat, formatStat(t.Statistic), formatP(t.P), rel, formatP(t.Alpha), what)
}

func formatStat(x float64) string {
	switch {
	case math.IsInf(x, 1):
		return "+∞"
	case math.IsInf(x, -1):
		return "−∞"
	}
	return fmt.Sprintf("%.2f", x)
}

func formatP(p float64) string {
	switch {
	case p == 0:
		return "0"
	case p < 0.0001:
		return fmt.Sprintf("%.1e", p)
	case p < 0.01:
		return fmt.Sprintf("%.4f", p)
	}
	return fmt.Sprintf("%.3f", p)
}

// Percent writes a rate as a percentage: 20.4%, 0.05%.
func Percent(r float64) string {
	switch {
	case r == 0:
		return "0%"
	case r < 0.001:
		return fmt.Sprintf("%.2f%%", r*100)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", r*100), ".0") + "%"
}

// Millis writes a latency in milliseconds: 0.42ms, 12ms, 1.2s.
func Millis(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%.1fs", ms/1000)
	case ms >= 10:
		return fmt.Sprintf("%.0fms", ms)
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", ms), "0"), ".") + "ms"
}
