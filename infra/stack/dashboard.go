package stack

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"
)

// The metrics the record function emits in embedded metric format
// (internal/pipeline/metrics.go; the names must match).
const (
	MetricsNamespace     = "Slipway"
	MetricRollbackFailed = "RollbackFailed"
)

// DashboardName is the name of the stack's CloudWatch dashboard.
func DashboardName(cfg *Config) string { return Name(cfg) }

// RollbackFailedAlarmName is the name of the alarm on failed rollbacks.
func RollbackFailedAlarmName(cfg *Config) string { return Name(cfg) + "-rollback-failed" }

// dashboard creates the delivery dashboard (the record function's metrics:
// outcomes, durations, time to rollback, the stages' times; the state
// machines' executions; the functions' errors; the dead-letter depth) and
// an alarm, sent to the notification topic, on any deployment or rollback
// that ends ROLLBACK_FAILED: the one status that needs a person now.
func (s *Stack) dashboard() {
	app := s.Config.App
	search := func(label, expr string) awscloudwatch.IMetric {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(expr), Label: jsii.String(label), Period: awscdk.Duration_Hours(jsii.Number(1)),
		})
	}
	q := func(dims, metric, stat string) string {
		return fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s" App="%s"', '%s', 3600)`, MetricsNamespace, dims, metric, app, stat)
	}
	graph := func(title string, left ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &left, Width: jsii.Number(12), Height: jsii.Number(6)})
	}

	alarm := s.alarmToTopic("RollbackFailedAlarm", "RollbackFailedAlarmPublishes", &awscloudwatch.AlarmProps{
		AlarmName:        jsii.String(RollbackFailedAlarmName(s.Config)),
		AlarmDescription: jsii.String(fmt.Sprintf("Slipway %s: a deployment or rollback ended ROLLBACK_FAILED: the fleet is not back on one release; `slipway status` and `slipway show ID` say what stays where", app)),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(MetricsNamespace), MetricName: jsii.String(MetricRollbackFailed),
			DimensionsMap: &map[string]*string{"App": jsii.String(app)},
			Statistic:     jsii.String("Sum"), Period: awscdk.Duration_Minutes(jsii.Number(5)),
		}),
		Threshold:          jsii.Number(0),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})

	var executions []awscloudwatch.IMetric
	for _, name := range []string{"deploy", "rollback"} {
		sm := s.StateMachines[name]
		if sm == nil {
			continue
		}
		opts := func(what string) *awscloudwatch.MetricOptions {
			return &awscloudwatch.MetricOptions{Label: jsii.String(name + " " + what), Statistic: jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1))}
		}
		executions = append(executions, sm.MetricSucceeded(opts("succeeded")), sm.MetricFailed(opts("failed")), sm.MetricTimedOut(opts("timed out")), sm.MetricAborted(opts("aborted")))
	}
	var names []string
	for n := range s.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []awscloudwatch.IMetric
	for _, n := range names {
		errs = append(errs, s.Functions[n].MetricErrors(&awscloudwatch.MetricOptions{Label: jsii.String(n), Statistic: jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1))}))
	}
	// A graph takes at most 100 metrics, a function's errors one each.
	if len(errs) > 100 {
		errs = errs[:100]
	}

	awscloudwatch.NewDashboard(s.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(DashboardName(s.Config)),
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				graph("Deployments by outcome (per hour)", search("outcome", q("App,Environment,Kind,Status", "Deployments", "Sum"))),
				graph("Rollbacks and failed rollbacks", search("rolled back", q("App,Environment", "RolledBack", "Sum")), search("rollback failed", q("App,Environment", MetricRollbackFailed, "Sum"))),
			},
			{
				graph("Deployment duration (s)", search("duration", q("App,Environment", "DeploymentDuration", "Average"))),
				graph("Time to rollback (s, failure to record)", search("time to rollback", q("App,Environment", "TimeToRollback", "Maximum"))),
			},
			{
				graph("Time per stage (s)", search("stage", q("App", "StageSeconds", "Average"))),
				graph("State machine executions", executions...),
			},
			{
				graph("Function errors", errs...),
				graph("Dead letters", s.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Label: jsii.String("events waiting"), Statistic: jsii.String("Maximum")})),
			},
			{
				awscloudwatch.NewAlarmWidget(&awscloudwatch.AlarmWidgetProps{Title: jsii.String("Failed rollbacks (alarm)"), Alarm: alarm, Width: jsii.Number(12), Height: jsii.Number(6)}),
			},
		},
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String("DashboardName"), &awscdk.CfnOutputProps{
		Value:       jsii.String(DashboardName(s.Config)),
		Description: jsii.String("The CloudWatch dashboard of deployments, rollbacks, stage times, executions, function errors and dead letters"),
	})
}
