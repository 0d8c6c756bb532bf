package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/notify"
	"github.com/slipway-deploy/slipway/internal/report"
)

// Record writes a deployment's final status and summary to the ledger.
// The status is derived from what the execution did, never assumed:
// SUCCEEDED, ROLLED_BACK, ROLLBACK_FAILED or FAILED, each meaning one thing
// (see contract). For a rollback execution it also marks the deployment it
// rolled back.
type Record struct{ *Deps }

// Handle runs Record. Its input is the whole execution state.
func (h *Record) Handle(ctx context.Context, st contract.State) (contract.RecordOutput, error) {
	req := lenientRequest(st.Request)
	out := contract.RecordOutput{DeploymentID: st.DeploymentID, App: req.App, Environment: req.Environment, Version: req.Version}
	if st.Kind == contract.KindRollback {
		out.Version = req.ToVersion
	}
	if p := st.Preflight; p != nil {
		out.App, out.Environment, out.Version = p.App, p.Environment, p.Version
	}
	changed, err := h.changed(ctx, st)
	if err != nil {
		return out, &contract.TransientError{Message: err.Error()}
	}
	out.Status, out.Summary = h.judge(st, changed, out.Version)
	switch {
	case st.RollbackError != nil:
		out.Error, out.Cause = st.RollbackError.Error, lambdaMessage(st.RollbackError.Cause)
	case st.Error != nil:
		out.Error, out.Cause = st.Error.Error, lambdaMessage(st.Error.Cause)
	}

	now := h.Time()
	inputs := h.reportInputs(ctx, st)
	var rep *report.Report
	_, err = h.Ledger.UpdateDeployment(ctx, st.DeploymentID, func(d *ledger.Deployment) error {
		d.Status, d.FinishedAt, d.Error, d.Cause, d.Summary = out.Status, now, out.Error, out.Cause, out.Summary
		if out.Status == contract.StatusSucceeded && st.Preflight != nil {
			d.WatchUntil = now.Add(time.Duration(st.Preflight.WatchSeconds) * time.Second)
		}
		rep = inputs.build(st, *d, out, now)
		d.Report = rep.Stored()
		return nil
	})
	if errors.Is(err, ledger.ErrNotFound) {
		// Preflight refused the request before it could open a record.
		started := now
		d := ledger.Deployment{
			ID: st.DeploymentID, App: out.App, Environment: out.Environment, Version: out.Version, Kind: kindOr(st.Kind),
			Status: out.Status, ExecutionID: st.ExecutionID, Trigger: req.Trigger, StartedAt: started, FinishedAt: now,
			Error: out.Error, Cause: out.Cause, Summary: out.Summary, SchemaBefore: -1, SchemaAfter: -1,
		}
		rep = inputs.build(st, d, out, now)
		d.Report = rep.Stored()
		err = h.Ledger.PutDeployment(ctx, d)
	}
	if err != nil {
		return out, &contract.TransientError{Message: err.Error()}
	}
	if st.Kind == contract.KindRollback && st.Preflight != nil && st.Preflight.TargetDeploymentID != "" && changed {
		_, err := h.Ledger.UpdateDeployment(ctx, st.Preflight.TargetDeploymentID, func(d *ledger.Deployment) error {
			d.Status, d.RolledBackBy = out.Status, st.DeploymentID
			if out.Status == contract.StatusRolledBack {
				d.Summary = strings.TrimSpace(d.Summary + " Rolled back later by " + st.DeploymentID + ".")
			}
			return nil
		})
		if err != nil {
			return out, &contract.TransientError{Message: err.Error()}
		}
	}
	status := StepOK
	if out.Status != contract.StatusSucceeded && !(st.Kind == contract.KindRollback && out.Status == contract.StatusRolledBack) {
		status = StepFailed
	}
	h.Step(ctx, st.DeploymentID, "record", status, out.Status+": "+out.Summary, nil)
	if h.Notifier != nil {
		m := notify.Message{Subject: fmt.Sprintf("%s: %s %s to %s", out.Status, out.App, out.Version, out.Environment),
			Body:       notification(rep, st.DeploymentID),
			Attributes: map[string]string{"kind": "report", "status": out.Status, "app": out.App, "environment": out.Environment}}
		if err := h.Notifier.Notify(ctx, m); err != nil {
			h.Logger().Error("report not sent", "deployment", st.DeploymentID, "err", err)
		}
	}
	return out, nil
}

func kindOr(k string) string {
	if k == "" {
		return contract.KindDeploy
	}
	return k
}

