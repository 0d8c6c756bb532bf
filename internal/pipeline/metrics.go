package pipeline

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/report"
)

// MetricsNamespace is the CloudWatch namespace of the metrics Record
// emits, which the stack's dashboard and failed-rollback alarm read.
const MetricsNamespace = "Slipway"

// Metric names Record emits (embedded metric format).
const (
	// MetricDeployments counts finished deployments and rollbacks (1 per
	// record), by App, Environment, Kind and Status.
	MetricDeployments = "Deployments"
	// MetricDuration is a deployment's time from start to its record.
	MetricDuration = "DeploymentDuration"
	// MetricRolledBack counts records that ended rolled back (either
	// status); MetricRollbackFailed those that ended ROLLBACK_FAILED, which
	// the stack's alarm watches.
	MetricRolledBack     = "RolledBack"
	MetricRollbackFailed = "RollbackFailed"
	// MetricTimeToRollback is, for a deployment that rolled back, the time
	// from its failure (the first failed step) to its record.
	MetricTimeToRollback = "TimeToRollback"
	// MetricStagePrefix names one metric per stage: StageSeconds.<stage>.
	MetricStagePrefix = "StageSeconds."
)

// emitMetrics writes one embedded-metric-format line for the record: the
// outcome counts, the duration, the time to rollback and each stage's
// time. CloudWatch Logs extracts them from the record function's log.
func (h *Record) emitMetrics(d ledger.Deployment, rep *report.Report, steps []ledger.Step, now time.Time) {
	if h.Metrics == nil || d.App == "" {
		return
	}
	kind := kindOr(d.Kind)
	line := map[string]any{
		"App": d.App, "Environment": d.Environment, "Kind": kind, "Status": d.Status,
		"DeploymentId": d.ID, "Version": d.Version,
		MetricDeployments: 1,
	}
	metrics := []map[string]string{{"Name": MetricDeployments, "Unit": "Count"}}
	add := func(name, unit string, v float64) {
		line[name] = v
		metrics = append(metrics, map[string]string{"Name": name, "Unit": unit})
	}
	if !d.StartedAt.IsZero() {
		add(MetricDuration, "Seconds", now.Sub(d.StartedAt).Seconds())
	}
	rolledBack := contract.RolledBack(d.Status)
	add(MetricRolledBack, "Count", b2f(rolledBack))
	add(MetricRollbackFailed, "Count", b2f(d.Status == contract.StatusRollbackFailed))
	if rolledBack && kind == contract.KindDeploy {
		for _, s := range steps {
			if s.Status == StepFailed {
				add(MetricTimeToRollback, "Seconds", now.Sub(s.At).Seconds())
				break
			}
		}
	}
	if rep != nil {
		seen := map[string]bool{}
		for _, t := range rep.Timings {
			name := MetricStagePrefix + strings.ReplaceAll(t.Stage, " ", "-")
			if seen[name] {
				line[name] = line[name].(float64) + t.Seconds
				continue
			}
			seen[name] = true
			add(name, "Seconds", t.Seconds)
		}
	}
	line["_aws"] = map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  MetricsNamespace,
			"Dimensions": [][]string{{"App"}, {"App", "Environment"}, {"App", "Environment", "Kind", "Status"}},
			"Metrics":    metrics,
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	fmt.Fprintf(h.Metrics, "%s\n", b)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
