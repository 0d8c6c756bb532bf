package canary

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.9g, want %.9g (±%g)", what, got, want, tol)
	}
}

func TestNormal(t *testing.T) {
	near(t, "NormalSF(0)", NormalSF(0), 0.5, 1e-15)
	near(t, "NormalSF(1.959964)", NormalSF(1.959964), 0.025, 1e-7)
	near(t, "NormalSF(-1.644854)", NormalSF(-1.644854), 0.95, 1e-7)
	near(t, "NormalQuantile(0.01)", NormalQuantile(0.01), 2.326348, 1e-6)
	near(t, "NormalQuantile(0.5)", NormalQuantile(0.5), 0, 1e-12)
}

// TestStudentSF checks the t distribution's tail against closed forms
// (df 1 is Cauchy's, df 2 has one too), tables and a numerical integral.
func TestStudentSF(t *testing.T) {
	for _, x := range []float64{-3, -0.5, 0, 0.3, 1, 2.5, 12} {
		near(t, "df=1", StudentSF(x, 1), 0.5-math.Atan(x)/math.Pi, 1e-12)
		near(t, "df=2", StudentSF(x, 2), 0.5-x/(2*math.Sqrt(2+x*x)), 1e-12)
	}
	tests := []struct{ t, df, want float64 }{
		{2.228139, 10, 0.025},
		{2.015048, 5, 0.05},
		{2.457262, 30, 0.01},
		{63.65674, 1, 0.005},
		{2.0, 10, 0.0366940174}, // numerical integral of the density
		{0.7, 3.5, 0.2638170712},
	}
	for _, tt := range tests {
		near(t, "StudentSF", StudentSF(tt.t, tt.df), tt.want, 1e-7)
		near(t, "StudentSF symmetric", StudentSF(-tt.t, tt.df), 1-tt.want, 1e-7)
	}
	if StudentSF(math.Inf(1), 3) != 0 || StudentSF(math.Inf(-1), 3) != 1 || StudentSF(math.NaN(), 3) != 1 {
		t.Error("StudentSF at ±Inf and NaN")
	}
	// Many degrees of freedom: the normal's tail.
	near(t, "StudentSF(1.96, 1e6)", StudentSF(1.959964, 1e6), 0.025, 1e-5)
}

func TestErrorRateZ(t *testing.T) {
	tests := []struct {
		name           string
		ec, nc, eb, nb int64
		z, p           float64
	}{
		// p_c .03, p_b .01, pooled .02: se = √(.02·.98·(2/1000)).
		{"canary worse", 30, 1000, 10, 1000, 0.02 / math.Sqrt(0.02*0.98*0.002), 0.000701},
		{"canary better", 10, 1000, 30, 1000, -0.02 / math.Sqrt(0.02*0.98*0.002), 0.999299},
		{"same rate", 5, 500, 10, 1000, 0, 0.5},
		{"none failed", 0, 400, 0, 800, 0, 0.5},
		{"all failed", 40, 40, 80, 80, 0, 0.5},
		{"no requests", 0, 0, 3, 100, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, p := ErrorRateZ(tt.ec, tt.nc, tt.eb, tt.nb)
			near(t, "z", z, tt.z, 1e-9)
			near(t, "p", p, tt.p, 1e-6)
		})
	}
}

func TestLatencyT(t *testing.T) {
	c := []float64{12.0, 13.5, 11.8, 14.2, 13.0}
	b := []float64{10.1, 10.9, 9.8, 10.5, 11.2, 10.0}
	// By hand: the 10% tolerance gives t 2.8014 (df 6.2937, p .014784),
	// the 1 ms margin t 2.9416 (df 5.9266, p .013136): the larger p is
	// the 10% test's.
	tv, df, p := LatencyT(c, b, 0.1, 1)
	near(t, "t", tv, 2.8014073004, 1e-9)
	near(t, "df", df, 6.2936886404, 1e-9)
	near(t, "p", p, 0.0147840506, 1e-7)
	tv, df, p = LatencyT(c, b, 0, 1)
	near(t, "t with the margin", tv, 2.9416063380, 1e-9)
	near(t, "df with the margin", df, 5.9266481097, 1e-9)
	near(t, "p with the margin", p, 0.0131356911, 1e-7)
	// Constant intervals: exact.
	if _, _, p := LatencyT([]float64{5, 5}, []float64{1, 1}, 0, 1); p != 0 {
		t.Errorf("a canary always 4ms slower than a 1ms margin allows: p = %g, want 0", p)
	}
	if _, _, p := LatencyT([]float64{1, 1}, []float64{1, 1}, 0.2, 5); p != 1 {
		t.Errorf("identical constant latency: p = %g, want 1", p)
	}
}

