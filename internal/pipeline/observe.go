package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// ActionObserve is the action of the per-instance ledger results an
// observation writes.
const ActionObserve = "observe"

// Per-instance observation statuses, as the ledger keeps them.
const (
	ObservedHealthy     = "Healthy"
	ObservedUnhealthy   = "Unhealthy"
	ObservedUnreachable = "Unreachable"
)

// observe sends the host script's status action to every target instance
// that can take a command: ObserveFleet. Final statuses are decided from
// its answers, not from the path the execution took.
func (h *Deploy) observe(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	online, offline, err := h.targets(ctx, in.Environment, in.Tags)
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error { return &contract.DeployFailed{Message: "observe the fleet: " + m} })
	}
	out := contract.DeployOutput{Status: contract.CommandInProgress, Total: len(online) + len(offline), Unreachable: offline}
	if len(online) == 0 {
		out.Status = contract.CommandSuccess
		out.Fleet, _ = h.summarize(ctx, in.DeploymentID, fleet.CommandResult{}, nil, offline)
		h.noteObservation(ctx, in.DeploymentID, out.Fleet)
		return out, nil
	}
	id, err := h.Fleet.Send(ctx, in.Environment, fleet.Command{DeploymentID: in.DeploymentID, Action: fleet.ActionStatus, InstanceIDs: online})
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error { return &contract.DeployFailed{Message: "observe the fleet: " + m} })
	}
	out.CommandID, out.Pending = id, len(online)
	return out, nil
}

// observePoll reads the status command's answers: CheckObservation.
func (h *Deploy) observePoll(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	res, err := h.Fleet.Status(ctx, in.CommandID)
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error { return &contract.DeployFailed{Message: "observe the fleet: " + m} })
	}
	out := contract.DeployOutput{CommandID: in.CommandID, Status: contract.CommandInProgress, Total: len(res.Invocations) + len(in.Unreachable), Unreachable: in.Unreachable}
	if !fleet.Final(res.Status) {
		for _, inv := range res.Invocations {
			if !inv.Final() {
				out.Pending++
			}
		}
		return out, nil
	}
	out.Status = contract.CommandSuccess
	out.Fleet, _ = h.summarize(ctx, in.DeploymentID, res, nil, in.Unreachable)
	h.noteObservation(ctx, in.DeploymentID, out.Fleet)
	return out, nil
}

// noteObservation writes the observation's ledger step.
func (d *Deps) noteObservation(ctx context.Context, deploymentID string, obs *contract.FleetObservation) {
	status := StepOK
	if obs.Uniform == "" {
		status = StepInfo
	}
	d.Step(ctx, deploymentID, contract.StageObserve, status, strings.TrimSuffix(strings.TrimPrefix(FleetNote(obs), "Observed: "), "."), obs)
}

// targets resolves an environment's target instances: those that can take
// a command, and those that cannot (their agent is not Online).
func (d *Deps) targets(ctx context.Context, env string, tags map[string]string) (online, offline []string, err error) {
	insts, err := d.Fleet.Instances(ctx, env, tags)
	if err != nil {
		return nil, nil, err
	}
	for _, i := range insts {
		if i.Online {
			online = append(online, i.ID)
		} else {
			offline = append(offline, i.ID)
		}
	}
	return online, offline, nil
}

// ObserveFleet observes an environment's targets at once, waiting for the
// status command's answers up to SettleWait: for closing the record of an
// execution that ended without Record.
func (d *Deps) ObserveFleet(ctx context.Context, deploymentID, env string, tags map[string]string) (*contract.FleetObservation, error) {
	obs, _, err := d.observeFleet(ctx, deploymentID, env, tags)
	return obs, err
}

