package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/canary"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
)

// namedSource is a CanaryMetrics that only names itself.
type namedSource struct{ err error }

func (s namedSource) Source(context.Context, string, contract.CanarySpec) (string, error) {
	return "the test's counters", s.err
}

func (namedSource) Totals(context.Context, string, contract.CanarySpec, []string, time.Time, time.Time) (map[string]canary.Totals, error) {
	return nil, nil
}

// TestPreflightCanary: Preflight turns rollout.canary into the analysis
// as it will run, says why it is skipped on a first deployment and on a
// plan of one wave, and refuses where the figures cannot be read.
func TestPreflightCanary(t *testing.T) {
	const m = "app: demo\nservice: {start: bin/app}\nrollout:\n  waves: [1, \"100%\"]\n  canary: {bake: 1m, interval: 20s, confidence: 99.9%, latency: {increase: 50%, margin: 10ms}, metrics: {namespace: Shop, requests: Requests, errors: Errors, dimensions: {Stage: \"{env}\"}}}\n"
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	three := []fleet.Instance{{ID: "i-1", Online: true}, {ID: "i-2", Online: true}, {ID: "i-3", Online: true}}
	served := []ledger.Deployment{{ID: "d-0", App: "demo", Environment: "staging", Version: "v1", Kind: contract.KindDeploy,
		Status: contract.StatusSucceeded, StartedAt: now.Add(-time.Hour), SchemaBefore: -1, SchemaAfter: -1}}
	for _, tt := range []struct {
		name      string
		manifest  string // "" : m
		instances []fleet.Instance
		earlier   []ledger.Deployment
		source    CanaryMetrics
		wantErr   string
		check     func(t *testing.T, out contract.PreflightOutput)
	}{
		{name: "the analysis as it will run", instances: three, earlier: served, source: namedSource{},
			check: func(t *testing.T, out contract.PreflightOutput) {
				c := out.Canary
				if c == nil || c.BakeSeconds != 60 || c.IntervalSeconds != 20 || c.Samples != 3 || c.Confidence != 0.999 || c.MinRequests != 50 ||
					c.Source != "the test's counters" || c.LatencyIncrease != 0.5 || c.LatencyMarginMS != 10 || c.Metrics == nil || c.Metrics.Dimensions["Stage"] != "staging" {
					t.Errorf("canary = %+v", c)
				}
				// The CloudWatch metrics name no latency metric: no latency test.
				if c != nil && c.Latency {
					t.Errorf("a latency test without a latency metric")
				}
			}},
		{name: "a first deployment", instances: three, source: namedSource{},
			check: func(t *testing.T, out contract.PreflightOutput) {
				if out.Canary != nil || !strings.Contains(out.CanarySkipped, "first deployment") {
					t.Errorf("canary %+v, skipped %q; want it skipped: nothing serves to compare with", out.Canary, out.CanarySkipped)
				}
			}},
		{name: "one wave", instances: three[:1], earlier: served, source: namedSource{},
			check: func(t *testing.T, out contract.PreflightOutput) {
				if out.Canary != nil || !strings.Contains(out.CanarySkipped, "the plan has one wave (1 instance)") {
					t.Errorf("canary %+v, skipped %q; want it skipped for the single wave", out.Canary, out.CanarySkipped)
				}
			}},
		{name: "nothing reads metrics", instances: three, earlier: served, wantErr: "nothing here reads per-instance metrics"},
		{name: "figures that cannot be read", instances: three, earlier: served, source: namedSource{err: errors.New("environment staging has no load balancer")},
			wantErr: "canary analysis (rollout.canary): environment staging has no load balancer"},
		{name: "on AWS without metrics", manifest: strings.Replace(m, ", metrics: {namespace: Shop, requests: Requests, errors: Errors, dimensions: {Stage: \"{env}\"}}", "", 1),
			instances: three, earlier: served, source: &health.CloudWatchCanary{}, wantErr: "on AWS the analysis reads CloudWatch metrics published per instance: name them in rollout.canary.metrics"},
		{name: "on AWS, the metrics named", instances: three, earlier: served, source: &health.CloudWatchCanary{},
			check: func(t *testing.T, out contract.PreflightOutput) {
				if out.Canary == nil || out.Canary.Source != "CloudWatch Shop: Requests, Errors per InstanceId" {
					t.Errorf("canary = %+v; want the CloudWatch metrics named", out.Canary)
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			led := pipelinetest.Ledger(t)
			for _, d := range tt.earlier {
				if err := led.PutDeployment(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			store := &artifact.Dir{Root: t.TempDir()}
			publish(t, store, "demo", "v2", cmp.Or(tt.manifest, m))
			h := &Preflight{Deps: &Deps{
				Config: &config.Config{App: "demo", Environments: map[string]config.Environment{"staging": {}}}, Ledger: led, Artifacts: store,
				Fleet: &pipelinetest.Fleet{ByEnv: map[string][]fleet.Instance{"staging": tt.instances}}, Now: func() time.Time { return now },
				MigrationPlan: func(context.Context, *Deps, string, *bundle.Bundle) (contract.MigrationPlan, error) {
					return contract.MigrationPlan{Current: 3, Pending: []int64{}}, nil
				},
				CanaryMetrics: tt.source,
			}}
			out, err := h.Handle(ctx, contract.PreflightInput{Request: json.RawMessage(`{"app":"demo","environment":"staging","version":"v2"}`), Kind: contract.KindDeploy, DeploymentID: "d-1", StartedAt: now.Format(time.RFC3339Nano)})
			if tt.wantErr != "" {
				var pf *contract.PreflightFailed
				if err == nil || !errors.As(err, &pf) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Handle = %v; want a refusal saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle = %v; want it admitted", err)
			}
			tt.check(t, out)
		})
	}
}
