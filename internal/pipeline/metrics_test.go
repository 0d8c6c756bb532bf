package pipeline

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/report"
)

// TestEmitMetrics: Record's line is valid embedded metric format (every
// metric and dimension it declares is a key of the line), and says the
// outcome, the duration, the time to rollback and the stages' times.
func TestEmitMetrics(t *testing.T) {
	var buf bytes.Buffer
	h := &Record{Deps: &Deps{Metrics: &buf}}
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	now := start.Add(90 * time.Second)
	d := ledger.Deployment{ID: "d-1", App: "demo", Environment: "staging", Kind: contract.KindDeploy, Version: "v3", Status: contract.StatusRolledBack, StartedAt: start}
	steps := []ledger.Step{{Stage: "rollout", Status: StepOK, At: start.Add(20 * time.Second)}, {Stage: "health", Status: StepFailed, At: start.Add(60 * time.Second)}}
	rep := &report.Report{Timings: []report.StageTiming{{Stage: "preflight", Seconds: 2}, {Stage: "rollout", Seconds: 30}, {Stage: "rollout", Seconds: 5}}}
	h.emitMetrics(d, rep, steps, now)

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("metrics output %q is not one JSON line: %v", buf.String(), err)
	}
	var aws struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	}
	raw, _ := json.Marshal(line["_aws"])
	if err := json.Unmarshal(raw, &aws); err != nil || aws.Timestamp != now.UnixMilli() || len(aws.CloudWatchMetrics) != 1 || aws.CloudWatchMetrics[0].Namespace != MetricsNamespace {
		t.Fatalf("_aws = %s, %v", raw, err)
	}
	for _, dims := range aws.CloudWatchMetrics[0].Dimensions {
		for _, k := range dims {
			if _, ok := line[k].(string); !ok {
				t.Errorf("dimension %s is not a string key of the line", k)
			}
		}
	}
	for _, m := range aws.CloudWatchMetrics[0].Metrics {
		if _, ok := line[m.Name].(float64); !ok {
			t.Errorf("metric %s is not a number in the line", m.Name)
		}
	}
	want := map[string]float64{MetricDeployments: 1, MetricDuration: 90, MetricRolledBack: 1, MetricRollbackFailed: 0, MetricTimeToRollback: 30,
		MetricStagePrefix + "preflight": 2, MetricStagePrefix + "rollout": 35}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if line["Status"] != contract.StatusRolledBack || line["Environment"] != "staging" {
		t.Errorf("line = %v", line)
	}
	// Without a writer, nothing.
	(&Record{Deps: &Deps{}}).emitMetrics(d, rep, steps, now)
}
