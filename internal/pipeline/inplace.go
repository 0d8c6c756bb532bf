package pipeline

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// Traffic in place: before a wave is deployed its instances are taken out
// of every target group that holds them (detach) and drained; after it is
// deployed and probed directly, they are put back in the same groups
// (attach), and the wave is done only once the balancer itself reports
// them healthy.

// DrainMargin is added to the largest deregistration delay of the groups
// a wave leaves before an instance still draining is an error.
const DrainMargin = 30 * time.Second

// DefaultInServiceWait bounds how long a wave put back waits for the
// balancer's health checks when Deps.InServiceWait is zero.
const DefaultInServiceWait = 10 * time.Minute

func (h *Deploy) trafficPort() (traffic.Port, error) {
	if h.Traffic == nil {
		return nil, fmt.Errorf("deploy: the environment names target groups but no load balancer is configured (Deps.Traffic)")
	}
	return h.Traffic, nil
}

func trafficErr(wave int, what string, err error) error {
	return Classify(err, func(m string) error {
		return &contract.DeployFailed{Message: fmt.Sprintf("wave %d: %s: %s", wave+1, what, m)}
	})
}

// detach deregisters the wave's instances from every target group of the
// environment that holds them, and remembers which.
func (h *Deploy) detach(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	port, err := h.trafficPort()
	if err != nil {
		return contract.DeployOutput{}, err
	}
	env, err := h.Config.Env(in.Environment)
	if err != nil {
		return contract.DeployOutput{}, &contract.DeployFailed{Message: err.Error()}
	}
	wave := map[string]bool{}
	for _, id := range in.InstanceIDs {
		wave[id] = true
	}
	st := &contract.TrafficState{Groups: map[string][]string{}}
	var delay time.Duration
	var parts []string
	out := map[string][]traffic.Target{}
	for _, g := range env.TargetGroups {
		ts, err := port.Targets(ctx, g)
		if err != nil {
			return contract.DeployOutput{}, trafficErr(in.Wave, "read target group "+g, err)
		}
		var ids []string
		var targets []traffic.Target
		for _, t := range ts {
			if !wave[t.ID] {
				continue
			}
			// A target of the wave already draining is most likely this
			// action's own work, retried after a later call failed: it is
			// recorded, so that attach puts it back, and not deregistered
			// twice.
			ids = append(ids, t.ID)
			if t.State != traffic.StateDraining {
				targets = append(targets, t.Target)
			}
		}
		// What the rollout's own detach recorded for this wave (a rollback
		// wave by wave hands it on): a target it took out stays recorded,
		// so that attach puts it back, even once it is gone from the group.
		if in.Traffic != nil {
			for _, id := range in.Traffic.Groups[g] {
				if wave[id] && !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		// What closing an earlier unfinished deployment left out of the
		// group: recorded as the group's, so that attach puts it back once
		// it is healthy on this release.
		for _, id := range in.PutBack[g] {
			if wave[id] && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			continue
		}
		d, err := port.DeregistrationDelay(ctx, g)
		if err != nil {
			return contract.DeployOutput{}, trafficErr(in.Wave, "read the deregistration delay of "+g, err)
		}
		delay = max(delay, d)
		out[g] = targets
		sort.Strings(ids)
		st.Groups[g] = ids
		parts = append(parts, fmt.Sprintf("%s from %s", List(ids), g))
	}
	st.Deadline = h.Time().Add(delay + DrainMargin).UTC().Format(time.RFC3339)
	st.Done = len(st.Groups) == 0
	msg := fmt.Sprintf("wave %d: draining %s (up to %s)", in.Wave+1, strings.Join(parts, "; "), delay)
	if st.Done {
		msg = fmt.Sprintf("wave %d: no instance of it is registered in a target group (%s): nothing to drain, and it is not put in after", in.Wave+1, strings.Join(env.TargetGroups, ", "))
	}
	// The step is written before any target leaves its group: should this
	// process die from here on, whoever closes its record reads in it what
	// to put back, and only that (never a standby).
	h.Step(ctx, in.DeploymentID, contract.StageRollout, StepInfo, msg, DetachRecord{Wave: in.Wave, Detached: st.Groups})
	for _, g := range env.TargetGroups {
		if len(out[g]) == 0 {
			continue
		}
		if err := port.Deregister(ctx, g, out[g]); err != nil {
			return contract.DeployOutput{}, trafficErr(in.Wave, "deregister from "+g, err)
		}
	}
	return contract.DeployOutput{Wave: in.Wave, Status: contract.CommandInProgress, Total: len(in.InstanceIDs), Traffic: st}, nil
}

// DetachRecord is the ledger detail of a wave's detach step, written
// before any of its targets is deregistered: the target groups each
// instance of the wave was registered in. Closing the record of a
// deployment whose owner died reads it to put back into service what the
// dead one took out (CloseUnfinished).
type DetachRecord struct {
	Wave     int                 `json:"wave"`
	Detached map[string][]string `json:"detached"`
}

// drained is done when none of the wave's instances is draining any more.
func (h *Deploy) drained(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	return h.waitTraffic(ctx, in, "drained", func(state string) bool { return state != traffic.StateDraining }, true)
}

// attach registers the wave's instances again in the groups they were in.
func (h *Deploy) attach(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	port, err := h.trafficPort()
	if err != nil {
		return contract.DeployOutput{}, err
	}
	st := trafficState(in)
	var parts []string
	for _, g := range sortedGroups(st.Groups) {
		ids := st.Groups[g]
		targets := make([]traffic.Target, 0, len(ids))
		for _, id := range ids {
			targets = append(targets, traffic.Target{ID: id})
		}
		if err := port.Register(ctx, g, targets); err != nil {
			return contract.DeployOutput{}, trafficErr(in.Wave, "register in "+g, err)
		}
		parts = append(parts, fmt.Sprintf("%s in %s", List(ids), g))
	}
	wait := h.InServiceWait
	if wait <= 0 {
		wait = DefaultInServiceWait
	}
	out := &contract.TrafficState{Groups: st.Groups, Deadline: h.Time().Add(wait).UTC().Format(time.RFC3339), Done: len(st.Groups) == 0}
	if !out.Done {
		h.Step(ctx, in.DeploymentID, contract.StageRollout, StepInfo, fmt.Sprintf("wave %d: registering %s", in.Wave+1, strings.Join(parts, "; ")), nil)
	}
	return contract.DeployOutput{Wave: in.Wave, Status: contract.CommandInProgress, Total: len(in.InstanceIDs), Traffic: out}, nil
}

// inService is done when the balancer reports every instance put back
// healthy in every group it was put in.
func (h *Deploy) inService(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	return h.waitTraffic(ctx, in, "in-service", func(state string) bool { return state == traffic.StateHealthy }, false)
}

// waitTraffic polls the groups until every instance of the wave is in a
// state ok accepts (gone counts as ok when goneOK), paced by TrafficPace,
// and fails once the deadline has passed.
func (h *Deploy) waitTraffic(ctx context.Context, in contract.DeployInput, what string, ok func(string) bool, goneOK bool) (contract.DeployOutput, error) {
	port, err := h.trafficPort()
	if err != nil {
		return contract.DeployOutput{}, err
	}
	st := trafficState(in)
	deadline, err := time.Parse(time.RFC3339, st.Deadline)
	if err != nil {
		return contract.DeployOutput{}, fmt.Errorf("deploy %s: bad traffic deadline %q in the input (DetachWave or AttachWave sets it)", what, st.Deadline)
	}
	pace := time.Now().Add(h.TrafficPace)
	for {
		var waiting, why []string
		for _, g := range sortedGroups(st.Groups) {
			ts, err := port.Targets(ctx, g)
			if err != nil {
				return contract.DeployOutput{}, trafficErr(in.Wave, "read target group "+g, err)
			}
			state := map[string]traffic.TargetHealth{}
			for _, t := range ts {
				state[t.ID] = t
			}
			for _, id := range st.Groups[g] {
				t, found := state[id]
				if (!found && goneOK) || (found && ok(t.State)) {
					continue
				}
				s := "not registered"
				if found {
					s = t.State
					if t.Reason != "" {
						s += " (" + t.Reason + ")"
					}
				}
				if !slices.Contains(waiting, id) {
					waiting = append(waiting, id)
				}
				why = append(why, fmt.Sprintf("%s in %s: %s", id, g, s))
			}
		}
		out := contract.DeployOutput{Wave: in.Wave, Status: contract.CommandInProgress, Total: len(in.InstanceIDs),
			Traffic: &contract.TrafficState{Groups: st.Groups, Deadline: st.Deadline, Done: len(waiting) == 0, Waiting: waiting}}
		if len(waiting) == 0 {
			out.Status = contract.CommandSuccess
			if what == "in-service" && len(st.Groups) > 0 {
				h.Step(ctx, in.DeploymentID, contract.StageRollout, StepOK, fmt.Sprintf("wave %d: the load balancer reports %s healthy", in.Wave+1, List(allIDs(st.Groups))), nil)
			}
			return out, nil
		}
		if !h.Time().Before(deadline) {
			var msg string
			if what == "drained" {
				msg = fmt.Sprintf("wave %d: still draining at the deadline (the largest deregistration delay plus %s): %s; find what holds its connections open, or lower the group's deregistration delay, then deploy again",
					in.Wave+1, DrainMargin, strings.Join(why, "; "))
			} else {
				msg = fmt.Sprintf("wave %d: the load balancer did not report it healthy in time: %s; the release passed its own health check on the instance, so check the target group's health check (path, port, matcher) against it",
					in.Wave+1, strings.Join(why, "; "))
			}
			h.Step(ctx, in.DeploymentID, contract.StageRollout, StepFailed, msg, nil)
			if what == "drained" {
				return out, &contract.DeployFailed{Message: msg}
			}
			return out, &contract.HealthCheckFailed{Message: msg}
		}
		left := time.Until(pace)
		if left <= 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(min(left, 250*time.Millisecond)):
		}
	}
}

// capacityFloor refuses a wave plan that would leave fewer than
// min_healthy of a group's registered targets in service while a wave is
// out of it. It reads the live target states: a target already unhealthy
// counts against the floor.
func capacityFloor(ctx context.Context, d *Deps, groups []string, waves [][]string, minHealthy manifest.Capacity, putBack ...map[string][]string) error {
	for _, g := range groups {
		// Instances an earlier deployment's close left out of g come back
		// into it with their wave (PreflightOutput.PutBack): they serve
		// while the later waves are out.
		back := map[string]bool{}
		for _, pb := range putBack {
			for _, id := range pb[g] {
				back[id] = true
			}
		}
		returned := func(before int) int {
			n := 0
			for _, w := range waves[:before] {
				for _, id := range w {
					if back[id] {
						n++
					}
				}
			}
			return n
		}
		ts, err := d.Traffic.Targets(ctx, g)
		if err != nil {
			return Classify(err, func(m string) error { return Refuse("read target group %s for the capacity floor: %s", g, m) })
		}
		healthy := map[string]bool{}
		total := 0
		for _, t := range ts {
			if t.State == traffic.StateDraining {
				continue
			}
			total++
			if t.State == traffic.StateHealthy {
				healthy[t.ID] = true
			}
		}
		for id := range back {
			if !healthy[id] {
				total++
			}
		}
		if total == 0 {
			continue
		}
		need := minHealthy.Min(total)
		// The largest floor this plan keeps: what serves while the wave
		// that takes the most out is out.
		keeps := len(healthy) + len(back)
		for i, w := range waves {
			out := 0
			for _, id := range w {
				if healthy[id] {
					out++
				}
			}
			if out > 0 {
				keeps = min(keeps, len(healthy)-out+returned(i))
			}
		}
		for i, w := range waves {
			out := 0
			for _, id := range w {
				if healthy[id] {
					out++
				}
			}
			serving := len(healthy) - out + returned(i)
			// A wave that takes no healthy target out lowers nothing: the
			// first deployment behind a new load balancer, where nothing
			// serves yet, goes ahead.
			if out == 0 || serving >= need {
				continue
			}
			unhealthy := ""
			if n := total - len(healthy); n > 0 {
				unhealthy = fmt.Sprintf(" (%s already not healthy)", Count(n, "target"))
			}
			fix := fmt.Sprintf("to deploy with this plan, set `rollout.min_healthy: %d` (or \"%d%%\") in %s: the most it keeps in service is %d of %d while a wave is out", keeps, keeps*100/total, manifest.FileName, keeps, total)
			if keeps == 0 {
				fix = fmt.Sprintf("a wave would take every healthy target out: add instances, or accept that nothing serves while it is out with `rollout.min_healthy: 0` in %s", manifest.FileName)
			}
			return Refuse("wave %d of %d takes %s out of target group %s, which would leave %d of its %d targets in service%s: fewer than rollout.min_healthy %s (%d); %s; or split the rollout into smaller waves (rollout.waves), or bring the unhealthy targets back",
				i+1, len(waves), Count(out, "healthy target"), g, serving, total, unhealthy, minHealthy, need, fix)
		}
	}
	return nil
}

func trafficState(in contract.DeployInput) contract.TrafficState {
	if in.Traffic == nil {
		return contract.TrafficState{}
	}
	return *in.Traffic
}

func sortedGroups(m map[string][]string) []string {
	gs := make([]string, 0, len(m))
	for g := range m {
		gs = append(gs, g)
	}
	sort.Strings(gs)
	return gs
}

func allIDs(m map[string][]string) []string {
	var ids []string
	for _, g := range sortedGroups(m) {
		for _, id := range m[g] {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	sort.Strings(ids)
	return ids
}
