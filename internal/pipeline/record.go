package pipeline

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/notify"
	"github.com/slipway-deploy/slipway/internal/report"
)

// Record writes a deployment's final status and summary to the ledger.
// The status is decided from what was observed before Record (every
// instance's current release, what it answers, whether it is healthy, and
// the schema version), never from the path the execution took: SUCCEEDED,
// ROLLED_BACK, ROLLED_BACK_SCHEMA_KEPT, ROLLBACK_FAILED, FAILED, STOPPED or
// ABANDONED, each meaning one thing (see contract). For a rollback
// execution it also links the deployment it completed.
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
	if left := leftOutByRollback(st); len(left) > 0 {
		// The next deployment (or rollback) puts them back first
		// (Preflight's PutBack reads this step).
		ids := leftOutIDs(left)
		h.Step(ctx, st.DeploymentID, contract.StageRollout, StepFailed, fmt.Sprintf("%s left out of the target groups when the rollback wave failed: the next deployment or rollback puts %s back first, once healthy",
			List(ids), cond(len(ids) == 1, "it", "them")), Reattached{Groups: map[string][]string{}, LeftOutGroups: left})
	}
	switch {
	case st.Stopped != nil:
		out.Error, out.Cause = st.Stopped.Error, st.Stopped.Cause
	case st.RollbackError != nil:
		out.Error, out.Cause = st.RollbackError.Error, lambdaMessage(st.RollbackError.Cause)
	case st.Error != nil:
		out.Error, out.Cause = st.Error.Error, lambdaMessage(st.Error.Cause)
	case out.Status != contract.StatusSucceeded && st.ObserveError != nil:
		out.Error, out.Cause = st.ObserveError.Error, lambdaMessage(st.ObserveError.Cause)
	}

	now := h.Time()
	inputs := h.reportInputs(ctx, st)
	var rep *report.Report
	var final ledger.Deployment
	final, err = h.Ledger.UpdateDeployment(ctx, st.DeploymentID, func(d *ledger.Deployment) error {
		d.Status, d.FinishedAt, d.Error, d.Cause, d.Summary = out.Status, now, out.Error, out.Cause, out.Summary
		d.Observed = st.Observation
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
			Error: out.Error, Cause: out.Cause, Summary: out.Summary, SchemaBefore: -1, SchemaAfter: -1, Observed: st.Observation,
		}
		rep = inputs.build(st, d, out, now)
		d.Report = rep.Stored()
		err = h.Ledger.PutDeployment(ctx, d)
		final = d
	}
	if err != nil {
		return out, &contract.TransientError{Message: err.Error()}
	}
	h.emitMetrics(final, rep, inputs.steps, now)
	// A rollback execution that put the environment back completes the
	// deployment it undid: that record keeps its own status (what happened
	// to it), and names the rollback.
	if st.Kind == contract.KindRollback && st.Preflight != nil && st.Preflight.TargetDeploymentID != "" && contract.RolledBack(out.Status) {
		_, err := h.Ledger.UpdateDeployment(ctx, st.Preflight.TargetDeploymentID, func(d *ledger.Deployment) error {
			d.RolledBackBy = st.DeploymentID
			d.Summary = strings.TrimSpace(d.Summary + " Rolled back later by " + st.DeploymentID + ".")
			return nil
		})
		if err != nil {
			return out, &contract.TransientError{Message: err.Error()}
		}
	}
	if out.Status == contract.StatusSucceeded {
		h.keepWarm(ctx, st, now)
	}
	status := StepOK
	if out.Status != contract.StatusSucceeded && !(st.Kind == contract.KindRollback && out.Status == contract.StatusRolledBack) {
		status = StepFailed
	}
	h.Step(ctx, st.DeploymentID, contract.StageRecord, status, out.Status+": "+out.Summary, nil)
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

// refusedBeforeChange reports whether the error named errName ends an
// execution before its Migrate stage and its rollout (Preflight's, or a
// refusal): what it observes then, it did not do.
func refusedBeforeChange(errName string) bool {
	return errName == "PreflightFailed" || contract.Refusal(errName)
}

