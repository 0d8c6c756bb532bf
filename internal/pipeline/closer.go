package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// ExecutionStatusChange is the EventBridge event Step Functions sends when
// an execution changes status ("Step Functions Execution Status Change",
// source aws.states). Only the fields the closer reads are named.
type ExecutionStatusChange struct {
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Detail     struct {
		ExecutionArn    string `json:"executionArn"`
		StateMachineArn string `json:"stateMachineArn"`
		Name            string `json:"name"`
		Status          string `json:"status"`
		Error           string `json:"error"`
		Cause           string `json:"cause"`
	} `json:"detail"`
}

// CloserResult says what the closer did with an event.
type CloserResult struct {
	DeploymentID string `json:"deployment_id"`
	// Action is "closed"; "checked" when the execution ended without
	// Record but its record needed nothing (already final, or none); or
	// "ignored" (another state machine, a status that needs no closing),
	// with Reason.
	Action string `json:"action"`
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Closer closes the record of an execution that ended without reaching
// Record: it timed out (TIMED_OUT), a person stopped it (ABORTED), or it
// failed outside a Catch (FAILED while its record is still RUNNING). It
// waits for the host commands the execution left running, observes the
// fleet, records STOPPED, ABANDONED or FAILED from that observation, and
// releases the lease, so that `slipway status` never shows a dead
// execution as RUNNING and the alarm router is never blocked by one. It
// runs from the execution-status-change rule of both state machines.
type Closer struct {
	*Deps
	// Machines are the ARNs of the deploy and rollback state machines;
	// events of other state machines are ignored.
	Machines []string
}

// Handle closes the execution's record when it is still RUNNING.
func (h *Closer) Handle(ctx context.Context, ev ExecutionStatusChange) (CloserResult, error) {
	d := ev.Detail
	out := CloserResult{DeploymentID: d.Name, Action: "ignored"}
	if ev.Source != "aws.states" || d.Name == "" {
		out.Reason = fmt.Sprintf("not a Step Functions execution status change (source %q)", ev.Source)
		return out, nil
	}
	if len(h.Machines) > 0 && !slices.Contains(h.Machines, d.StateMachineArn) {
		out.Reason = "not an execution of Slipway's state machines (" + d.StateMachineArn + ")"
		return out, nil
	}
	var why contract.StateError
	switch d.Status {
	case "ABORTED":
		why = contract.StateError{Error: StoppedError, Cause: "stopped by a person (StopExecution)"}
	case "TIMED_OUT":
		why = contract.StateError{Error: TimedOutError, Cause: "the execution timed out"}
	case "FAILED":
		why = contract.StateError{Error: AbandonedError, Cause: "the execution failed outside a Catch"}
		if d.Error != "" {
			why.Cause += fmt.Sprintf(" (%s: %s)", d.Error, lambdaMessage(d.Cause))
		}
	default:
		out.Reason = "status " + d.Status + " needs no closing"
		return out, nil
	}
	out.Action = "checked"
	dep, err := h.Ledger.GetDeployment(ctx, d.Name)
	if errors.Is(err, ledger.ErrNotFound) {
		out.Reason = "no record: the execution ended before Preflight opened one"
		return out, nil
	}
	if err != nil {
		return out, &contract.TransientError{Message: err.Error()}
	}
	if dep.Final() {
		out.Reason = "its record is already final (" + dep.Status + ")"
		return out, nil
	}
	if dep.ExecutionID != "" && d.ExecutionArn != "" && !strings.EqualFold(dep.ExecutionID, d.ExecutionArn) {
		out.Reason = "the record belongs to another execution (" + dep.ExecutionID + ")"
		return out, nil
	}
	rec, err := h.CloseUnfinished(ctx, dep, why, nil)
	if err != nil {
		return out, err
	}
	out.Action, out.Status = "closed", rec.Status
	return out, nil
}

// ParseExecutionStatusChange reads an event, strictly enough to say what
// is wrong with a malformed one.
func ParseExecutionStatusChange(raw []byte) (ExecutionStatusChange, error) {
	var ev ExecutionStatusChange
	if err := json.Unmarshal(raw, &ev); err != nil {
		return ev, fmt.Errorf("execution status change: %w", err)
	}
	if ev.Detail.Name == "" || ev.Detail.Status == "" {
		return ev, errors.New("execution status change: detail.name and detail.status are required")
	}
	return ev, nil
}
