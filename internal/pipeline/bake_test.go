package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
)

// TestBakeAlarms: the bake (Health's alarms action, CheckAlarms) is done
// once its duration has passed with no alarm firing; an alarm in ALARM, or
// alarms that cannot be read, end it with AlarmFired (a throttled read is
// retried instead), written as a failed step naming each alarm.
func TestBakeAlarms(t *testing.T) {
	start := t0.Format(time.RFC3339Nano)
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }
	for _, tt := range []struct {
		name     string
		alarms   []string
		state    map[string]string
		readErr  error
		startAt  string
		now      string
		done     bool
		wantErr  string // the error's type
		stepSays string // the step written, "" none
	}{
		{name: "inside the window, quiet", alarms: []string{"demo-5xx"}, now: at(30 * time.Second)},
		{name: "the window has passed, quiet", alarms: []string{"demo-5xx", "demo-p99"}, now: at(120 * time.Second), done: true,
			stepSays: "baked 120s watching 2 alarms: none fired"},
		{name: "no alarm to watch", now: at(120 * time.Second), done: true, stepSays: "baked 120s watching no alarms: none fired"},
		{name: "an alarm fires", alarms: []string{"demo-5xx", "demo-p99"}, state: map[string]string{"demo-p99": health.StateAlarm}, now: at(30 * time.Second),
			wantErr: "AlarmFired", stepSays: "alarm in ALARM: demo-p99"},
		{name: "an alarm fires on the last check", alarms: []string{"demo-5xx"}, state: map[string]string{"demo-5xx": health.StateAlarm}, now: at(120 * time.Second),
			wantErr: "AlarmFired", stepSays: "alarm in ALARM: demo-5xx"},
		{name: "alarms cannot be read", alarms: []string{"demo-5xx"}, readErr: &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform cloudwatch:DescribeAlarms"},
			now: at(30 * time.Second), wantErr: "AlarmFired"},
		{name: "throttled", alarms: []string{"demo-5xx"}, readErr: &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"},
			now: at(30 * time.Second), wantErr: "TransientError"},
		{name: "malformed times", alarms: []string{"demo-5xx"}, startAt: "yesterday", now: at(30 * time.Second), wantErr: "*errors.errorString"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, led := deps(t, &pipelinetest.Fleet{})
			d.Alarms = &pipelinetest.Alarms{State: tt.state, Err: tt.readErr}
			in := contract.HealthInput{Action: contract.HealthAlarms, DeploymentID: "dep-1", App: "demo", Environment: "staging",
				Alarms: tt.alarms, StartedAt: start, Now: tt.now, DurationSeconds: 120}
			if tt.startAt != "" {
				in.StartedAt = tt.startAt
			}
			out, err := (&pipeline.Health{Deps: d}).Handle(context.Background(), in)
			if name := errorName(err); name != tt.wantErr {
				t.Fatalf("Handle = %+v, %v (%s); want error %q", out, err, name, tt.wantErr)
			}
			if err == nil && out.Done != tt.done {
				t.Errorf("done = %v; want %v", out.Done, tt.done)
			}
			var af *contract.AlarmFired
			if errors.As(err, &af) && tt.readErr == nil && (len(af.Alarms) != 1 || !strings.Contains(tt.stepSays, af.Alarms[0])) {
				t.Errorf("AlarmFired names %v; want the alarm that fired", af.Alarms)
			}
			if af != nil && tt.readErr != nil && !strings.Contains(af.Message, "cannot be called safe") {
				t.Errorf("AlarmFired = %q; want it to say the deployment cannot be called safe", af.Message)
			}
			steps, _ := led.Steps(context.Background(), "dep-1")
			switch {
			case tt.stepSays == "" && len(steps) != 0:
				t.Errorf("steps = %v; want none", steps)
			case tt.stepSays != "" && (len(steps) != 1 || !strings.Contains(steps[0].Message, tt.stepSays)):
				t.Errorf("steps = %v; want one saying %q", steps, tt.stepSays)
			}
		})
	}
}