func kindOr(k string) string {
	if k == "" {
		return contract.KindDeploy
	}
	return k
}

// changed reports whether the execution changed any instance or the schema:
// it moved an instance (the ledger has its activate or rollback results),
// or a migration ran, or the schema is observed away from where it was.
func (h *Record) changed(ctx context.Context, st contract.State) (bool, error) {
	if st.Rollback != nil && max(st.Rollback.InstanceCount, st.Rollback.TotalCount) > 0 {
		return true, nil
	}
	if switchedBack(st) || leftOutByRollback(st) != nil {
		return true, nil
	}
	if st.Migration != nil && len(st.Migration.Applied) > 0 {
		return true, nil
	}
	if st.SchemaRevert != nil && len(st.SchemaRevert.Reverted)+len(st.SchemaRevert.Kept) > 0 {
		return true, nil
	}
	// A refusal before the rollout (at the lock, or under it by Resolve)
	// ran no migration: a schema observed elsewhere than this execution's
	// Preflight saw it is another deployment's doing (it held the lease
	// meanwhile), not this one's.
	if !schemaBack(st) && !(st.Error != nil && refusedBeforeChange(st.Error.Error) && st.Migration == nil) {
		return true, nil
	}
	if st.Preflight == nil {
		return false, nil
	}
	results, err := h.Ledger.InstanceResults(ctx, st.DeploymentID)
	if err != nil {
		return false, err
	}
	for _, r := range results {
		if r.Action == fleet.ActionActivate || r.Action == fleet.ActionRollback {
			return true, nil
		}
	}
	return false, nil
}

// schemaBack reports whether the schema is observed where it was before
// the deployment (or was never touched). Without an observation it trusts
// what the migrate and revert steps reported.
func schemaBack(st contract.State) bool {
	if st.Kind == contract.KindRollback {
		return st.SchemaRevert == nil || len(st.SchemaRevert.Kept) == 0
	}
	if o := st.Observation; o != nil && o.Schema != nil && o.Schema.Known && st.Preflight != nil && st.Preflight.Migrations.Current >= 0 {
		before := st.Preflight.Migrations.Current
		dirtyBefore := st.Preflight.Migrations.ResumeVersion
		for _, v := range o.Schema.Dirty {
			if v != dirtyBefore {
				return false
			}
		}
		return o.Schema.Version == before
	}
	if st.SchemaRevert != nil {
		return len(st.SchemaRevert.Kept) == 0
	}
	return st.Migration == nil || len(st.Migration.Applied) == 0
}

