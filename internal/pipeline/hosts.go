package pipeline

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// lastJSONLine is the host script's report line of an output.
func lastJSONLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "{") {
			return l
		}
	}
	return ""
}

// sendHostCheck asks every host which releases it keeps.
func (h *Deploy) sendHostCheck(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	id, err := h.Fleet.Send(ctx, in.Environment, fleet.Command{DeploymentID: in.DeploymentID, Action: fleet.ActionStatus, InstanceIDs: in.InstanceIDs})
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error { return Refuse("ask the hosts which releases they keep: %s", m) })
	}
	return contract.DeployOutput{CommandID: id, Status: contract.CommandInProgress, Total: len(in.InstanceIDs), Pending: len(in.InstanceIDs)}, nil
}

// checkHosts refuses the deployment, under the lease and before anything
// changes, when a host no longer keeps the release a rollback would return
// to. Each host's answer goes to the ledger (action "status"): what it was
// on before this deployment, which a rollback returns it from.
func (h *Deploy) checkHosts(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	res, err := h.Fleet.Status(ctx, in.CommandID)
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error { return Refuse("read the hosts' releases: %s", m) })
	}
	out := contract.DeployOutput{CommandID: in.CommandID, Status: contract.CommandInProgress, Total: len(in.InstanceIDs)}
	var missing, elsewhere []string
	var results []ledger.InstanceResult
	unreachable := statusReports(res, in.InstanceIDs, &out, func(id string, inv fleet.Invocation, rep fleet.Report) {
		results = append(results, ledger.InstanceResult{DeploymentID: in.DeploymentID, CommandID: in.CommandID, Wave: -1, InstanceID: id,
			Action: fleet.ActionStatus, Version: rep.Current, Status: inv.Status, ExitCode: inv.ExitCode, Output: lastJSONLine(inv.Output),
			StartedAt: inv.StartedAt, FinishedAt: inv.FinishedAt})
		if !slices.Contains(rep.Releases, in.Version) {
			missing = append(missing, id)
		}
		if rep.Current != in.Version {
			elsewhere = append(elsewhere, fmt.Sprintf("%s serves %q", id, rep.Current))
		}
	})
	if out.Pending > 0 {
		return out, nil
	}
	if err := h.Ledger.PutInstanceResults(ctx, results); err != nil {
		return out, &contract.TransientError{Message: err.Error()}
	}
	out.Status = contract.CommandSuccess
	sort.Strings(missing)
	switch {
	case len(unreachable) > 0:
		msg := fmt.Sprintf("hosts did not say which releases they keep: %s; bring them back or take them out of the target tags, then deploy again", List(unreachable))
		h.Step(ctx, in.DeploymentID, contract.StagePreflight, StepFailed, msg, contract.HostCheck{Kind: contract.DetailHostCheck, Release: in.Version, Missing: missing, Unreachable: unreachable})
		return out, Refuse("%s", msg)
	case len(missing) > 0:
		msg := fmt.Sprintf("release %s, which a rollback would return to, is no longer on %s (pruned, or new hosts): redeploy %s first to bring them up to date, or raise keep_releases, then deploy again",
			in.Version, List(missing), in.Version)
		h.Step(ctx, in.DeploymentID, contract.StagePreflight, StepFailed, msg, contract.HostCheck{Kind: contract.DetailHostCheck, Release: in.Version, Missing: missing})
		return out, Refuse("%s", msg)
	}
	msg := fmt.Sprintf("every host keeps %s, the rollback target", in.Version)
	if len(elsewhere) > 0 {
		msg += "; note: " + List(elsewhere)
	}
	h.Step(ctx, in.DeploymentID, contract.StagePreflight, StepOK, msg, contract.HostCheck{Kind: contract.DetailHostCheck, Release: in.Version})
	return out, nil
}

// maxDriftRounds bounds how many times the drift check adds a wave.
const maxDriftRounds = 3

