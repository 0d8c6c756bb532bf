package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
)

// Rollback puts the previous release back by flipping each host's current
// link back and restarting with the previous release's own restart command:
// no download, no build, never the failed release's scripts. It moves the
// instances this execution moved, and those the host check (under the
// lease) found on another release than the one that serves: an earlier
// execution that did not finish left them there, and a fleet that is not
// uniformly on one release is never ROLLED_BACK. Instances already on the
// release are not restarted. A rollback execution moves every instance of
// the environment to its target.
type Rollback struct{ *Deps }

// Handle runs Rollback ("start") and CheckRollback ("poll").
func (h *Rollback) Handle(ctx context.Context, in contract.RollbackInput) (contract.RollbackOutput, error) {
	switch in.Action {
	case contract.RollbackStart:
		return h.start(ctx, in.State, in.InstanceIDs)
	case contract.RollbackPoll:
		return h.poll(ctx, in.State, in.CommandID, in.InstanceIDs)
	}
	return contract.RollbackOutput{}, fmt.Errorf("rollback: unknown action %q (start or poll)", in.Action)
}

// plan says which instances to move and where to; only (when not nil:
// one wave of a rollback behind a load balancer) limits them.
func (h *Rollback) plan(ctx context.Context, st contract.State, only []string) (from, to string, ids []string, err error) {
	from, to, ids, err = h.planAll(ctx, st)
	if err != nil || only == nil {
		return from, to, ids, err
	}
	keep := ids[:0:0]
	for _, id := range ids {
		if slices.Contains(only, id) {
			keep = append(keep, id)
		}
	}
	return from, to, keep, nil
}

func (h *Rollback) planAll(ctx context.Context, st contract.State) (from, to string, ids []string, err error) {
	p := st.Preflight
	if p == nil {
		return "", "", nil, nil
	}
	if st.Kind == contract.KindRollback {
		return p.PreviousVersion, p.Version, p.Instances, nil
	}
	results, err := h.Ledger.InstanceResults(ctx, st.DeploymentID)
	if err != nil {
		return "", "", nil, err
	}
	seen := map[string]bool{}
	for _, r := range results {
		if r.Action == fleet.ActionActivate && !seen[r.InstanceID] {
			seen[r.InstanceID] = true
			ids = append(ids, r.InstanceID)
		}
	}
	if len(ids) == 0 {
		return p.Version, p.PreviousVersion, nil, nil // it changed no instance: it leaves every one alone
	}
	for _, r := range results {
		// The host check's answers: an instance an earlier, unfinished
		// execution left on another release.
		offTarget := r.Action == fleet.ActionStatus && r.Status == fleet.StatusSuccess && r.Version != p.PreviousVersion
		if offTarget && !seen[r.InstanceID] {
			seen[r.InstanceID] = true
			ids = append(ids, r.InstanceID)
		}
	}
	return p.Version, p.PreviousVersion, ids, nil
}

// RollbackConfig is the fingerprint of the configuration a rollback
// restores with the release it returns to: for a deployment, the one that
// served before it (PreflightOutput.Config.Previous); for a rollback
// execution, the one its target release is recorded with. Empty when it is
// not known: each host then runs the release with the configuration it
// last ran with there (releases/V/app.env), which is the one that served
// before unless the same release was deployed since with another.
func RollbackConfig(st contract.State) string {
	p := st.Preflight
	if p == nil {
		return ""
	}
	if st.Kind == contract.KindRollback {
		return p.Artifact.Config
	}
	if p.Config != nil {
		return p.Config.Previous
	}
	return ""
}