// judge derives the final status from the observation, and a summary a
// person can act on.
func (h *Record) judge(st contract.State, changed bool, version string) (string, string) {
	env, previous := "", ""
	if p := st.Preflight; p != nil {
		env, previous = p.Environment, p.PreviousVersion
	}
	var fleetObs *contract.FleetObservation
	if st.Observation != nil {
		fleetObs = st.Observation.Fleet
	}
	observed := FleetNote(fleetObs)
	if fleetObs == nil && st.ObserveError != nil {
		observed = "The fleet could not be observed: " + lambdaMessage(st.ObserveError.Cause) + "."
	}
	// A release is observed on only with the configuration expected of it,
	// when one is known: the same release with another configuration is
	// not what a configuration-only deployment or its rollback wants.
	newConfig, oldConfig := "", ""
	if p := st.Preflight; p != nil {
		newConfig = p.Artifact.Config
		if st.Kind != contract.KindRollback && p.Config != nil {
			oldConfig = p.Config.Previous
		}
	}
	uniformOn := func(v, config string) bool {
		return fleetObs != nil && v != "" && fleetObs.Uniform == v && (config == "" || fleetObs.Config == config)
	}
	cause := ""
	if st.Error != nil {
		cause = fmt.Sprintf("%s: %s", st.Error.Error, lambdaMessage(st.Error.Cause))
	}
	what := fmt.Sprintf("the deployment of %s", orUnnamed(version))
	if st.Kind == contract.KindRollback {
		what = fmt.Sprintf("the rollback to %s", orUnnamed(version))
	}

	if s := st.Stopped; s != nil {
		how := "was stopped"
		status := contract.StatusStopped
		switch s.Error {
		case TimedOutError:
			how = "timed out"
		case AbandonedError:
			how, status = "was abandoned", contract.StatusAbandoned
		}
		// Nothing changed when the fleet is observed as it was: on the
		// release that served before (or, for a first deployment that moved
		// no instance, on none), with the schema where it was.
		if (uniformOn(previous, oldConfig) || (previous == "" && !changed)) && schemaBack(st) {
			return contract.StatusFailed, fmt.Sprintf("%s %s before it changed anything (%s). %s", upper(what), how, s.Cause, observed)
		}
		next := fmt.Sprintf("`slipway deploy --env %s --version %s` to finish it", env, version)
		if previous != "" {
			next = fmt.Sprintf("`slipway rollback --env %s` to return to %s, or %s", env, previous, next)
		}
		return status, fmt.Sprintf("%s %s (%s) and did not roll back. %s %s To bring %s back to one release: %s.",
			upper(what), how, s.Cause, observed, schemaNote(st), env, next)
	}

	if st.Kind == contract.KindRollback {
		if p := st.Preflight; p != nil && p.WarmSide != nil && st.Error == nil {
			return judgeWarmSwitch(st, env, version, previous, observed, uniformOn(version, newConfig))
		}
		switch {
		case st.Error != nil && !changed:
			return contract.StatusFailed, fmt.Sprintf("rollback refused before any change: %s", lambdaMessage(st.Error.Cause))
		case uniformOn(version, newConfig) && leftOutByRollback(st) != nil:
			return contract.StatusRollbackFailed, fmt.Sprintf("the rollback of %s to %s did not put every instance back in service: %s: %s. %s %s %s Look now: `slipway status --env %s`.",
				env, version, st.RollbackError.Error, lambdaMessage(st.RollbackError.Cause), leftOutNote(st), observed, schemaNote(st), env)
		case uniformOn(version, newConfig) && schemaBack(st):
			return contract.StatusRolledBack, fmt.Sprintf("%s serves %s again (was %s).%s %s %s", env, version, previous, rollbackErrorNote(st), observed, schemaNote(st))
		case uniformOn(version, newConfig):
			return contract.StatusRolledBackSchemaKept, fmt.Sprintf("%s serves %s again (was %s).%s %s %s", env, version, previous, rollbackErrorNote(st), observed, schemaNote(st))
		}
		why := ""
		if st.RollbackError != nil {
			why = fmt.Sprintf(": %s: %s", st.RollbackError.Error, lambdaMessage(st.RollbackError.Cause))
		}
		return contract.StatusRollbackFailed, fmt.Sprintf("the rollback of %s to %s did not bring every instance back%s. %s %s Look now: `slipway status --env %s`.",
			env, version, why, observed, schemaNote(st), env)
	}

	if st.Error == nil && st.RollbackError == nil {
		p := st.Preflight
		if !uniformOn(version, newConfig) {
			return contract.StatusStopped, fmt.Sprintf("%s reached Record without the fleet being observed on %s, so it cannot be called a success. %s", upper(what), version, observed)
		}
		msg := fmt.Sprintf("%s serves %s on %s", p.Environment, p.Version, Count(fleetObs.Total, "instance"))
		if st.Migration != nil && len(st.Migration.Applied) > 0 {
			msg += fmt.Sprintf("; schema %d → %d", st.Migration.From, st.Migration.To)
			if st.Snapshot != nil && st.Snapshot.SnapshotID != "" {
				msg += " after snapshot " + st.Snapshot.SnapshotID
			}
		}
		if st.BakeCheck != nil {
			msg += fmt.Sprintf("; baked %ds with no alarm", st.BakeCheck.ElapsedSeconds)
		}
		if bg := st.BlueGreen; bg != nil && bg.BlueGreen != nil && bg.BlueGreen.Shifted {
			msg += fmt.Sprintf("; all traffic shifted to %s (%s) in %d steps, %s kept warm", bg.BlueGreen.Idle, bg.BlueGreen.IdleGroup, len(bg.BlueGreen.Steps), bg.BlueGreen.Serving)
		}
		return contract.StatusSucceeded, msg + ". " + observed
	}
	if !changed {
		return contract.StatusFailed, fmt.Sprintf("%s was not deployed; nothing was changed. %s", orUnnamed(version), cause)
	}
	if uniformOn(previous, oldConfig) && leftOutByRollback(st) != nil {
		return contract.StatusRollbackFailed, fmt.Sprintf("%s failed (%s) and the rollback failed: %s: %s. Every instance is back on %s, but %s %s %s Look now: `slipway status --env %s`.",
			version, cause, st.RollbackError.Error, lambdaMessage(st.RollbackError.Cause), previous, leftOutNote(st), observed, schemaNote(st), env)
	}
	if uniformOn(previous, oldConfig) {
		msg := fmt.Sprintf("%s failed (%s). Rolled back", version, cause)
		if r := st.Rollback; r != nil && max(r.TotalCount, r.InstanceCount) > 0 {
			count, switched := r.InstanceCount, r.Switched
			if r.TotalCount > 0 {
				// Behind a load balancer: every wave, not only the last.
				count, switched = r.TotalCount, r.TotalSwitched
			}
			msg += fmt.Sprintf(": %s switched back to %s", Count(switched, "instance"), previous)
			if already := count - switched; already > 0 {
				msg += fmt.Sprintf(" (%d already on it)", already)
			}
		}
		if bg := st.BlueGreen; bg != nil && bg.BlueGreen != nil && bg.BlueGreen.SwitchedBack {
			msg += ": " + SwitchBackLine(*bg.BlueGreen)
		}
		msg += "." + rollbackErrorNote(st) + " " + observed
		if schemaBack(st) {
			return contract.StatusRolledBack, msg + " " + schemaNote(st)
		}
		return contract.StatusRolledBackSchemaKept, msg + " " + schemaNote(st)
	}
	why := ""
	if st.RollbackError != nil {
		why = fmt.Sprintf(" and the rollback failed: %s: %s", st.RollbackError.Error, lambdaMessage(st.RollbackError.Cause))
	}
	back := "the release that served before"
	if previous != "" {
		back = previous
	}
	return contract.StatusRollbackFailed, fmt.Sprintf("%s failed (%s)%s. The fleet is not back on %s: %s %s Look now: `slipway status --env %s`.",
		version, cause, why, back, observed, schemaNote(st), env)
}

