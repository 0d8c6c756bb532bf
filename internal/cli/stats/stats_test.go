package stats

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// t0 is the seeded history's clock; now is two days later.
var (
	t0  = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	now = t0.Add(48 * time.Hour)
)

func at(d time.Duration) time.Time { return t0.Add(d) }

const (
	m = time.Minute
	s = time.Second
	h = time.Hour
)

type seeded struct {
	d     ledger.Deployment
	steps []ledger.Step // DeploymentID and order are filled in
}

// step is a step at offset from its deployment's start.
func step(offset time.Duration, stage, status string) ledger.Step {
	return ledger.Step{Stage: stage, Status: status, Message: stage + " " + status, At: t0.Add(offset)}
}

// deployed is a deployment's usual steps, from its start.
func deployed(start time.Duration) []ledger.Step {
	return []ledger.Step{
		step(start+10*s, "preflight", "ok"), step(start+12*s, "lock", "ok"), step(start+40*s, "migrate", "ok"),
		step(start+2*m, "rollout", "ok"), step(start+3*m, "health", "ok"), step(start+3*m+50*s, "bake", "ok"), step(start+4*m, "record", "ok"),
	}
}

// history is shop's ledger: on production, v1 pushed from GitHub
// succeeds (lead time 14m); v2 from the CLI succeeds and an alarm rolls it
// back 15 minutes later (in 2m); v3 pushed fails its health check and
// rolls itself back (restored 1m30s after the failure); v3 again is
// refused at preflight (FAILED: nothing changed). On staging: v1 pushed
// succeeds (lead time 13m); a person's rollback fails; a deployment 40
// days old and one still running are out of any measure.
func history() []seeded {
	push := func(commitAgo time.Duration, start time.Duration) contract.Trigger {
		return contract.Trigger{Source: "push", Actor: "ada", Commit: "c0ffee", CommittedAt: t0.Add(start - commitAgo)}
	}
	dep := func(id, env, kind, v, status string, start, took time.Duration, trig contract.Trigger) ledger.Deployment {
		return ledger.Deployment{ID: id, App: "shop", Environment: env, Kind: kind, Version: v, Status: status, Trigger: trig,
			StartedAt: at(start), FinishedAt: at(start + took), SchemaBefore: -1, SchemaAfter: -1}
	}
	p2 := dep("prod-v2", "production", contract.KindDeploy, "v2", contract.StatusSucceeded, 1*h, 4*m, contract.Trigger{Source: "cli", Actor: "bob"})
	p2.RolledBackBy = "prod-rollback"
	p3 := dep("prod-rollback", "production", contract.KindRollback, "v1", contract.StatusRolledBack, 1*h+19*m, 2*m, contract.Trigger{Source: "alarm", Alarm: "shop-5xx"})
	p3.TargetDeploymentID = "prod-v2"
	running := dep("staging-running", "staging", contract.KindDeploy, "v4", contract.StatusRunning, 5*h, 0, contract.Trigger{Source: "cli"})
	running.FinishedAt = time.Time{}
	return []seeded{
		{dep("prod-v1", "production", contract.KindDeploy, "v1", contract.StatusSucceeded, 0, 4*m, push(10*m, 0)), deployed(0)},
		{p2, deployed(1 * h)},
		{p3, []ledger.Step{step(1*h+19*m+5*s, "lock", "ok"), step(1*h+20*m+30*s, "rollback", "ok"), step(1*h+21*m, "health", "ok"), step(1*h+21*m, "record", "ok")}},
		{dep("prod-v3", "production", contract.KindDeploy, "v3", contract.StatusRolledBack, 3*h, 4*m, push(10*m, 3*h)), []ledger.Step{
			step(3*h+10*s, "preflight", "ok"), step(3*h+12*s, "lock", "ok"), step(3*h+2*m, "rollout", "ok"),
			step(3*h+2*m+30*s, "health", "failed"), step(3*h+3*m+30*s, "rollback", "ok"), step(3*h+4*m, "record", "ok")}},
		{dep("prod-v3-again", "production", contract.KindDeploy, "v3", contract.StatusFailed, 4*h, 5*s, contract.Trigger{Source: "cli"}),
			[]ledger.Step{step(4*h+5*s, "preflight", "failed")}},
		{dep("staging-v1", "staging", contract.KindDeploy, "v1", contract.StatusSucceeded, -20*m, 3*m, push(10*m, -20*m)), []ledger.Step{
			step(-20*m+20*s, "preflight", "ok"), step(-20*m+2*m, "rollout", "ok"), step(-20*m+3*m, "record", "ok")}},
		{dep("staging-rollback", "staging", contract.KindRollback, "v0", contract.StatusRollbackFailed, 2*h, m, contract.Trigger{Source: "cli", Actor: "ada"}),
			[]ledger.Step{step(2*h+50*s, "rollback", "failed"), step(2*h+m, "record", "ok")}},
		{dep("staging-old", "staging", contract.KindDeploy, "v0", contract.StatusSucceeded, -40*24*h, 3*m, push(h, -40*24*h)), deployed(-40 * 24 * h)},
		{running, nil},
	}
}

