package pipeline

import (
	"context"
	"fmt"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/snapshot"
)

// Snapshot snapshots the database before any migration runs. The state
// machine polls Status with a Wait state; no Lambda waits out a snapshot.
type Snapshot struct{ *Deps }

// Handle runs Snapshot ("create") and CheckSnapshot ("status").
func (h *Snapshot) Handle(ctx context.Context, in contract.SnapshotInput) (contract.SnapshotOutput, error) {
	if in.Action == "create" && len(in.Pending) == 0 {
		h.step(ctx, in.DeploymentID, "snapshot", stepSkipped, "no pending migrations: no snapshot needed", nil)
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
	case "create":
		status, err = s.Create(ctx, id)
	case "status":
		status, err = s.Status(ctx, id)
	default:
		return contract.SnapshotOutput{}, fmt.Errorf("snapshot: unknown action %q (create or status)", in.Action)
	}
	if err != nil {
		h.step(ctx, in.DeploymentID, "snapshot", stepFailed, err.Error(), nil)
		return contract.SnapshotOutput{}, classify(err, func(m string) error { return &contract.SnapshotFailed{Message: m} })
	}
	if in.Action == "create" {
		if _, err := h.Ledger.UpdateDeployment(ctx, in.DeploymentID, func(d *ledger.Deployment) error {
			d.SnapshotID = id
			return nil
		}); err != nil {
			return contract.SnapshotOutput{}, &contract.TransientError{Message: err.Error()}
		}
	}
	if status == snapshot.Available {
		h.step(ctx, in.DeploymentID, "snapshot", stepOK, "snapshot "+id+" is available", map[string]string{"snapshot_id": id})
		return contract.SnapshotOutput{SnapshotID: id, Status: contract.SnapshotAvailable}, nil
	}
	return contract.SnapshotOutput{SnapshotID: id, Status: contract.SnapshotCreating}, nil
}