func sample(cReq, cErr, bReq, bErr int64, cLat, bLat float64) Sample {
	return Sample{
		Canary:   Totals{Requests: cReq, Errors: cErr, LatencyCount: cReq, LatencySumMS: cLat * float64(cReq)},
		Baseline: Totals{Requests: bReq, Errors: bErr, LatencyCount: bReq, LatencySumMS: bLat * float64(bReq)},
	}
}

func TestAnalyze(t *testing.T) {
	cfg := Config{Confidence: 0.99, Looks: 3, MinRequests: 50, Latency: true, LatencyIncrease: 0.2, LatencyMarginMS: 5}
	near(t, "alpha", cfg.Alpha(), 0.01/6, 1e-15)
	tests := []struct {
		name                 string
		samples              []Sample
		errWorse, latWorse   bool
		errInconc, latInconc bool
	}{
		{"a canary failing a fifth of its requests", []Sample{sample(130, 26, 260, 3, 2, 2), sample(130, 27, 260, 2, 2, 2)}, true, false, false, false},
		{"within noise", []Sample{sample(130, 2, 260, 3, 2, 2.1), sample(130, 1, 260, 4, 2.1, 2), sample(130, 3, 260, 5, 2, 2)}, false, false, false, false},
		{"too little traffic", []Sample{sample(20, 10, 40, 0, 2, 2)}, false, false, true, true},
		{"a canary 50ms slower", []Sample{sample(130, 0, 260, 0, 60, 10), sample(130, 0, 260, 0, 62, 11), sample(130, 0, 260, 0, 59, 10)}, false, true, false, false},
		{"a canary 3ms slower: within the margin", []Sample{sample(130, 0, 260, 0, 4, 1), sample(130, 0, 260, 0, 4.2, 1.1), sample(130, 0, 260, 0, 3.9, 1)}, false, false, false, false},
		{"one interval: no latency verdict yet", []Sample{sample(130, 0, 260, 0, 60, 10)}, false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Analyze(cfg, tt.samples)
			if v.Errors.Worse != tt.errWorse || (v.Errors.Inconclusive != "") != tt.errInconc {
				t.Errorf("errors = %+v, want worse %v, inconclusive %v", v.Errors, tt.errWorse, tt.errInconc)
			}
			if v.Latency == nil || v.Latency.Worse != tt.latWorse || (v.Latency.Inconclusive != "") != tt.latInconc {
				t.Errorf("latency = %+v, want worse %v, inconclusive %v", v.Latency, tt.latWorse, tt.latInconc)
			}
			if v.Failed() != (tt.errWorse || tt.latWorse) {
				t.Errorf("Failed = %v", v.Failed())
			}
		})
	}
	if v := Analyze(Config{Confidence: 0.99, Looks: 1, MinRequests: 1}, []Sample{sample(10, 1, 10, 0, 1, 1)}); v.Latency != nil {
		t.Errorf("latency off, yet a latency test: %+v", v.Latency)
	}
}

func TestTotalsSub(t *testing.T) {
	a := Totals{Requests: 10, Errors: 2, LatencyCount: 10, LatencySumMS: 30}
	b := Totals{Requests: 4, Errors: 1, LatencyCount: 4, LatencySumMS: 10}
	if got := a.Sub(b); got != (Totals{6, 1, 6, 20}) {
		t.Errorf("Sub = %+v", got)
	}
	// A counter that went back counts from zero.
	if got := b.Sub(a); got != b {
		t.Errorf("Sub of a reset counter = %+v, want %+v", got, b)
	}
}

// TestPropertySwapSides: the error test is antisymmetric: swapping the
// canary and the baseline negates z, and the two p-values add up to 1.
func TestPropertySwapSides(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nc := rapid.Int64Range(1, 100000).Draw(t, "nc")
		nb := rapid.Int64Range(1, 100000).Draw(t, "nb")
		ec := rapid.Int64Range(0, nc).Draw(t, "ec")
		eb := rapid.Int64Range(0, nb).Draw(t, "eb")
		z1, p1 := ErrorRateZ(ec, nc, eb, nb)
		z2, p2 := ErrorRateZ(eb, nb, ec, nc)
		if math.Abs(z1+z2) > 1e-9 || math.Abs(p1+p2-1) > 1e-9 {
			t.Fatalf("swapped: z %g and %g, p %g and %g", z1, z2, p1, p2)
		}
		if p1 < 0 || p1 > 1 || math.IsNaN(p1) {
			t.Fatalf("p = %g", p1)
		}
	})
}

