package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/snapshot"
)

// Snapshot snapshots the database before any migration runs. The state
// machine polls Status with a Wait state; no Lambda waits out a snapshot.
type Snapshot struct{ *Deps }

// Handle runs Snapshot ("create") and CheckSnapshot ("status").
func (h *Snapshot) Handle(ctx context.Context, in contract.SnapshotInput) (contract.SnapshotOutput, error) {
	if in.Action == contract.SnapshotCreate && len(in.Pending) == 0 {
		h.Step(ctx, in.DeploymentID, contract.StageSnapshot, StepSkipped, "no pending migrations: no snapshot needed", nil)
		return contract.SnapshotOutput{Status: contract.SnapshotSkipped, Reason: "no pending migrations"}, nil
	}
	envCfg, err := h.Config.Env(in.Environment)
	if err != nil {
		return contract.SnapshotOutput{}, &contract.SnapshotFailed{Message: err.Error()}
	}
	s, err := h.Snapshots(in.Environment, envCfg)
	if err != nil {
		return contract.SnapshotOutput{}, &contract.SnapshotFailed{Message: err.Error()}
	}
	id := in.SnapshotID
	if id == "" {
		id = snapshot.ID(in.App, in.Environment, in.DeploymentID)
	}
	var status string
	switch in.Action {
	case contract.SnapshotCreate:
		status, err = s.Create(ctx, id)
	case contract.SnapshotStatus:
		status, err = s.Status(ctx, id)
	default:
		return contract.SnapshotOutput{}, fmt.Errorf("snapshot: unknown action %q (create or status)", in.Action)
	}
	if err != nil {
		h.Step(ctx, in.DeploymentID, contract.StageSnapshot, StepFailed, err.Error(), nil)
		return contract.SnapshotOutput{}, Classify(err, func(m string) error { return &contract.SnapshotFailed{Message: m} })
	}
	if in.Action == contract.SnapshotCreate {
		if _, err := h.Ledger.UpdateDeployment(ctx, in.DeploymentID, func(d *ledger.Deployment) error {
			d.SnapshotID = id
			return nil
		}); err != nil {
			return contract.SnapshotOutput{}, &contract.TransientError{Message: err.Error()}
		}
	}
	if status == snapshot.Available {
		h.Step(ctx, in.DeploymentID, contract.StageSnapshot, StepOK, "snapshot "+id+" is available", map[string]string{"snapshot_id": id})
		h.prune(ctx, s, in, id)
		return contract.SnapshotOutput{SnapshotID: id, Status: contract.SnapshotAvailable}, nil
	}
	return contract.SnapshotOutput{SnapshotID: id, Status: contract.SnapshotCreating}, nil
}

// snapshotPruner is a Snapshotter that deletes Slipway's older snapshots.
type snapshotPruner interface {
	Prune(ctx context.Context, prefix, current string, keep int) ([]string, error)
}

// prune keeps the manifest's keep_snapshots newest snapshots of the
// environment, the new one among them, once the new one is available. A
// failure is noted, not fatal: the deployment is safe either way.
func (h *Snapshot) prune(ctx context.Context, s Snapshotter, in contract.SnapshotInput, current string) {
	p, ok := s.(snapshotPruner)
	if !ok {
		return
	}
	keep := h.keepSnapshots(ctx, in.DeploymentID)
	prefix := snapshot.ID(in.App, in.Environment, "") + "-"
	deleted, err := p.Prune(ctx, prefix, current, keep)
	switch {
	case err != nil:
		h.Step(ctx, in.DeploymentID, contract.StageSnapshot, StepInfo, fmt.Sprintf("old snapshots not pruned (keeping %d): %v", keep, err), nil)
	case len(deleted) > 0:
		h.Step(ctx, in.DeploymentID, contract.StageSnapshot, StepInfo, fmt.Sprintf("deleted %d old snapshot(s), keeping the newest %d: %s", len(deleted), keep, strings.Join(deleted, ", ")),
			map[string]any{"deleted": deleted})
	}
}

// keepSnapshots reads migrations.keep_snapshots from the release's
// manifest, or falls back to the default where the release cannot be read
// here (a Lambda without artifact access).
func (h *Snapshot) keepSnapshots(ctx context.Context, deploymentID string) int {
	const def = 5
	if h.Artifacts == nil {
		return def
	}
	d, err := h.Ledger.GetDeployment(ctx, deploymentID)
	if err != nil {
		return def
	}
	a, err := h.Artifacts.Stat(ctx, d.App, d.Version)
	if err != nil {
		return def
	}
	b, err := h.OpenBundle(ctx, a)
	if err != nil || b.Manifest.Migrations.KeepSnapshots < 1 {
		return def
	}
	return b.Manifest.Migrations.KeepSnapshots
}