// judgeWarmSwitch judges a rollback that switched the listener back to the
// side a blue/green deployment left warm: rolled back only when the
// listener was read back on that side and the side is observed on version.
func judgeWarmSwitch(st contract.State, env, version, previous, observed string, onVersion bool) (string, string) {
	ws := st.Preflight.WarmSide
	if !switchedBack(st) {
		why := ""
		if st.RollbackError != nil {
			why = fmt.Sprintf(": %s: %s", st.RollbackError.Error, lambdaMessage(st.RollbackError.Cause))
		}
		return contract.StatusRollbackFailed, fmt.Sprintf("the rollback of %s to %s did not switch listener %s back to %s (%s)%s; it still sends the traffic to %s (%s). %s Look now: `slipway status --env %s`, then run `slipway rollback --env %s` again.",
			env, version, ws.Listener, ws.Serving, ws.ServingGroup, why, ws.Idle, previous, observed, env, env)
	}
	line := SwitchBackLine(*st.BlueGreen.BlueGreen)
	if !onVersion {
		return contract.StatusRollbackFailed, fmt.Sprintf("the rollback of %s to %s %s, but %s is not observed on %s. %s Look now: `slipway status --env %s`.",
			env, version, line, ws.Serving, version, observed, env)
	}
	status := contract.StatusRolledBack
	if !schemaBack(st) {
		status = contract.StatusRolledBackSchemaKept
	}
	return status, fmt.Sprintf("%s serves %s again (was %s): %s.%s %s %s", env, version, previous, line, rollbackErrorNote(st), observed, schemaNote(st))
}