func seed(t *testing.T, l *sqlite.Store, hs []seeded) {
	t.Helper()
	ctx := context.Background()
	for _, sd := range hs {
		if err := l.PutDeployment(ctx, sd.d); err != nil {
			t.Fatal(err)
		}
		for _, st := range sd.steps {
			st.DeploymentID = sd.d.ID
			if err := l.AddStep(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// read is what the command reads of the ledger.
func read(t *testing.T, l *sqlite.Store, env string) ([]ledger.Deployment, map[string][]ledger.Step) {
	t.Helper()
	ctx := context.Background()
	ds, err := l.ListDeployments(ctx, "shop", env, 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string][]ledger.Step{}
	for _, d := range ds {
		if steps[d.ID], err = l.Steps(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	return ds, steps
}

func TestCompute(t *testing.T) {
	f := backendtest.New(t)
	seed(t, f.Store, history())
	tests := []struct {
		name  string
		env   string
		since time.Duration
		want  Stats
	}{
		{
			name: "every environment, 30 days", since: 30 * 24 * h,
			want: Stats{
				// prod-v1, prod-v2, prod-v3, prod-v3-again, staging-v1.
				Deployments: 5, Succeeded: 3, PerWeek: 0.7,
				// prod-v1: 10m before + 4m; staging-v1: 10m + 3m; prod-v2 has none.
				LeadTime: Spread{N: 2, Of: 3, MedianSeconds: 13 * 60, MaxSeconds: 14 * 60},
				// prod-v2 (rolled back later), prod-v3 (in the run) of
				// prod-v1, prod-v2, prod-v3, staging-v1; prod-v3-again
				// changed nothing.
				Changes: 4, Failures: 2, ChangeFailureRate: 0.5,
				// prod-v3: from its failed health step to its end, 1m30s;
				// prod-rollback: 2m. staging-rollback failed.
				TimeToRestore: Spread{N: 2, Of: 2, MedianSeconds: 90, MaxSeconds: 120},
				Rollbacks:     map[string]int{"alarm": 1, "cli": 1, "deployment: health": 1},
				Stages: []StageTime{
					// rollout: 80s in prod-v1 and v2, 108s in prod-v3, 100s in staging-v1.
					{Stage: "rollout", Runs: 4, MedianSeconds: 80, MaxSeconds: 108},
					{Stage: "rollback", Runs: 3, MedianSeconds: 60, MaxSeconds: 85},
					{Stage: "bake", Runs: 2, MedianSeconds: 50, MaxSeconds: 50},
					{Stage: "health", Runs: 4, MedianSeconds: 30, MaxSeconds: 60},
					{Stage: "migrate", Runs: 2, MedianSeconds: 28, MaxSeconds: 28},
					// record (6 runs, median 10s) is sixth.
				},
			},
		},
		{
			name: "production", env: "production", since: 30 * 24 * h,
			want: Stats{
				Deployments: 4, Succeeded: 2, PerWeek: 0.467,
				LeadTime: Spread{N: 1, Of: 2, MedianSeconds: 14 * 60, MaxSeconds: 14 * 60},
				Changes:  3, Failures: 2, ChangeFailureRate: 0.667,
				TimeToRestore: Spread{N: 2, Of: 2, MedianSeconds: 90, MaxSeconds: 120},
				Rollbacks:     map[string]int{"alarm": 1, "deployment: health": 1},
				Stages: []StageTime{
					{Stage: "rollout", Runs: 3, MedianSeconds: 80, MaxSeconds: 108},
					{Stage: "rollback", Runs: 2, MedianSeconds: 60, MaxSeconds: 85},
					{Stage: "bake", Runs: 2, MedianSeconds: 50, MaxSeconds: 50},
					{Stage: "health", Runs: 4, MedianSeconds: 30, MaxSeconds: 60},
					{Stage: "migrate", Runs: 2, MedianSeconds: 28, MaxSeconds: 28},
				},
			},
		},
		{
			// Only the 40-day-old deployment and the running one fall
			// outside 30 days; in 60 days the old one counts.
			name: "staging, 60 days", env: "staging", since: 60 * 24 * h,
			want: Stats{
				Deployments: 2, Succeeded: 2, PerWeek: 0.233,
				// staging-v1: 13m; staging-old: 1h + 3m.
				LeadTime: Spread{N: 2, Of: 2, MedianSeconds: 13 * 60, MaxSeconds: 63 * 60},
				Changes:  2, Failures: 0, ChangeFailureRate: 0,
				TimeToRestore: Spread{},
				Rollbacks:     map[string]int{"cli": 1},
				Stages: []StageTime{
					{Stage: "rollout", Runs: 2, MedianSeconds: 80, MaxSeconds: 100},
					{Stage: "health", Runs: 1, MedianSeconds: 60, MaxSeconds: 60},
					// Equal times: by name.
					{Stage: "bake", Runs: 1, MedianSeconds: 50, MaxSeconds: 50},
					{Stage: "rollback", Runs: 1, MedianSeconds: 50, MaxSeconds: 50},
					{Stage: "migrate", Runs: 1, MedianSeconds: 28, MaxSeconds: 28},
				},
			},
		},
		{
			name: "nothing in the window", since: 24 * h,
			want: Stats{Rollbacks: map[string]int{}, Stages: []StageTime{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, steps := read(t, f.Store, tt.env)
			got := Compute(ds, steps, now.Add(-tt.since), now)
			tt.want.From, tt.want.To = now.Add(-tt.since), now
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compute() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGolden(t *testing.T) {
	f := backendtest.New(t)
	seed(t, f.Store, history())
	tests := []struct {
		name string
		opts Options
	}{
		{"all.txt.golden", Options{Since: 30 * 24 * h}},
		{"all.json.golden", Options{Since: 30 * 24 * h, JSON: true}},
		{"production.txt.golden", Options{Env: "production", Since: 30 * 24 * h}},
		{"empty.txt.golden", Options{Since: 24 * h}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, out, _ := backendtest.IO()
			opts := tt.opts
			opts.IO, opts.Backend, opts.Now = io, f.Open, func() time.Time { return now }
			if err := run(context.Background(), &opts); err != nil {
				t.Fatalf("stats: %v", err)
			}
			backendtest.Golden(t, tt.name, out.Bytes(), *update)
		})
	}
}

func TestUnknownEnvironment(t *testing.T) {
	f := backendtest.New(t)
	io, _, _ := backendtest.IO()
	err := run(context.Background(), &Options{IO: io, Backend: f.Open, Env: "qa", Since: h})
	if err == nil {
		t.Fatal("stats --env qa: no error, want one naming the unknown environment")
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     Options
		wantCode int
	}{
		{name: "defaults", args: []string{}, want: Options{Since: 30 * 24 * h}},
		{name: "every flag", args: []string{"--env", "production", "--since", "7d", "--json"}, want: Options{Env: "production", Since: 7 * 24 * h, JSON: true}},
		{name: "a duration", args: []string{"--since", "36h"}, want: Options{Since: 36 * h}},
		{name: "no days", args: []string{"--since", "0d"}, wantCode: factory.ExitUsage},
		{name: "not a window", args: []string{"--since", "a month"}, wantCode: factory.ExitUsage},
		{name: "an argument", args: []string{"production"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *Options
			cmd := NewCmdStats(&factory.Factory{IO: io}, func(o *Options) error { got = o; return nil })
			if code := backendtest.Execute(cmd, tt.args...); code != tt.wantCode {
				t.Fatalf("%v: exit code %d, want %d", tt.args, code, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			if diff := cmp.Diff(tt.want, *got, backendtest.IgnoreDeps); diff != "" {
				t.Errorf("%v: options mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// TestLeadTimeWithoutCommitTimes: deployments that succeeded from pushes
// that did not say when their commit was made (CodeCommit, the CLI) give
// no lead time, and the text says why.
func TestLeadTimeWithoutCommitTimes(t *testing.T) {
	var ds []ledger.Deployment
	for _, sd := range history() {
		if sd.d.ID == "prod-v2" {
			ds = append(ds, sd.d)
		}
	}
	got := Compute(ds, nil, now.Add(-30*24*h), now)
	if want := (Spread{N: 0, Of: 1}); got.LeadTime != want {
		t.Errorf("Compute().LeadTime = %+v, want %+v", got.LeadTime, want)
	}
	var b strings.Builder
	if err := Text(&b, got); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Lead time (commit to SUCCEEDED)  n/a (no commit times recorded)") {
		t.Errorf("Text() =\n%s\nwant lead time n/a (no commit times recorded)", b.String())
	}
}