// TestPropertyMonotone: a canary with more errors is never judged
// better, and a test never fails a canary whose error rate is at or
// below the baseline's.
func TestPropertyMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nc := rapid.Int64Range(1, 10000).Draw(t, "nc")
		nb := rapid.Int64Range(1, 10000).Draw(t, "nb")
		ec := rapid.Int64Range(0, nc-1).Draw(t, "ec")
		eb := rapid.Int64Range(0, nb).Draw(t, "eb")
		z1, _ := ErrorRateZ(ec, nc, eb, nb)
		z2, _ := ErrorRateZ(ec+1, nc, eb, nb)
		if z2 < z1-1e-12 {
			t.Fatalf("one more canary error lowered z: %g → %g", z1, z2)
		}
		if float64(ec)/float64(nc) <= float64(eb)/float64(nb) {
			if _, p := ErrorRateZ(ec, nc, eb, nb); p < 0.5-1e-12 {
				t.Fatalf("a canary no worse than the baseline has p %g < 0.5", p)
			}
		}
	})
}

// TestPropertyIdenticalRarelyFail draws a canary and a baseline from the
// same error rate and latency, through a whole bake, and counts how often
// the analysis fails the canary: at most 1 − confidence of the time, with
// room for chance.
func TestPropertyIdenticalRarelyFail(t *testing.T) {
	runs, failed := 0, 0
	rapid.Check(t, func(t *rapid.T) {
		runs++
		rate := rapid.Float64Range(0, 0.2).Draw(t, "rate")
		lat := rapid.Float64Range(1, 200).Draw(t, "latency")
		looks := rapid.IntRange(1, 12).Draw(t, "looks")
		seed := rapid.Uint64().Draw(t, "seed")
		rng := rand.New(rand.NewPCG(seed, 1))
		cfg := Config{Confidence: 0.95, Looks: looks, MinRequests: 50, Latency: true, LatencyIncrease: 0, LatencyMarginMS: 0}
		side := func(n int64) Totals {
			tot := Totals{Requests: n, LatencyCount: n}
			for range n {
				if rng.Float64() < rate {
					tot.Errors++
				}
				tot.LatencySumMS += lat * (0.5 + rng.Float64())
			}
			return tot
		}
		var samples []Sample
		for range looks {
			samples = append(samples, Sample{Canary: side(60), Baseline: side(120)})
			if Analyze(cfg, samples).Failed() {
				failed++
				return
			}
		}
	})
	t.Logf("%d of %d failed", failed, runs)
	// At most 5% expected (less: Bonferroni is conservative); 2.5 times
	// that is chance once in hundreds of runs.
	if float64(failed) > max(5, 0.125*float64(runs)) {
		t.Errorf("identical sides failed the analysis %d times in %d bakes at 95%% confidence; want about 5%% at most", failed, runs)
	}
}

func TestSummary(t *testing.T) {
	cfg := Config{Confidence: 0.99, Looks: 3, MinRequests: 50, Latency: true, LatencyIncrease: 0.2, LatencyMarginMS: 5}
	v := Analyze(cfg, []Sample{sample(130, 26, 260, 3, 2, 2), sample(130, 27, 260, 2, 2, 2)})
	want := "error rate 20.4% (53 of 260) vs 1% (5 of 520): z 9.75, p 9.5e-23 < α 0.0017, significantly worse; mean latency 2ms vs 2ms: t −∞, p 1.000 ≥ α 0.0017, not significantly worse"
	if got := v.Summary(); got != want {
		t.Errorf("Summary =\n%s\nwant\n%s", got, want)
	}
	v = Analyze(cfg, []Sample{sample(10, 0, 20, 0, 2, 2)})
	if got := v.Summary(); !strings.Contains(got, "z no verdict") && !strings.Contains(got, "no verdict (too little traffic to judge: canary 10, baseline 20 requests, 50 needed a side)") {
		t.Errorf("Summary = %s", got)
	}
}
