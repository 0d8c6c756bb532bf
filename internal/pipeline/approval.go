package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/notify"
)

// Approval asks a person to approve a deployment. The state machine calls
// it with a task token and waits: it records the request (with the token,
// so `slipway approve` can resume the execution) and sends it to people.
// It returns at once; the decision arrives later, as SendTaskSuccess or
// SendTaskFailure on the token.
type Approval struct{ *Deps }

// Handle runs RequestApproval.
func (h *Approval) Handle(ctx context.Context, in contract.ApprovalInput) (struct{}, error) {
	if in.Token == "" {
		return struct{}{}, fmt.Errorf("approval of %s: no task token in the input (the state must use .waitForTaskToken)", in.DeploymentID)
	}
	summary := fmt.Sprintf("deploy %s to %s (replacing %s): %s, %s, started by %s", in.Version, in.Environment,
		orNone(in.PreviousVersion), Count(in.InstanceCount, "instance"), Count(len(in.Pending), "pending migration"), orUnknown(in.Trigger.Actor))
	a := ledger.Approval{App: in.App, Environment: in.Environment, DeploymentID: in.DeploymentID, ExecutionID: in.ExecutionID,
		Version: in.Version, Token: in.Token, Summary: summary, RequestedAt: h.Time()}
	if err := h.Ledger.PutApproval(ctx, a); err != nil {
		return struct{}{}, &contract.TransientError{Message: err.Error()}
	}
	h.Step(ctx, in.DeploymentID, contract.StageApproval, StepInfo, "waiting for approval: "+summary, nil)
	if h.Notifier != nil {
		body := strings.Join([]string{
			summary + ".",
			"",
			"Approve:  slipway approve " + in.DeploymentID + " --reason \"...\"",
			"Reject:   slipway reject " + in.DeploymentID + " --reason \"...\"",
			"Plan:     slipway plan --env " + in.Environment + " --version " + in.Version,
			"",
			"The environment is not locked while the deployment waits; it takes the lock once approved.",
		}, "\n")
		m := notify.Message{Subject: fmt.Sprintf("Approve %s of %s to %s?", in.Version, in.App, in.Environment), Body: body,
			Attributes: map[string]string{"kind": "approval", "app": in.App, "environment": in.Environment}}
		if err := h.Notifier.Notify(ctx, m); err != nil {
			// The request is in the ledger, where `slipway status` shows it.
			h.Logger().Error("approval request not sent", "deployment", in.DeploymentID, "err", err)
		}
	}
	return struct{}{}, nil
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
