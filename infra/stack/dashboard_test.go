package stack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestDashboardAndRollbackFailedAlarm: the dashboard shows the record
// function's metrics (outcomes, durations, time to rollback, stage times),
// both state machines' executions, every function's errors and the
// dead-letter depth; the alarm on ROLLBACK_FAILED tells the topic.
func TestDashboardAndRollbackFailedAlarm(t *testing.T) {
	s := synth(t)
	boards := s.ofType("AWS::CloudWatch::Dashboard")
	if len(boards) != 1 {
		t.Fatalf("%d dashboards, want 1", len(boards))
	}
	var board resource
	for _, b := range boards {
		board = b
	}
	body, _ := json.Marshal(s.resolve(board.props()["DashboardBody"]))
	text := string(body)
	for _, want := range []string{
		`MetricName=\\\"Deployments\\\"`, `MetricName=\\\"DeploymentDuration\\\"`, `MetricName=\\\"TimeToRollback\\\"`,
		`MetricName=\\\"StageSeconds\\\"`, `MetricName=\\\"RolledBack\\\"`, `MetricName=\\\"RollbackFailed\\\"`, `App=\\\"demo\\\"`,
		"ExecutionsFailed", "ExecutionsSucceeded", "ApproximateNumberOfMessagesVisible", "Errors", "RollbackFailedAlarm",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("dashboard body lacks %s", want)
		}
	}
	found := false
	for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
		p := s.resolve(a.props()).(map[string]any)
		if p["MetricName"] != MetricRollbackFailed {
			continue
		}
		found = true
		if p["Namespace"] != MetricsNamespace || p["Statistic"] != "Sum" || p["ComparisonOperator"] != "GreaterThanThreshold" || p["Threshold"] != float64(0) ||
			p["TreatMissingData"] != "notBreaching" || fmt.Sprint(p["Dimensions"]) != "[map[Name:App Value:demo]]" {
			t.Errorf("rollback-failed alarm = %v", p)
		}
		if got := fmt.Sprint(p["AlarmActions"]); got != "[<Notifications>]" {
			t.Errorf("rollback-failed alarm actions = %s, want the notification topic", got)
		}
	}
	if !found {
		t.Error("no alarm on RollbackFailed")
	}
}
