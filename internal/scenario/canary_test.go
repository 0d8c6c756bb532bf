package scenario

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/report"
)

// canaryManifest is the three-wave manifest with a canary analysis of the
// first wave over a 3-second bake, sampled every second: short, as a test
// needs, with real traffic. 99.9% confidence: a canary no worse than its
// baseline fails it at most once in a thousand deployments.
var canaryManifest = strings.Replace(threeWaves, `rollout: {waves: [1, "50%", "100%"], poll_interval: 1s}`,
	`rollout: {waves: [1, "50%", "100%"], poll_interval: 1s, canary: {bake: 3s, interval: 1s, confidence: 99.9%, min_requests: 50}}`, 1)

var canaryReleases releaseSet

// canaryRelease builds c1 (2% of GET / fail), c2 (25% fail), c3 (2%
// fail, like c1: within noise) and c4 (2% fail, but each GET / takes 40ms
// more, analysed over 6 samples: the latency test has one mean per
// interval).
func canaryRelease(t *testing.T, version string) []byte {
	t.Helper()
	builds := map[string]BuildOptions{}
	for v, extra := range map[string]string{"c1": "", "c2": "", "c3": "", "c4": `, "latency_ms": 40`} {
		rate := map[string]string{"c2": "0.25"}[v]
		if rate == "" {
			rate = "0.02"
		}
		cfg := fmt.Sprintf(`{"schema": 1, "health_query": "SELECT count(*) FROM users", "error_rate": %s%s}`, rate, extra)
		m := canaryManifest
		if v == "c4" {
			m = strings.Replace(m, "bake: 3s", "bake: 6s", 1)
		}
		builds[v] = BuildOptions{Manifest: []byte(m), From: "v1", Config: []byte(cfg)}
	}
	return canaryReleases.get(t, version, builds)
}

