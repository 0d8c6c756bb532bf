package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Error names of an execution that ended without reaching Record.
const (
	// StoppedError: a person stopped it (Ctrl-C, StopExecution).
	StoppedError = "Stopped"
	// TimedOutError: it ran past its TimeoutSeconds.
	TimedOutError = "States.Timeout"
	// AbandonedError: its owner is gone (a killed process; on AWS an
	// execution that failed outside a Catch).
	AbandonedError = "Abandoned"
)

// CloseUnfinished closes the record of deployment dep, whose execution
// ended without reaching Record (why says how), so that nothing stays
// RUNNING and locked without a word. It waits for the host commands the
// deployment left running (up to SettleWait), observes the fleet and, where
// it can, the schema, then records the status that observation supports:
// FAILED when nothing was changed, else STOPPED (a stop or a timeout) or
// ABANDONED (the owner is gone). It never rolls back: the record says what
// every instance serves and the command that brings the environment back
// to one release. Behind target groups, it puts back into service the
// instances the deployment took out and left out, where they are healthy
// on a release that served (reattach). Then it releases the deployment's lease. st is the
// execution's last state when it is known (the embedded engine's history),
// else nil.
func (d *Deps) CloseUnfinished(ctx context.Context, dep ledger.Deployment, why contract.StateError, st *contract.State) (contract.RecordOutput, error) {
	if st == nil {
		st = &contract.State{Kind: dep.Kind, DeploymentID: dep.ID, ExecutionID: dep.ExecutionID}
		req, _ := json.Marshal(map[string]any{"app": dep.App, "environment": dep.Environment, "version": dep.Version, "trigger": dep.Trigger})
		st.Request = req
	}
	if st.Kind == "" {
		st.Kind = contract.KindDeploy
	}
	if st.Preflight == nil && dep.Environment != "" {
		st.Preflight = &contract.PreflightOutput{App: dep.App, Environment: dep.Environment, Version: dep.Version, PreviousVersion: dep.PreviousVersion,
			Migrations: contract.MigrationPlan{Current: dep.SchemaBefore}, Tags: d.recordedTags(ctx, dep)}
	}
	if notes := d.settle(ctx, dep.ID); len(notes) > 0 {
		why.Cause += "; " + joinNotes(notes)
	}
	st.Observation = &contract.Observation{}
	if p := st.Preflight; p != nil {
		obs, answers, err := d.observeFleet(ctx, dep.ID, p.Environment, p.Tags)
		if err != nil {
			st.ObserveError = &contract.StateError{Error: "ObservationFailed", Cause: err.Error()}
		}
		st.Observation.Fleet = obs
		if d.ObserveSchema != nil {
			s := d.ObserveSchema(ctx, d, p.Environment)
			st.Observation.Schema = &s
		}
		// What it took out of the load balancer and left out goes back in
		// where it is healthy on a release that served.
		if note := d.reattach(ctx, dep, answers); note != "" {
			why.Cause += "; " + note
		}
	}
	st.Stopped = &why
	out, err := (&Record{Deps: d}).Handle(ctx, *st)
	if err != nil {
		return out, err
	}
	if _, err := (&Lock{Deps: d}).release(ctx, contract.LockInput{Action: contract.LockRelease, Owner: dep.ExecutionID, DeploymentID: dep.ID}); err != nil {
		return out, err
	}
	if err := d.Ledger.AddEvent(ctx, ledger.Event{App: out.App, Environment: out.Environment, At: d.Time(), Source: "closer", Kind: "closed",
		Message: fmt.Sprintf("deployment %s closed %s: %s", dep.ID, out.Status, why.Cause), DeploymentID: dep.ID}); err != nil {
		d.Logger().Error("event not recorded", "deployment", dep.ID, "err", err)
	}
	return out, nil
}

// settle waits for the deployment's host commands that had not finished
// (up to SettleWait) and records how they ended. It returns notes on those
// that did not finish.
func (d *Deps) settle(ctx context.Context, deploymentID string) []string {
	results, err := d.Ledger.InstanceResults(ctx, deploymentID)
	if err != nil {
		return []string{"its instance results could not be read: " + err.Error()}
	}
	byCommand := map[string][]ledger.InstanceResult{}
	var order []string
	for _, r := range results {
		if fleet.Final(r.Status) || r.CommandID == "" || r.Action == ActionObserve {
			continue
		}
		if _, ok := byCommand[r.CommandID]; !ok {
			order = append(order, r.CommandID)
		}
		byCommand[r.CommandID] = append(byCommand[r.CommandID], r)
	}
	var notes []string
	for _, id := range order {
		rs := byCommand[id]
		res, err := d.await(ctx, id)
		if err != nil {
			notes = append(notes, fmt.Sprintf("command %s could not be read: %v", id, err))
			continue
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.InstanceID)
		}
		if _, _, err := tally(ctx, d, deploymentID, rs[0].Wave, rs[0].Action, rs[0].Version, ids, res); err != nil {
			notes = append(notes, fmt.Sprintf("the results of command %s were not recorded: %v", id, err))
		}
		if !fleet.Final(res.Status) {
			var running []string
			for _, inv := range res.Invocations {
				if !inv.Final() && slices.Contains(ids, inv.InstanceID) {
					running = append(running, inv.InstanceID)
				}
			}
			notes = append(notes, fmt.Sprintf("its %s on %s had not finished after %s", rs[0].Action, List(running), d.settleWait()))
		}
	}
	return notes
}

func joinNotes(notes []string) string {
	s := ""
	for i, n := range notes {
		if i > 0 {
			s += "; "
		}
		s += n
	}
	return s
}

// recordedTags returns the target tags Preflight recorded for a deployment,
// or the environment's configured ones.
func (d *Deps) recordedTags(ctx context.Context, dep ledger.Deployment) map[string]string {
	if e, err := d.Config.Env(dep.Environment); err == nil && len(e.Tags) > 0 {
		return e.Tags
	}
	steps, err := d.Ledger.Steps(ctx, dep.ID)
	if err != nil {
		return nil
	}
	for _, st := range steps {
		if st.Stage != contract.StagePreflight {
			continue
		}
		if detail, ok := contract.ParsePreflightDetail(st.Detail); ok && len(detail.Tags) > 0 {
			return detail.Tags
		}
	}
	return nil
}