// drift resolves the targets again after the last wave. Instances that
// joined during the deployment get the release in one more wave; one that
// cannot (its agent is not Online), or instances that keep joining, fail
// the run loudly. Nothing is left silently on the old version.
func (h *Deploy) drift(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	if in.Plan == nil {
		return contract.DeployOutput{}, fmt.Errorf("drift: no plan in the input")
	}
	plan := *in.Plan
	plan.DriftRounds++
	planned := map[string]bool{}
	for _, w := range plan.Waves {
		for _, id := range w {
			planned[id] = true
		}
	}
	now, err := h.Fleet.Instances(ctx, in.Environment, in.Tags)
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error { return &contract.DeployFailed{Message: "resolve the targets again: " + m} })
	}
	var joined, offline []string
	present := map[string]bool{}
	for _, i := range now {
		present[i.ID] = true
		if planned[i.ID] {
			continue
		}
		if !i.Online {
			offline = append(offline, i.ID)
			continue
		}
		joined = append(joined, i.ID)
	}
	var left []string
	for id := range planned {
		if !present[id] {
			left = append(left, id)
		}
	}
	sort.Strings(joined)
	sort.Strings(left)
	plan.Joined, plan.Left = append([]string{}, joined...), append([]string{}, left...)
	out := contract.DeployOutput{Status: contract.CommandSuccess, Plan: &plan}
	if len(left) > 0 {
		h.Step(ctx, in.DeploymentID, contract.StageDrift, StepInfo, fmt.Sprintf("instances left during the deployment: %s", List(left)), nil)
	}
	switch {
	case len(offline) > 0:
		msg := fmt.Sprintf("instances joined during the deployment but their agent is not Online, so they would stay on the old version: %s", List(offline))
		h.Step(ctx, in.DeploymentID, contract.StageDrift, StepFailed, msg, nil)
		return out, &contract.DeployFailed{Message: msg}
	case len(joined) > 0 && plan.DriftRounds > maxDriftRounds:
		msg := fmt.Sprintf("instances keep joining during the deployment (%d checks): %s; pause scaling and deploy again", maxDriftRounds, List(joined))
		h.Step(ctx, in.DeploymentID, contract.StageDrift, StepFailed, msg, nil)
		return out, &contract.DeployFailed{Message: msg}
	case len(joined) > 0:
		plan.Waves = append(plan.Waves, joined)
		plan.WaveCount = len(plan.Waves)
		h.Step(ctx, in.DeploymentID, contract.StageDrift, StepInfo, fmt.Sprintf("instances joined during the deployment: %s; they get %s in wave %d", List(joined), in.Version, plan.WaveCount), nil)
	default:
		h.Step(ctx, in.DeploymentID, contract.StageDrift, StepOK, fmt.Sprintf("targets resolved again: the same %d instances", len(planned)-len(left)), nil)
	}
	return out, nil
}

// statusReports walks the answers of a status command sent to ids: an
// instance whose answer is not in yet counts in out.Pending while the
// command runs; one that gave no answer, or a failed or unreadable one, is
// returned ("id (why)"); each other one is handed to each with its report,
// and counts in out.Succeeded.
func statusReports(res fleet.CommandResult, ids []string, out *contract.DeployOutput, each func(id string, inv fleet.Invocation, rep fleet.Report)) (silent []string) {
	byID := map[string]fleet.Invocation{}
	for _, inv := range res.Invocations {
		byID[inv.InstanceID] = inv
	}
	for _, id := range ids {
		inv, ok := byID[id]
		if !ok || !inv.Final() {
			if !fleet.Final(res.Status) {
				out.Pending++
				continue
			}
			silent = append(silent, id+" (no answer)")
			continue
		}
		rep, err := inv.Report()
		if inv.Status != fleet.StatusSuccess || err != nil {
			silent = append(silent, fmt.Sprintf("%s (%s)", id, inv.Status))
			continue
		}
		out.Succeeded++
		each(id, inv, rep)
	}
	return silent
}