// observeFleet is ObserveFleet that also returns each instance's answer,
// as the ledger keeps it.
func (d *Deps) observeFleet(ctx context.Context, deploymentID, env string, tags map[string]string) (*contract.FleetObservation, []ledger.InstanceResult, error) {
	online, offline, err := d.targets(ctx, env, tags)
	if err != nil {
		return nil, nil, err
	}
	if len(online) == 0 {
		obs, results := d.summarize(ctx, deploymentID, fleet.CommandResult{}, nil, offline)
		return obs, results, nil
	}
	id, err := d.Fleet.Send(ctx, env, fleet.Command{DeploymentID: deploymentID, Action: fleet.ActionStatus, InstanceIDs: online})
	if err != nil {
		return nil, nil, err
	}
	res, err := d.await(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	obs, results := d.summarize(ctx, deploymentID, res, online, offline)
	d.noteObservation(ctx, deploymentID, obs)
	return obs, results, nil
}

// await polls a command until it is final or SettleWait has passed.
func (d *Deps) await(ctx context.Context, commandID string) (fleet.CommandResult, error) {
	deadline := d.waitUntil(ctx)
	for {
		res, err := d.Fleet.Status(ctx, commandID)
		if err != nil || fleet.Final(res.Status) || time.Now().After(deadline) {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// DefaultSettleWait bounds waiting for running host commands and an
// observation when a record is closed outside the state machine.
const DefaultSettleWait = 3 * time.Minute

func (d *Deps) settleWait() time.Duration {
	if d.SettleWait > 0 {
		return d.SettleWait
	}
	return DefaultSettleWait
}

// CloseReserve is the time closing a record keeps, before ctx's deadline
// (a Lambda's timeout), to record what it observed, notify and release
// the lease, however long its waits were allowed.
const CloseReserve = 20 * time.Second

// waitUntil is when a wait bounded by SettleWait ends: SettleWait from
// now, or sooner when ctx's deadline leaves less than CloseReserve after
// it. Closing a record waits several times in a row (each running
// command, the observation, the instances put back into service); with
// this, however many waits there are, the record is written before the
// function times out.
func (d *Deps) waitUntil(ctx context.Context) time.Time {
	until := time.Now().Add(d.settleWait())
	if dl, ok := ctx.Deadline(); ok && dl.Add(-CloseReserve).Before(until) {
		until = dl.Add(-CloseReserve)
	}
	return until
}

// summarize turns the status command's answers into an observation, and
// writes each instance's answer to the ledger (and returns them). ids,
// when set, are the instances the command was sent to (an instance the
// result does not list did not answer); offline ones could not take it.
func (d *Deps) summarize(ctx context.Context, deploymentID string, res fleet.CommandResult, ids, offline []string) (*contract.FleetObservation, []ledger.InstanceResult) {
	obs := &contract.FleetObservation{Versions: map[string]int{}, Configs: map[string]int{}, Problems: []string{}}
	byID := map[string]fleet.Invocation{}
	for _, inv := range res.Invocations {
		byID[inv.InstanceID] = inv
		if !slices.Contains(ids, inv.InstanceID) {
			ids = append(ids, inv.InstanceID)
		}
	}
	var problems, results = []string{}, []ledger.InstanceResult{}
	on := map[string][]string{}
	now := d.Time()
	add := func(id, current, status, note string, inv fleet.Invocation) {
		results = append(results, ledger.InstanceResult{DeploymentID: deploymentID, CommandID: res.CommandID, Wave: -1, InstanceID: id,
			Action: ActionObserve, Version: current, Status: status, ExitCode: inv.ExitCode, Output: note, StartedAt: inv.StartedAt, FinishedAt: now})
		if note != "" {
			problems = append(problems, id+": "+note)
		}
	}
	for _, id := range offline {
		obs.Total++
		obs.Unreachable++
		add(id, "", ObservedUnreachable, "not reachable through its agent (not Online)", fleet.Invocation{ExitCode: -1})
	}
	for _, id := range ids {
		obs.Total++
		inv, ok := byID[id]
		if !ok || !inv.Final() {
			obs.Unreachable++
			add(id, "", ObservedUnreachable, "did not answer", fleet.Invocation{ExitCode: -1})
			continue
		}
		rep, err := inv.Report()
		if inv.Status != fleet.StatusSuccess || err != nil {
			obs.Unreachable++
			add(id, "", ObservedUnreachable, fmt.Sprintf("did not answer (%s)", inv.Status), inv)
			continue
		}
		obs.Versions[rep.Current]++
		obs.Configs[rep.Config]++
		on[rep.Current] = append(on[rep.Current], id)
		switch {
		case rep.Current == "":
			add(id, "", ObservedUnhealthy, "serves no release", inv)
		case rep.Healthy && rep.Serving == rep.Current && !rep.Busy:
			obs.Healthy++
			add(id, rep.Current, ObservedHealthy, "", inv)
		case rep.Health != "":
			add(id, rep.Current, ObservedUnhealthy, fmt.Sprintf("on %s, not healthy: %s", rep.Current, rep.Health), inv)
		default:
			add(id, rep.Current, ObservedUnhealthy, fmt.Sprintf("on %s, answers %q", rep.Current, rep.Serving), inv)
		}
	}
	if err := d.Ledger.PutInstanceResults(ctx, results); err != nil {
		d.Logger().Error("observation not recorded", "deployment", deploymentID, "err", err)
	}
	if len(obs.Versions) == 1 && len(obs.Configs) == 1 && obs.Unreachable == 0 && obs.Healthy == obs.Total {
		for v := range obs.Versions {
			obs.Uniform = v
		}
		for c := range obs.Configs {
			obs.Config = c
		}
	}
	if len(obs.Configs) == 1 && obs.Configs[""] > 0 {
		obs.Configs = nil // no instance runs with a configuration: nothing to say
	}
	sort.Strings(problems)
	obs.Problems = problems
	if len(problems) > listShown {
		obs.Problems = problems[:listShown]
	}
	switch {
	case obs.Total == 0:
		obs.Problem = "no instance matches the target tags"
	case obs.Uniform == "":
		shown := strings.Join(obs.Problems, "; ")
		if len(problems) > listShown {
			shown += fmt.Sprintf("; and %d more", len(problems)-listShown)
		}
		where := versionCounts(obs)
		if len(on) > 1 {
			var parts []string
			for _, v := range slices.Sorted(maps.Keys(on)) {
				parts = append(parts, fmt.Sprintf("%s on %s", List(on[v]), cmp.Or(v, "no release")))
			}
			where = strings.Join(parts, "; ")
			if obs.Unreachable > 0 {
				where += fmt.Sprintf("; %d not reachable", obs.Unreachable)
			}
		}
		if len(obs.Configs) > 1 {
			where += "; configurations: " + configCounts(obs.Configs)
		}
		if shown != "" {
			where += " (" + shown + ")"
		}
		obs.Problem = "the fleet is not uniformly on one release, healthy: " + where
	}
	return obs, results
}

// configCounts says how many instances run with each configuration:
// "2 with hmac-sha256:ab…, 1 with none".
func configCounts(configs map[string]int) string {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(configs)) {
		parts = append(parts, fmt.Sprintf("%d with %s", configs[c], cmp.Or(c, "none")))
	}
	return strings.Join(parts, ", ")
}

// versionCounts says how many instances are on each release: "2 on v2, 1 on v3".
func versionCounts(obs *contract.FleetObservation) string {
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(obs.Versions)) {
		name := v
		if name == "" {
			name = "no release"
		}
		parts = append(parts, fmt.Sprintf("%d on %s", obs.Versions[v], name))
	}
	if obs.Unreachable > 0 {
		parts = append(parts, fmt.Sprintf("%d not reachable", obs.Unreachable))
	}
	return strings.Join(parts, ", ")
}

// FleetNote says in one sentence what the fleet was observed to be.
func FleetNote(obs *contract.FleetObservation) string {
	switch {
	case obs == nil:
		return "The fleet was not observed."
	case obs.Total == 0:
		return "No instance matches the target tags."
	case obs.Uniform != "":
		return fmt.Sprintf("Observed: %s %s %s, healthy.", Count(obs.Total, "instance"), serveVerb(obs.Total), obs.Uniform)
	}
	return "Observed: " + obs.Problem + "."
}

func serveVerb(n int) string {
	if n == 1 {
		return "serves"
	}
	return "serve"
}
