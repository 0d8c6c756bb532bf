package pipeline

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Deploy activates a release on one wave of instances through the fleet
// (SSM Run Command on AWS) and polls the result. A wave succeeds only when
// every instance reports Success: there is no error budget.
type Deploy struct{ *Deps }

// Handle runs DeployWave ("send") and CheckWave ("poll").
func (h *Deploy) Handle(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	switch in.Action {
	case contract.DeploySend:
		return h.send(ctx, in)
	case contract.DeployPoll:
		return h.poll(ctx, in)
	case contract.DeployHosts:
		return h.sendHostCheck(ctx, in)
	case contract.DeployHostsPoll:
		return h.checkHosts(ctx, in)
	case contract.DeployResources:
		return h.sendResourceCheck(ctx, in)
	case contract.DeployResourcesPoll:
		return h.checkResources(ctx, in)
	case contract.DeployDrift:
		return h.drift(ctx, in)
	case contract.DeployObserve:
		return h.observe(ctx, in)
	case contract.DeployObservePoll:
		return h.observePoll(ctx, in)
	case contract.DeployDetach:
		return h.detach(ctx, in)
	case contract.DeployDrained:
		return h.drained(ctx, in)
	case contract.DeployAttach:
		return h.attach(ctx, in)
	case contract.DeployInService:
		return h.inService(ctx, in)
	case contract.DeployHook:
		return h.sendHook(ctx, in)
	case contract.DeployHookPoll:
		return h.pollHook(ctx, in)
	case contract.DeployBlueGreenPlan, contract.DeployBlueGreenAwait, contract.DeployBlueGreenShift, contract.DeployBlueGreenSwitchBack:
		return h.blueGreen(ctx, in)
	}
	return contract.DeployOutput{}, fmt.Errorf("deploy: unknown action %q (send, poll, hosts, hosts-poll, resources, resources-poll, drift, observe, observe-poll, detach, drained, attach, in-service, hook or hook-poll)", in.Action)
}

func (h *Deploy) send(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	if len(in.InstanceIDs) == 0 {
		return contract.DeployOutput{}, &contract.DeployFailed{Message: fmt.Sprintf("wave %d has no instances", in.Wave+1)}
	}
	id, err := h.Fleet.Send(ctx, in.Environment, fleet.Command{
		DeploymentID: in.DeploymentID, Action: "activate", Version: in.Version,
		ArtifactURI: in.Artifact.URI, SHA256: in.Artifact.SHA256, InstanceIDs: in.InstanceIDs,
		ConfigFingerprint: in.Artifact.Config, ConfigEnv: in.Environment,
	})
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error {
			return &contract.DeployFailed{Message: fmt.Sprintf("send wave %d: %s", in.Wave+1, m)}
		})
	}
	ctx = context.WithoutCancel(ctx)
	if err := h.recordSent(ctx, in, id, fleet.ActionActivate); err != nil {
		return contract.DeployOutput{}, err
	}
	h.Step(ctx, in.DeploymentID, contract.StageRollout, StepInfo, fmt.Sprintf("wave %d: activating %s on %s", in.Wave+1, in.Version, List(in.InstanceIDs)), map[string]any{"command_id": id})
	return contract.DeployOutput{CommandID: id, Wave: in.Wave, Status: contract.CommandInProgress, Total: len(in.InstanceIDs), Pending: len(in.InstanceIDs)}, nil
}

// recordSent writes each instance's pending result of command id, sent
// to in.InstanceIDs for action. The command is out: ctx should not be
// cancelled by a stop, so that whoever closes the record knows what moved.
func (h *Deploy) recordSent(ctx context.Context, in contract.DeployInput, id, action string) error {
	pending := make([]ledger.InstanceResult, 0, len(in.InstanceIDs))
	for _, i := range in.InstanceIDs {
		pending = append(pending, ledger.InstanceResult{DeploymentID: in.DeploymentID, CommandID: id, Wave: in.Wave, InstanceID: i,
			Action: action, Version: in.Version, Status: fleet.StatusPending, ExitCode: -1, StartedAt: h.Time()})
	}
	if err := h.Ledger.PutInstanceResults(ctx, pending); err != nil {
		return &contract.TransientError{Message: err.Error()}
	}
	return nil
}