func (h *Rollback) start(ctx context.Context, st contract.State, only []string) (contract.RollbackOutput, error) {
	from, to, ids, err := h.plan(ctx, st, only)
	if err != nil {
		return contract.RollbackOutput{}, &contract.TransientError{Message: err.Error()}
	}
	out := contract.RollbackOutput{Status: contract.RollbackNothing, FromVersion: from, ToVersion: to, InstanceIDs: []string{}}
	out.TotalCount, out.TotalSwitched = before(st, only)
	why := "rollback"
	if only != nil && st.RollbackWave != nil {
		why = fmt.Sprintf("rollback, wave %d", st.RollbackWave.Wave+1)
	}
	if st.Error != nil {
		why = fmt.Sprintf("rollback after %s: %s", st.Error.Error, lambdaMessage(st.Error.Cause))
	}
	if only == nil && byWave(st) && len(ids) > 0 && to != "" {
		h.Step(ctx, st.DeploymentID, contract.StageRollback, StepInfo, why+"; behind the load balancer, wave by wave in reverse, each out of its target groups while it is switched back", nil)
		out.Status = contract.RollbackByWave
		return out, nil
	}
	if len(ids) == 0 {
		if st.Preflight != nil {
			none := "no instance was changed, none to switch back"
			if only != nil {
				none = fmt.Sprintf("no instance of %s was changed, none to switch back", List(only))
			}
			h.Step(ctx, st.DeploymentID, contract.StageRollback, StepSkipped, why+"; "+none, nil)
		}
		return out, nil
	}
	if to == "" {
		msg := fmt.Sprintf("%s; this was the first deployment of %s, so there is no previous release to return to: %s keep %s. Deploy a fixed release, or stop the app on them",
			why, st.Preflight.Environment, List(ids), from)
		h.Step(ctx, st.DeploymentID, contract.StageRollback, StepFailed, msg, nil)
		return out, &contract.RollbackFailed{Message: msg}
	}
	id, err := h.Fleet.Send(ctx, st.Preflight.Environment, fleet.Command{DeploymentID: st.DeploymentID, Action: "rollback", Version: to, InstanceIDs: ids,
		ConfigFingerprint: RollbackConfig(st), ConfigEnv: st.Preflight.Environment})
	if err != nil {
		return out, Classify(err, func(m string) error { return &contract.RollbackFailed{Message: "send rollback: " + m} })
	}
	h.Step(ctx, st.DeploymentID, contract.StageRollback, StepInfo, fmt.Sprintf("%s; switching %s back to %s", why, List(ids), to), map[string]any{"command_id": id})
	out.Status, out.CommandID, out.InstanceIDs, out.InstanceCount = contract.RollbackInProgress, id, ids, len(ids)
	return out, nil
}

func (h *Rollback) poll(ctx context.Context, st contract.State, commandID string, only []string) (contract.RollbackOutput, error) {
	from, to, ids, err := h.plan(ctx, st, only)
	if err != nil {
		return contract.RollbackOutput{}, &contract.TransientError{Message: err.Error()}
	}
	out := contract.RollbackOutput{Status: contract.RollbackInProgress, CommandID: commandID, FromVersion: from, ToVersion: to, InstanceIDs: ids, InstanceCount: len(ids)}
	// This wave's start output carries the totals of the waves before it.
	out.TotalCount, out.TotalSwitched = before(st, only)
	res, err := h.Fleet.Status(ctx, commandID)
	if err != nil {
		return out, Classify(err, func(m string) error { return &contract.RollbackFailed{Message: m} })
	}
	counts, failures, err := tally(ctx, h.Deps, st.DeploymentID, -1, "rollback", to, ids, res)
	if err != nil || counts.Status == contract.CommandInProgress {
		return out, err
	}
	if len(failures) > 0 {
		msg := fmt.Sprintf("rollback to %s failed on %d of %d instances: %s; they may still serve %s — look at them now", to, len(failures), len(ids), describe(failures), from)
		h.Step(ctx, st.DeploymentID, contract.StageRollback, StepFailed, msg, nil)
		return out, &contract.RollbackFailed{Message: msg}
	}
	var restarted []string
	for _, inv := range res.Invocations {
		if r, err := inv.Report(); err == nil {
			if r.Changed {
				out.Switched++
			} else if r.Restarted {
				restarted = append(restarted, inv.InstanceID)
			}
		}
	}
	msg := fmt.Sprintf("%s switched back to %s", Count(out.Switched, "instance"), to)
	if already := len(ids) - out.Switched; already > 0 {
		msg += fmt.Sprintf("; %d already on it", already)
		if len(restarted) > 0 {
			msg += fmt.Sprintf(" (restarted, not healthy: %s)", List(restarted))
		}
	}
	h.Step(ctx, st.DeploymentID, contract.StageRollback, StepOK, msg, nil)
	out.Status = contract.RollbackDone
	out.TotalCount += out.InstanceCount
	out.TotalSwitched += out.Switched
	return out, nil
}

// before returns what the waves of a rollback wave by wave before this one
// switched back, from the last rollback output in the state (the previous
// wave's, or this wave's start, which carries them); zero for a rollback
// all at once.
func before(st contract.State, only []string) (count, switched int) {
	if only == nil || st.Rollback == nil {
		return 0, 0
	}
	return st.Rollback.TotalCount, st.Rollback.TotalSwitched
}

// byWave says whether a rollback goes wave by wave behind the load
// balancer: the environment serves behind target groups, and a
// deployment's rollout has begun (a rollback execution walks the
// manifest's waves).
func byWave(st contract.State) bool {
	if st.Preflight == nil || !st.Preflight.Traffic || st.Preflight.WaveCount == 0 {
		return false
	}
	return st.Kind == contract.KindRollback || (st.Rollout != nil && st.Plan != nil && st.Plan.WaveCount > 0)
}