// failedHook finds the hook a host command's failure names; compiled on
// first use, not at every command's start (cmd/slipway links this package).
var failedHook = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`hook ([a-z_]+) of `) })

// leftOutByRollback returns, by target group, the instances a failed
// rollback wave left out of service (nil when none did).
func leftOutByRollback(st contract.State) map[string][]string {
	if !st.RollbackLeftOut || st.RollbackError == nil || st.Traffic == nil || len(st.Traffic.Groups) == 0 {
		return nil
	}
	return st.Traffic.Groups
}

func leftOutIDs(groups map[string][]string) []string {
	var ids []string
	for _, g := range groups {
		for _, id := range g {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// leftOutNote is the sentence of a judge whose rollback left a wave out
// of the target groups: the fleet may be on the release, but it does not
// all serve.
func leftOutNote(st contract.State) string {
	ids := leftOutIDs(leftOutByRollback(st))
	return fmt.Sprintf("%s %s out of the target groups (the rollback wave failed before %s back in service): the next deployment or rollback puts %s back first.",
		List(ids), cond(len(ids) == 1, "is", "are"), cond(len(ids) == 1, "it was", "they were"), cond(len(ids) == 1, "it", "them"))
}

// rollbackErrorNote says, in the summary of a rollback that did bring the
// fleet back (its status comes from what is observed), what failed in it
// afterwards: the after_traffic hook of the release back in service, or
// a revert of the schema that could not run (the schema note then says
// where it stands). "" when nothing did.
func rollbackErrorNote(st contract.State) string {
	e := st.RollbackError
	if e == nil {
		return ""
	}
	msg := strings.TrimSuffix(fmt.Sprintf(" The rollback then failed: %s: %s", e.Error, lambdaMessage(e.Cause)), ".")
	if m := failedHook().FindStringSubmatch(e.Cause); m != nil {
		msg += fmt.Sprintf(" (`slipway logs %s --hook %s` shows its output)", st.DeploymentID, m[1])
	}
	return msg + "."
}

func orUnnamed(v string) string {
	if v == "" {
		return "an unnamed release"
	}
	return v
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// schemaNote says honestly what happened to the schema.
func schemaNote(st contract.State) string {
	r := st.SchemaRevert
	if o := st.Observation; o != nil && o.Schema != nil && o.Schema.Known && st.Kind != contract.KindRollback && !schemaBack(st) &&
		(r == nil || len(r.Kept) == 0) && st.Preflight != nil {
		msg := fmt.Sprintf("The schema is at %d, not at %d where it was before the deployment", o.Schema.Version, st.Preflight.Migrations.Current)
		if len(o.Schema.Dirty) > 0 {
			msg += fmt.Sprintf(" (migration %v stopped part way: the statements it ran stay applied)", o.Schema.Dirty)
		}
		msg += "."
		if r != nil && r.Restore != "" {
			msg += " " + r.Restore
		} else if st.Snapshot != nil && st.Snapshot.SnapshotID != "" {
			msg += fmt.Sprintf(" To get the old schema back, restore snapshot %s (`slipway show %s` gives the exact procedure).", st.Snapshot.SnapshotID, st.DeploymentID)
		}
		return msg
	}
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
		var dirty, kept []int64
		for _, v := range r.Kept {
			if o := st.Observation; o != nil && o.Schema != nil && slices.Contains(o.Schema.Dirty, v) {
				dirty = append(dirty, v)
			} else {
				kept = append(kept, v)
			}
		}
		var whys []string
		if len(dirty) > 0 {
			whys = append(whys, fmt.Sprintf("migration %v stopped part way (the statements it ran stay applied, with the rows they changed)", dirty))
		}
		if len(kept) > 0 {
			whys = append(whys, fmt.Sprintf("migrations %v are not reversible", kept))
		}
		why := strings.Join(whys, " and ")
		return fmt.Sprintf("The schema was NOT fully reverted: it stays at %d because %s. %s", r.To, why, r.Restore)
	}
}
