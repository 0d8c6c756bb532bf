package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// AlarmChange is the detail of a CloudWatch "Alarm State Change" event
// (the fields Slipway reads).
type AlarmChange struct {
	AlarmName     string     `json:"alarmName"`
	State         AlarmState `json:"state"`
	PreviousState AlarmState `json:"previousState"`
}

// AlarmState is an alarm's state in an AlarmChange.
type AlarmState struct {
	Value     string `json:"value"`
	Reason    string `json:"reason,omitempty"`
	Timestamp string `json:"timestamp,omitempty"`
}

// AlarmRouter starts a rollback when an alarm fires after a deployment.
type AlarmRouter struct {
	Config  *config.Config
	Ledger  Ledger
	Starter Starter
	Now     func() time.Time
	Log     *slog.Logger
}

func (r *AlarmRouter) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Handle routes one alarm state change.
func (r *AlarmRouter) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	if ev.Source != "aws.cloudwatch" || ev.DetailType != "CloudWatch Alarm State Change" {
		return Result{}, badEvent("event %s from %q (%q) is not a CloudWatch Alarm State Change", ev.ID, ev.Source, ev.DetailType)
	}
	var d AlarmChange
	if err := decodeStrict(ev.Detail, &d); err != nil || d.AlarmName == "" {
		return Result{}, badEvent("alarm event %s: the detail has no alarmName", ev.ID)
	}
	env, ok := r.Config.EnvironmentOfAlarm(d.AlarmName)
	if !ok {
		msg := fmt.Sprintf("alarm %s is not watched by any environment of %s (environments.<env>.alarms): ignored", d.AlarmName, r.Config.App)
		r.log().Warn(msg, "event", ev.ID)
		return Result{Action: "ignored", Message: msg}, nil
	}
	app := r.Config.App
	record := func(kind, msg, deploymentID string) {
		detail, _ := json.Marshal(map[string]string{"alarm": d.AlarmName, "state": d.State.Value, "reason": d.State.Reason, "event": ev.ID})
		if err := r.Ledger.AddEvent(ctx, ledger.Event{App: app, Environment: env, At: r.now(), Source: "alarm", Kind: kind, Message: msg, DeploymentID: deploymentID, Detail: detail}); err != nil {
			r.log().Error("event not recorded", "kind", kind, "err", err)
		}
	}
	if d.State.Value != "ALARM" {
		msg := fmt.Sprintf("alarm %s is %s: nothing to do", d.AlarmName, d.State.Value)
		record("alarm-"+lower(d.State.Value), msg, "")
		return Result{Action: "ignored", Environment: env, Message: msg}, nil
	}
	ds, err := r.Ledger.ListDeployments(ctx, app, env, 20)
	if err != nil {
		return Result{}, fmt.Errorf("read the deployments of %s: %w", env, err)
	}
	last := lastDeployment(ds)
	switch {
	case last == nil:
		msg := fmt.Sprintf("alarm %s fired on %s, which has no deployment to roll back: recorded", d.AlarmName, env)
		record("alarm-nothing-to-roll-back", msg, "")
		return Result{Action: "nothing-to-roll-back", Environment: env, Message: msg}, nil
	case last.Status == contract.StatusRunning:
		msg := fmt.Sprintf("alarm %s fired during deployment %s, which watches its alarms itself and rolls back on its own", d.AlarmName, last.ID)
		record("alarm-during-deployment", msg, last.ID)
		return Result{Action: "deployment-running", Environment: env, DeploymentID: last.ID, Message: msg}, nil
	case last.Kind == contract.KindRollback || last.Status != contract.StatusSucceeded:
		msg := fmt.Sprintf("alarm %s fired on %s, whose last deployment %s is already %s: nothing to roll back", d.AlarmName, env, last.ID, last.Status)
		record("alarm-already-rolled-back", msg, last.ID)
		return Result{Action: "already-rolled-back", Environment: env, DeploymentID: last.ID, Message: msg}, nil
	case !last.WatchUntil.IsZero() && r.now().After(last.WatchUntil):
		msg := fmt.Sprintf("alarm %s fired on %s after deployment %s's watch window (until %s): not rolled back automatically; run `slipway rollback --env %s` if the release is the cause",
			d.AlarmName, env, last.ID, last.WatchUntil.Format(time.RFC3339), env)
		record("alarm-outside-watch", msg, last.ID)
		return Result{Action: "outside-watch", Environment: env, DeploymentID: last.ID, Message: msg}, nil
	}
	in, _ := json.Marshal(contract.RollbackRequest{App: app, Environment: env,
		Trigger: contract.Trigger{Source: "alarm", Alarm: d.AlarmName, Reason: d.State.Reason}})
	// One rollback per deployment, however many alarms fire or how often
	// their events are delivered.
	name := executionName([]string{"rollback", last.ID})
	_, err = r.Starter.Start(ctx, MachineRollback, name, in)
	switch {
	case errors.Is(err, ErrAlreadyStarted):
		msg := fmt.Sprintf("alarm %s: the rollback of %s (%s) was already started", d.AlarmName, last.ID, name)
		record("alarm-rollback-already-started", msg, last.ID)
		return Result{Action: "already-started", Environment: env, Execution: name, DeploymentID: last.ID, Message: msg}, nil
	case err != nil:
		return Result{}, fmt.Errorf("start the rollback of %s: %w", last.ID, err)
	}
	msg := fmt.Sprintf("alarm %s fired on %s: rolling back deployment %s of %s (%s)", d.AlarmName, env, last.ID, last.Version, name)
	record("alarm-rollback-started", msg, last.ID)
	return Result{Action: "rollback-started", Environment: env, Execution: name, DeploymentID: last.ID, Version: last.PreviousVersion, Message: msg}, nil
}

// lastDeployment is the newest record that is not a refused (FAILED) run:
// a run that changed nothing says nothing about what serves.
func lastDeployment(ds []ledger.Deployment) *ledger.Deployment {
	for i := range ds {
		if ds[i].Status == contract.StatusFailed {
			continue
		}
		return &ds[i]
	}
	return nil
}

func (r *AlarmRouter) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
