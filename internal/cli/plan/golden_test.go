package plan

import (
	"context"
	"encoding/json"
	"flag"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// planFor is what Preflight's checks would give for v2 of shop on env:
// one reversible migration, two waves.
func planFor(ctx context.Context, req contract.DeployRequest) (*report.Report, error) {
	p := contract.PreflightOutput{App: req.App, Environment: req.Environment, Version: req.Version, PreviousVersion: "v1",
		Artifact:  contract.Artifact{URI: "s3://shop-artifacts/shop/v2.tar.gz", SHA256: "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c", Size: 3 << 20},
		Instances: []string{"i-1", "i-2", "i-3"}, Tags: map[string]string{"app": "shop", "env": req.Environment}, RequireOnHosts: "v1",
		Waves: [][]string{{"i-1"}, {"i-2", "i-3"}}, WaveCount: 2, LockTTLSeconds: 7320, WatchSeconds: 600,
		Health: contract.HealthSpec{Path: "/healthz", ExpectStatus: 200, Successes: 2, IntervalSeconds: 1, MaxAttempts: 4},
		Bake:   contract.BakeSpec{Seconds: 120, IntervalSeconds: 20}, Alarms: []string{"shop-5xx"}, ApprovalRequired: req.Environment == "production",
		Migrations: contract.MigrationPlan{Current: 1, Target: 2, Pending: []int64{2}, Engine: "postgres"},
		HostFloor:  &contract.HostFloor{DiskKB: 112 << 10, Need: "9MiB unpacked + 3MiB bundle + 100MiB margin (host.disk_margin)", MemoryKB: 256 << 10},
		Hooks: []contract.HookSpec{{Name: "before_activate", Run: "bin/warm-cache", TimeoutSeconds: 120}, {Name: "validate", Run: "bin/selftest --quick", TimeoutSeconds: 60},
			{Name: "before_traffic", Run: "bin/warm-edge", TimeoutSeconds: 60}, {Name: "after_traffic", Run: "bin/purge-cdn", TimeoutSeconds: 300}},
		SmokeEndpoint: "https://shop.example.com", Traffic: true, TargetGroups: []string{"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop/0123456789abcdef"},
		BeforeTraffic: true, AfterTraffic: true,
	}
	p.Health.Smoke = []contract.SmokeCheck{{Name: "list orders", Method: "GET", Path: "/api/orders?limit=1", Headers: map[string]string{"Accept": "application/json"},
		ExpectStatus: 200, BodyContains: "orders", JSON: map[string]json.RawMessage{"count": json.RawMessage("1")}, MaxLatencyMS: 500}}
	return report.NewPlan(report.PlanInput{App: req.App, Environment: req.Environment, Version: req.Version, Trigger: req.Trigger, Preflight: p,
		Targets:    []report.Target{{ID: "i-1", Online: true, Serves: "v1"}, {ID: "i-2", Online: true, Serves: "v1"}, {ID: "i-3", Online: true, Serves: "v1"}},
		Migrations: report.Migrations{Known: true, Engine: "postgres", Current: 1, Target: 2, Pending: []report.Migration{{Version: 2, Name: "add_email", Class: "expand", Reversible: true, Mode: "transaction"}}},
		Manifest:   &manifest.Manifest{}, Production: req.Environment == "production",
		Change: &report.Change{Previous: "v1", Changed: 3, Added: 1, Bytes: 3 << 20, BytesChanged: 2 << 20},
		Alarms: []report.Alarm{{Name: "shop-5xx", State: "OK"}}, TargetChecked: true, Now: backendtest.T0,
	}), nil
}

func TestPlanGolden(t *testing.T) {
	tests := []struct {
		name     string
		env      string
		json     bool
		markdown bool
		frozen   bool
		wantCode int
	}{
		{name: "production.md.golden", env: "production", markdown: true},
		{name: "staging-locked.md.golden", env: "staging", markdown: true, frozen: true, wantCode: factory.ExitRefused},
		{name: "production.txt.golden", env: "production"},
		{name: "production.json.golden", env: "production", json: true},
		{name: "staging-locked.txt.golden", env: "staging", frozen: true, wantCode: factory.ExitRefused},
		{name: "staging-locked.json.golden", env: "staging", json: true, frozen: true, wantCode: factory.ExitRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := backendtest.New(t)
			f.PlanFunc = planFor
			if tt.frozen {
				if err := f.Store.Freeze(context.Background(), "shop", tt.env, "grace", "investigating the 5xx spike", backendtest.T0.Add(-time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			io, out, _ := backendtest.IO()
			opts := &Options{IO: io, Backend: f.Open, Env: tt.env, Version: "v2", JSON: tt.json, Now: func() time.Time { return backendtest.T0 }}
			if tt.markdown {
				opts.Format = "markdown"
			}
			err := run(context.Background(), opts)
			if code := outcome.Code(err); code != tt.wantCode {
				t.Errorf("plan: exit %d (%v), want %d", code, err, tt.wantCode)
			}
			backendtest.Golden(t, tt.name, out.Bytes(), *update)
		})
	}
}

func TestVerdict(t *testing.T) {
	for kind, want := range map[string]int{"": factory.ExitOK, "LockHeld": factory.ExitRefused, "Frozen": factory.ExitRefused, "Gate": factory.ExitRefused, "PreflightFailed": factory.ExitFailed} {
		r := &report.Report{Version: "v2", Environment: "staging", Plan: report.Plan{RefusalKind: kind}}
		if kind != "" {
			r.Plan.Refusal = "refused: " + kind
		}
		if got := outcome.Code(Verdict(r)); got != want {
			t.Errorf("Verdict(%s) = exit %d, want %d", kind, got, want)
		}
	}
}