func (h *Deploy) poll(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	res, err := h.Fleet.Status(ctx, in.CommandID)
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error { return &contract.DeployFailed{Message: m} })
	}
	out, failures, err := tally(ctx, h.Deps, in.DeploymentID, in.Wave, "activate", in.Version, in.InstanceIDs, res)
	if err != nil || out.Status == contract.CommandInProgress {
		return out, err
	}
	if len(failures) == 0 {
		h.Step(ctx, in.DeploymentID, contract.StageRollout, StepOK, fmt.Sprintf("wave %d: %s active on %d/%d instances", in.Wave+1, in.Version, out.Succeeded, out.Total), nil)
		return out, nil
	}
	msg := fmt.Sprintf("wave %d: %s failed on %d of %d instances: %s", in.Wave+1, in.Version, len(failures), out.Total, describe(failures))
	h.Step(ctx, in.DeploymentID, contract.StageRollout, StepFailed, msg, nil)
	for _, f := range failures {
		if f.ExitCode == fleet.ExitHealth {
			return out, &contract.HealthCheckFailed{Message: msg}
		}
	}
	return out, &contract.DeployFailed{Message: msg}
}

// tally records a command's per-instance results in the ledger and counts
// them. Every status other than Success is a failure. An instance the fleet
// does not report on counts as pending until the command is final, then as
// a failure.
func tally(ctx context.Context, d *Deps, deploymentID string, wave int, action, version string, ids []string, res fleet.CommandResult) (contract.DeployOutput, []fleet.Invocation, error) {
	out := contract.DeployOutput{CommandID: res.CommandID, Wave: wave, Total: len(ids), Status: contract.CommandInProgress}
	byID := map[string]fleet.Invocation{}
	for _, inv := range res.Invocations {
		byID[inv.InstanceID] = inv
	}
	final := fleet.Final(res.Status)
	var failures []fleet.Invocation
	var results []ledger.InstanceResult
	for _, id := range ids {
		inv, ok := byID[id]
		if !ok {
			if final {
				inv = fleet.Invocation{InstanceID: id, Status: "Undeliverable", ExitCode: -1, Output: "the command never reached this instance"}
			} else {
				out.Pending++
				continue
			}
		}
		switch {
		case inv.Status == "Success":
			out.Succeeded++
		case fleet.Final(inv.Status):
			out.Failed++
			failures = append(failures, inv)
		default:
			out.Pending++
		}
		results = append(results, ledger.InstanceResult{DeploymentID: deploymentID, CommandID: res.CommandID, Wave: wave, InstanceID: id,
			Action: action, Version: version, Status: inv.Status, ExitCode: inv.ExitCode, Output: inv.Output,
			StartedAt: inv.StartedAt, FinishedAt: inv.FinishedAt})
	}
	if err := d.Ledger.PutInstanceResults(ctx, results); err != nil {
		return out, nil, &contract.TransientError{Message: err.Error()}
	}
	if out.Pending == 0 {
		out.Status = contract.CommandSuccess
		if out.Failed > 0 {
			out.Status = "Failed"
		}
	}
	return out, failures, nil
}

// describe says what went wrong on each failed instance, briefly.
func describe(fs []fleet.Invocation) string {
	sort.Slice(fs, func(i, j int) bool { return fs[i].InstanceID < fs[j].InstanceID })
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		why := f.Status
		switch f.ExitCode {
		case fleet.ExitChecksum:
			why = "artifact checksum mismatch"
		case fleet.ExitUnpack:
			why = "could not unpack the release"
		case fleet.ExitRestart:
			why = "restart failed"
		case fleet.ExitHealth:
			why = "failed its local health check"
		case fleet.ExitMissingTarget:
			why = "release not on the host"
		case fleet.ExitHook:
			why = "a lifecycle hook failed"
		}
		if line := strings.TrimPrefix(lastLine(f.Output), "health check failed: "); line != "" {
			why += " (" + line + ")"
		}
		parts = append(parts, f.InstanceID+": "+why)
	}
	if len(parts) > listShown+1 {
		return fmt.Sprintf("%s; and %d more (every result is in the ledger: slipway logs)", strings.Join(parts[:listShown], "; "), len(parts)-listShown)
	}
	return strings.Join(parts, "; ")
}

// hostLogPrefix is how the host script starts its log lines:
// "15:04:05 slipway-host.sh: " and, for errors, "error: ".
var hostLogPrefix = regexp.MustCompile(`^\d\d:\d\d:\d\d slipway-host\.sh: (error: )?`)

// lastLine returns the last non-JSON, non-empty line of a command's output,
// without the host script's log prefix.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := hostLogPrefix.ReplaceAllString(strings.TrimSpace(lines[i]), "")
		if l != "" && !strings.HasPrefix(l, "{") {
			if len(l) > 300 {
				l = l[:300] + "…"
			}
			return l
		}
	}
	return ""
}