// changed reports whether the execution changed any instance or the schema.
func (h *Record) changed(ctx context.Context, st contract.State) (bool, error) {
	if st.Rollback != nil && st.Rollback.InstanceCount > 0 {
		return true, nil
	}
	if st.Migration != nil && len(st.Migration.Applied) > 0 {
		return true, nil
	}
	if st.SchemaRevert != nil && len(st.SchemaRevert.Reverted)+len(st.SchemaRevert.Kept) > 0 {
		return true, nil
	}
	if st.Preflight == nil {
		return false, nil
	}
	results, err := h.Ledger.InstanceResults(ctx, st.DeploymentID)
	if err != nil {
		return false, err
	}
	return len(results) > 0, nil
}

// judge derives the final status and a summary a person can act on.
func (h *Record) judge(st contract.State, changed bool, version string) (string, string) {
	env := ""
	if st.Preflight != nil {
		env = st.Preflight.Environment
	}
	if st.Kind == contract.KindRollback {
		switch {
		case st.Error != nil:
			return contract.StatusFailed, fmt.Sprintf("rollback refused before any change: %s", lambdaMessage(st.Error.Cause))
		case st.RollbackError != nil:
			return contract.StatusRollbackFailed, fmt.Sprintf("rollback of %s to %s failed: %s. %s", env, version, lambdaMessage(st.RollbackError.Cause), schemaNote(st))
		default:
			return contract.StatusRolledBack, fmt.Sprintf("%s serves %s again on %s (was %s). %s", env, version, Count(len(st.Preflight.Instances), "instance"), st.Preflight.PreviousVersion, schemaNote(st))
		}
	}
	if st.Error == nil && st.RollbackError == nil {
		p := st.Preflight
		msg := fmt.Sprintf("%s serves %s on %s", p.Environment, p.Version, Count(len(p.Instances), "instance"))
		if st.Migration != nil && len(st.Migration.Applied) > 0 {
			msg += fmt.Sprintf("; schema %d → %d", st.Migration.From, st.Migration.To)
			if st.Snapshot != nil && st.Snapshot.SnapshotID != "" {
				msg += " after snapshot " + st.Snapshot.SnapshotID
			}
		}
		if st.BakeCheck != nil {
			msg += fmt.Sprintf("; baked %ds with no alarm", st.BakeCheck.ElapsedSeconds)
		}
		return contract.StatusSucceeded, msg + "."
	}
	cause := ""
	if st.Error != nil {
		cause = fmt.Sprintf("%s: %s", st.Error.Error, lambdaMessage(st.Error.Cause))
	}
	if !changed {
		return contract.StatusFailed, fmt.Sprintf("%s was not deployed; nothing was changed. %s", version, cause)
	}
	if st.RollbackError != nil {
		return contract.StatusRollbackFailed, fmt.Sprintf("%s failed (%s) and the rollback failed: %s: %s. Some instances or the schema may still be on %s; look now. %s",
			version, cause, st.RollbackError.Error, lambdaMessage(st.RollbackError.Cause), version, schemaNote(st))
	}
	msg := fmt.Sprintf("%s failed (%s). Rolled back", version, cause)
	if st.Rollback != nil && st.Rollback.InstanceCount > 0 {
		msg += fmt.Sprintf(": %s serve %s again, verified healthy", Count(st.Rollback.InstanceCount, "instance"), st.Rollback.ToVersion)
	}
	return contract.StatusRolledBack, msg + ". " + schemaNote(st)
}

// schemaNote says honestly what happened to the schema.
func schemaNote(st contract.State) string {
	r := st.SchemaRevert
	switch {
	case r == nil:
		if st.Migration != nil && len(st.Migration.Applied) > 0 {
			msg := fmt.Sprintf("The schema was NOT reverted: it stays at %d.", st.Migration.To)
			if st.Snapshot != nil && st.Snapshot.SnapshotID != "" {
				msg += fmt.Sprintf(" To get the old schema back, restore snapshot %s (taken before the migrations; `slipway show %s` gives the exact procedure).", st.Snapshot.SnapshotID, st.DeploymentID)
			}
			return msg
		}
		return "The schema was not changed."
	case len(r.Reverted) == 0 && len(r.Kept) == 0:
		return "The schema was not changed."
	case len(r.Kept) == 0:
		return fmt.Sprintf("The schema was reverted from %d to %d (down migrations %v).", r.From, r.To, r.Reverted)
	default:
		return fmt.Sprintf("The schema was NOT fully reverted: it stays at %d because migrations %v are not reversible. %s", r.To, r.Kept, r.Restore)
	}
}
