package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
)

// sendHook runs a traffic hook (before_traffic or after_traffic) of
// in.Version on in.InstanceIDs: the host script's hook action, which runs
// it in the release directory with the release's environment and timeout,
// on hosts where that release is current. Each instance's output goes to
// the command log (ledger action = the hook's name).
func (h *Deploy) sendHook(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	if !fleet.TrafficHook(in.Hook) {
		return contract.DeployOutput{}, fmt.Errorf("deploy hook: %q is not a traffic hook (before_traffic or after_traffic)", in.Hook)
	}
	where := hookWhere(in)
	if len(in.InstanceIDs) == 0 {
		return contract.DeployOutput{}, &contract.DeployFailed{Message: fmt.Sprintf("%s: no instances to run hook %s on", where, in.Hook)}
	}
	id, err := h.Fleet.Send(ctx, in.Environment, fleet.Command{
		DeploymentID: in.DeploymentID, Action: fleet.ActionHook, Hook: in.Hook, Version: in.Version, InstanceIDs: in.InstanceIDs,
	})
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error {
			return &contract.DeployFailed{Message: fmt.Sprintf("%s: send hook %s: %s", where, in.Hook, m)}
		})
	}
	ctx = context.WithoutCancel(ctx)
	if err := h.recordSent(ctx, in, id, in.Hook); err != nil {
		return contract.DeployOutput{}, err
	}
	h.Step(ctx, in.DeploymentID, stageOf(in), StepInfo, fmt.Sprintf("%s: running hook %s of %s on %s", where, in.Hook, in.Version, List(in.InstanceIDs)), map[string]any{"command_id": id})
	return contract.DeployOutput{CommandID: id, Wave: in.Wave, Status: contract.CommandInProgress, Total: len(in.InstanceIDs), Pending: len(in.InstanceIDs), Unreachable: []string{}}, nil
}

// pollHook follows a traffic hook's command. Any instance where the hook
// did not succeed fails it with DeployFailed, naming the hook and what it
// said (the whole output is in the command log: slipway logs --hook).
func (h *Deploy) pollHook(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	res, err := h.Fleet.Status(ctx, in.CommandID)
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error { return &contract.DeployFailed{Message: m} })
	}
	out, failures, err := tally(ctx, h.Deps, in.DeploymentID, in.Wave, in.Hook, in.Version, in.InstanceIDs, res)
	out.Unreachable = []string{}
	if err != nil || out.Status == contract.CommandInProgress {
		return out, err
	}
	where := hookWhere(in)
	if len(failures) == 0 {
		h.Step(ctx, in.DeploymentID, stageOf(in), StepOK, fmt.Sprintf("%s: hook %s of %s passed on %s", where, in.Hook, in.Version, Count(out.Succeeded, "instance")), nil)
		return out, nil
	}
	msg := fmt.Sprintf("%s: hook %s of %s failed on %d of %d instances: %s", where, in.Hook, in.Version, len(failures), out.Total, describe(failures))
	h.Step(ctx, in.DeploymentID, stageOf(in), StepFailed, msg, nil)
	return out, &contract.DeployFailed{Message: msg}
}

// hookWhere names where a traffic hook runs, for the ledger.
func hookWhere(in contract.DeployInput) string {
	switch {
	case in.Where == "rollback":
		return fmt.Sprintf("rollback of wave %d", in.Wave+1)
	case in.Where != "":
		return in.Where
	}
	return fmt.Sprintf("wave %d", in.Wave+1)
}

// stageOf is the stage a traffic hook counts towards: the rollback's
// when it runs on a rollback wave or after a blue/green switch back (Where
// starts "rollback").
func stageOf(in contract.DeployInput) string {
	if strings.HasPrefix(in.Where, "rollback") {
		return contract.StageRollback
	}
	return contract.StageRollout
}
