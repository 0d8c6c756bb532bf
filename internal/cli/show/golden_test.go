package show

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
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

// TestShowUsesTheHistoryTimings checks that the execution history's stage
// timings, where the backend keeps it, replace the ledger's.
func TestShowUsesTheHistoryTimings(t *testing.T) {
	f := backendtest.New(t)
	backendtest.Seed(t, f)
	want := []report.StageTiming{{Stage: "preflight", StartedAt: backendtest.T0, Seconds: 4.2, Status: "ok"}}
	f.TimingsFunc = func(context.Context, ledger.Deployment) ([]report.StageTiming, error) { return want, nil }
	r, err := Build(context.Background(), f, backendtest.StagingV1, backendtest.T0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Timings) != 1 || r.Timings[0].Seconds != 4.2 {
		t.Errorf("timings = %+v, want the history's %+v", r.Timings, want)
	}
}
