package show

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestShowGolden(t *testing.T) {
	f := backendtest.New(t)
	backendtest.Seed(t, f)
	f.HintValue = report.Hints{Dashboards: []string{"https://console.example/alarms"}, LogGroups: []string{"/aws/vendedlogs/states/slipway-shop-deploy"},
		CommandOutput: "full command output: CloudWatch Logs group /slipway/shop/commands"}
	tests := []struct {
		name string
		id   string
		json bool
	}{
		{"deploy-rolled-back-later.txt.golden", backendtest.StagingV2, false},
		{"deploy-rolled-back-later.json.golden", backendtest.StagingV2, true},
		{"production-approved.txt.golden", backendtest.ProductionV1, false},
		{"rollback.txt.golden", backendtest.StagingBack, false},
		{"rollback.json.golden", backendtest.StagingBack, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, out, _ := backendtest.IO()
			opts := &Options{IO: io, Backend: f.Open, DeploymentID: tt.id, JSON: tt.json, Now: func() time.Time { return backendtest.T0.Add(time.Hour) }}
			if err := run(context.Background(), opts); err != nil {
				t.Fatalf("show %s: %v", tt.id, err)
			}
			backendtest.Golden(t, tt.name, out.Bytes(), *update)
		})
	}
}

func TestShowUnknownDeployment(t *testing.T) {
	f := backendtest.New(t)
	io, _, _ := backendtest.IO()
	err := run(context.Background(), &Options{IO: io, Backend: f.Open, DeploymentID: "nope"})
	if code := outcome.Code(err); code != factory.ExitUsage {
		t.Errorf("show nope = exit %d (%v), want %d", code, err, factory.ExitUsage)
	}
}

// TestShowTimings renders the seeded ledger's reports and checks the
// Timings section: a finished deployment shows the execution history's
// stage timings where the backend keeps them, the ledger's steps'
// otherwise (no history, or it cannot be read); a running one never asks
// for the history.
func TestShowTimings(t *testing.T) {
	history := []report.StageTiming{
		{Stage: "preflight", StartedAt: backendtest.T0, Seconds: 4.2, Status: "ok"},
		{Stage: "rollout", StartedAt: backendtest.T0.Add(5 * time.Second), Seconds: 61, Status: "failed"},
	}
	fromSteps := []string{
		"   preflight          0.3s  ✓ ok",
		"   lock               0.1s  ✓ ok",
		"   snapshot           0.1s  ✓ ok",
		"   migrate            0.1s  ✓ ok",
		"   rollout            2.9s  ✓ ok",
		"   bake               0.1s  ✓ ok",
		"   record             0.1s  ✓ ok",
		"   unlock             0.1s  ✓ ok",
	}
	const running = "staging-v3-20261126T094000Z-eeee"
	tests := []struct {
		name      string
		id        string
		history   []report.StageTiming
		err       error
		want      []string
		wantAsked bool
	}{
		{name: "history", id: backendtest.StagingV1, history: history, wantAsked: true,
			want: []string{"   preflight          4.2s  ✓ ok", "   rollout           1m01s  ✗ failed"}},
		{name: "no history", id: backendtest.StagingV1, wantAsked: true, want: fromSteps},
		{name: "history unreadable", id: backendtest.StagingV1, err: errors.New("throttled"), wantAsked: true, want: fromSteps},
		{name: "running", id: running, history: history, want: []string{"   preflight          0.3s  ✓ ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := backendtest.New(t)
			backendtest.Seed(t, f)
			ctx := context.Background()
			if err := f.Store.PutDeployment(ctx, ledger.Deployment{ID: running, App: "shop", Environment: "staging", Version: "v3", PreviousVersion: "v1",
				Kind: contract.KindDeploy, Status: contract.StatusRunning, StartedAt: backendtest.T0.Add(40 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if err := f.Store.AddStep(ctx, ledger.Step{DeploymentID: running, Stage: "preflight", Status: "ok", Message: "deploy v3 to staging",
				At: backendtest.T0.Add(40*time.Minute + 300*time.Millisecond)}); err != nil {
				t.Fatal(err)
			}
			asked := false
			f.TimingsFunc = func(_ context.Context, d ledger.Deployment) ([]report.StageTiming, error) {
				asked = true
				if d.ID != tt.id {
					t.Errorf("Timings(%s), want %s", d.ID, tt.id)
				}
				return tt.history, tt.err
			}
			io, out, _ := backendtest.IO()
			opts := &Options{IO: io, Backend: f.Open, DeploymentID: tt.id, Now: func() time.Time { return backendtest.T0.Add(time.Hour) }}
			if err := run(ctx, opts); err != nil {
				t.Fatalf("show %s: %v", tt.id, err)
			}
			if asked != tt.wantAsked {
				t.Errorf("history asked = %t, want %t", asked, tt.wantAsked)
			}
			if diff := cmp.Diff(tt.want, timingsSection(out.String())); diff != "" {
				t.Errorf("show %s Timings (-want +got):\n%s\n%s", tt.id, diff, out)
			}
		})
	}
}

// timingsSection returns the lines of the text report's Timings section.
func timingsSection(text string) []string {
	_, rest, ok := strings.Cut(text, "\nTimings\n")
	if !ok {
		return nil
	}
	section, _, _ := strings.Cut(rest, "\n\n")
	return strings.Split(strings.TrimRight(section, "\n"), "\n")
}