// TestScenarioCanaryAnalysis deploys behind the embedded load balancer,
// under load through its endpoint, a release that fails 2% of its
// requests (a first deployment: nothing to compare with, so the analysis
// is skipped), then one that fails 25%: its canary wave, compared with
// the two instances still on the first, is significantly worse, and the
// deployment is rolled back with the canary alone moved; then one that
// fails 2% like the first: within noise, it continues to every wave; then
// one as good but 40ms slower, rolled back on its latency. The
// ledger's status matches what the fleet serves each time, and the report
// shows the verdict and both series.
func TestScenarioCanaryAnalysis(t *testing.T) {
	env := balancedEnv(t, 3)
	for _, v := range []string{"c1", "c2", "c3", "c4"} {
		if _, err := env.Artifacts.Publish(context.Background(), "demo", v, canaryRelease(t, v)); err != nil {
			t.Fatal(err)
		}
	}
	exec, status := deploy(t, env, "c1", localenv.RunOptions{})
	if status != contract.StatusSucceeded {
		t.Fatalf("deploy c1 = %s (%s: %s), want SUCCEEDED", status, exec.Error, exec.Cause)
	}
	if r := reportOf(t, env, exec.Name); !strings.Contains(r, "canary analysis: skipped: first deployment: nothing serves yet to compare the canary with") {
		t.Errorf("deploy c1's report does not say the analysis was skipped:\n%s", r)
	}

	// The plan lists the analysis exactly as it will run.
	plan, err := pipeline.Plan(context.Background(), env.Deps, contract.DeployRequest{App: "demo", Environment: "staging", Version: "c2"}, pipeline.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[ ] canary analysis of wave 1 (staging-1) against staging-2, staging-3, not yet deployed, once the canary is in service: 3 samples every 1s over 3s from the embedded load balancer's counters per instance (target group staging); " +
		"fails when its error rate is significantly higher (one-sided pooled two-proportion z-test) or its mean latency significantly above both the baseline's +20% and +5ms (one-sided Welch t-test on the intervals' means), " +
		"at 99.9% confidence (each look at α = 0.1% / (3 samples × 2 tests)), once each side has served 50 requests; a failure rolls back"; !strings.Contains(plan.String(), want) {
		t.Errorf("the plan of c2 does not list the analysis as %q:\n%s", want, plan.String())
	}

	// c2: its canary fails a quarter of its requests.
	underLoad(t, endpointURLs(t, env), func() { exec, status = deploy(t, env, "c2", localenv.RunOptions{}) })
	if status != contract.StatusRolledBack || exec.Error != "CanaryFailed" {
		t.Fatalf("deploy c2 = %s %s (%s), want ROLLED_BACK after CanaryFailed", status, exec.Error, exec.Cause)
	}
	allServe(t, env, "c1")
	for _, w := range []string{"canary analysis failed at sample ", "wave 1 (staging-1) served significantly worse than the 2 instances not yet deployed (staging-2, staging-3) at 99.9% confidence: error rate "} {
		if !strings.Contains(exec.Cause, w) {
			t.Errorf("deploy c2's cause does not say %q:\n%s", w, exec.Cause)
		}
	}
	// Only the canary moved: the second wave was never sent.
	for _, ev := range exec.History {
		if d := ev.StateEnteredEventDetails; d != nil && d.Name == "DeployWave" && strings.Contains(d.Input, `"rollout":{"wave":1}`) {
			t.Errorf("deploy c2 sent its second wave after a failed canary")
		}
	}
	r := reportOf(t, env, exec.Name)
	for _, w := range []string{"canary analysis of wave 1 (staging-1) against staging-2, staging-3", "— failed: canary analysis failed at sample",
		"Canary analysis: wave 1 (staging-1) against staging-2, staging-3 — failed", "   error rate    canary    ", "                 baseline  ", "   verdict       error rate "} {
		if !strings.Contains(r, w) {
			t.Errorf("deploy c2's report does not show %q:\n%s", w, r)
		}
	}
	// `slipway show` refreshes the stored report from the ledger: the same.
	if shown := showReport(t, env, exec.Name); !strings.Contains(shown, "— failed: canary analysis failed at sample") || !strings.Contains(shown, "Canary analysis: wave 1 (staging-1) against staging-2, staging-3 — failed") {
		t.Errorf("deploy c2 as slipway show gives it does not show the analysis:\n%s", shown)
	}

	// c3: as many errors as c1, within noise.
	underLoad(t, endpointURLs(t, env), func() { exec, status = deploy(t, env, "c3", localenv.RunOptions{}) })
	if status != contract.StatusSucceeded {
		t.Fatalf("deploy c3 = %s %s (%s), want SUCCEEDED: a canary within noise continues", status, exec.Error, exec.Cause)
	}
	allServe(t, env, "c3")
	steps, _ := env.Ledger.Steps(context.Background(), exec.Name)
	samples, passed := 0, ""
	for _, s := range steps {
		if d, ok := contract.ParseCanaryDetail(s.Detail); ok {
			samples++
			if d.Interval.Canary.Requests == 0 || d.Interval.Baseline.Requests == 0 {
				t.Errorf("sample %d of deploy c3 saw no traffic on a side: %+v", d.Sample, d.Interval)
			}
			if d.Done {
				passed = s.Message
			}
		}
	}
	if samples != 3 || !strings.Contains(passed, "canary analysis passed after 3s: wave 1 (staging-1) not significantly worse than the 2 instances not yet deployed") {
		t.Errorf("deploy c3: %d canary samples, last %q; want 3, the last passing", samples, passed)
	}
	r = reportOf(t, env, exec.Name)
	for _, w := range []string{"— ok: canary analysis passed after 3s", "Canary analysis: wave 1 (staging-1) against staging-2, staging-3 — ok", "   mean latency  canary    "} {
		if !strings.Contains(r, w) {
			t.Errorf("deploy c3's report does not show %q:\n%s", w, r)
		}
	}
	t.Logf("deploy c3's canary analysis:\n%s", r[strings.Index(r, "Canary analysis:"):strings.Index(r, "Timings")])

	// c4: as many errors, but 40ms slower: its latency is significantly
	// worse than the 5ms and 20% the manifest tolerates.
	underLoad(t, endpointURLs(t, env), func() { exec, status = deploy(t, env, "c4", localenv.RunOptions{}) })
	if status != contract.StatusRolledBack || exec.Error != "CanaryFailed" || !strings.Contains(exec.Cause, "mean latency") || !strings.Contains(exec.Cause, "t ") {
		t.Fatalf("deploy c4 = %s %s (%s), want ROLLED_BACK after CanaryFailed on its latency", status, exec.Error, exec.Cause)
	}
	allServe(t, env, "c3")
	t.Logf("deploy c4: %s", exec.Cause)
}

// showReport is the report as `slipway show` gives it: the stored one,
// refreshed from the ledger.
func showReport(t *testing.T, env *localenv.Env, id string) string {
	t.Helper()
	ctx := context.Background()
	d, err := env.Ledger.GetDeployment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	stored, ok := report.Parse(d.Report)
	if !ok {
		t.Fatalf("%s has no stored report", id)
	}
	steps, err := env.Ledger.Steps(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return report.Refresh(stored, report.DeploymentInput{Deployment: d, Steps: steps, Now: time.Now()}).String()
}
