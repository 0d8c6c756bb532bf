package pipeline

import (
	"context"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/report"
)

// stepReader is the ledger's step list, which Record reads for the report
// when the store has it (both stores do).
type stepReader interface {
	Steps(ctx context.Context, deploymentID string) ([]ledger.Step, error)
}

// reportInputs are what Record reads for the report before it writes the
// outcome: the steps so far, the per-instance results, and, where Record
// can read release bundles (the embedded environment; not the record
// Lambda, which has no access to the artifact bucket), the manifest and
// the size of the change.
type reportInputs struct {
	steps      []ledger.Step
	results    []ledger.InstanceResult
	in         report.DeploymentInput
	unreadable []string
}

func (h *Record) reportInputs(ctx context.Context, st contract.State) reportInputs {
	var ri reportInputs
	if sr, ok := h.Ledger.(stepReader); ok {
		steps, err := sr.Steps(ctx, st.DeploymentID)
		if err != nil {
			ri.unreadable = append(ri.unreadable, "the ledger's steps could not be read: "+err.Error())
		}
		ri.steps = steps
	}
	results, err := h.Ledger.InstanceResults(ctx, st.DeploymentID)
	if err != nil {
		ri.unreadable = append(ri.unreadable, "the per-instance results could not be read: "+err.Error())
	}
	ri.results = results
	p := st.Preflight
	if p == nil {
		return ri
	}
	ri.in.Restore = h.restoreFor(st)
	if e, err := h.Config.Env(p.Environment); err == nil {
		ri.in.Production = e.Production
	}
	if h.Artifacts == nil || p.Artifact.URI == "" {
		ri.in.ChangeNote = "not compared: the record function does not read release bundles (`slipway plan` compares them)"
		return ri
	}
	b, err := h.OpenBundle(ctx, p.Artifact)
	if err != nil {
		ri.in.ChangeNote = "not compared: the release could not be opened: " + err.Error()
		return ri
	}
	ri.in.Manifest = b.Manifest
	switch {
	case st.Kind == contract.KindRollback, p.PreviousVersion == "":
	case p.PreviousVersion == p.Version:
		ri.in.Change = &report.Change{Previous: p.PreviousVersion}
	default:
		ri.in.Change, ri.in.ChangeNote = compareReleases(ctx, h.Deps, p.App, p.PreviousVersion, b)
	}
	return ri
}

// build makes the report of deployment d, which Record is finishing with
// out. It is a pure function of its inputs, so UpdateDeployment may call
// it more than once.
func (ri reportInputs) build(st contract.State, d ledger.Deployment, out contract.RecordOutput, now time.Time) *report.Report {
	in := ri.in
	in.Deployment, in.Results, in.Now, in.Recording = d, ri.results, now, true
	state := st
	in.State = &state
	status := StepOK
	if out.Status != contract.StatusSucceeded && !(st.Kind == contract.KindRollback && out.Status == contract.StatusRolledBack) {
		status = StepFailed
	}
	// The record step Record writes next, so the report shows it.
	in.Steps = append(append([]ledger.Step(nil), ri.steps...),
		ledger.Step{DeploymentID: d.ID, Stage: "record", Status: status, Message: out.Status + ": " + out.Summary, At: now})
	r := report.NewDeployment(in)
	r.Notes = append(r.Notes, ri.unreadable...)
	return r
}

// maxNotification bounds the report text sent to the notification topic
// (SNS takes 256 KB).
const maxNotification = 200 << 10

// notification is the report's text for the notification topic.
func notification(r *report.Report, deploymentID string) string {
	text := r.String()
	if len(text) > maxNotification {
		cut := strings.LastIndex(text[:maxNotification], "\n")
		text = text[:max(cut, 0)] + "\n… (cut short: the whole report is in the ledger)\n"
	}
	return text + "\nFull report: slipway show " + deploymentID
}

// restoreFor is the exact restore procedure of the deployment's snapshot
// when the schema was not put back: a migration kept as not reversible, or
// no revert at all after migrations ran. "" otherwise.
func (h *Record) restoreFor(st contract.State) string {
	if st.SchemaRevert != nil && st.SchemaRevert.Restore != "" {
		return st.SchemaRevert.Restore
	}
	if st.Snapshot == nil || st.Snapshot.SnapshotID == "" || st.Migration == nil || len(st.Migration.Applied) == 0 {
		return ""
	}
	if st.Error == nil && st.RollbackError == nil {
		return "" // it succeeded: the new schema is the one wanted
	}
	if st.SchemaRevert != nil && len(st.SchemaRevert.Kept) == 0 && len(st.SchemaRevert.Reverted) > 0 {
		return "" // reverted by its down migrations
	}
	return h.restoreProcedureFor(st.Preflight.Environment, st.Snapshot.SnapshotID)
}

// restoreProcedureFor asks the environment's snapshotter, where Record has
// one, for the exact procedure.
func (h *Record) restoreProcedureFor(env, snapshotID string) string {
	generic := "restore the database from snapshot " + snapshotID + " (every write made after it was taken is lost)"
	if h.Snapshots == nil || h.Config == nil {
		return generic
	}
	e, err := h.Config.Env(env)
	if err != nil {
		return generic
	}
	s, err := h.Snapshots(env, e)
	if err != nil {
		return generic
	}
	return strings.TrimSpace(s.RestoreProcedure(snapshotID))
}
