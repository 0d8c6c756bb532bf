package pipeline

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
)

// Health is the health gate: it probes a wave's instances for the expected
// version, then checks the alarms; and in the bake window it watches the
// alarms until the window has passed. It never sleeps: the state machine
// waits between calls.
type Health struct {
	*Deps
	// Port is the health check port used where an instance's address has
	// none (EC2 instances, by private IP).
	Port int
	// Smoker runs the manifest's smoke checks (a health.Prober on a
	// client without a timeout of its own when nil: each check has one).
	Smoker Smoker
}

// Handle runs ProbeWave and VerifyRollback ("probe") and CheckAlarms ("alarms").
func (h *Health) Handle(ctx context.Context, in contract.HealthInput) (contract.HealthOutput, error) {
	switch in.Action {
	case contract.HealthProbe:
		return h.probe(ctx, in)
	case contract.HealthAlarms:
		return h.alarms(ctx, in)
	case contract.HealthSmoke:
		return h.smokeBalancer(ctx, in)
	case contract.HealthCanary:
		return h.canary(ctx, in)
	case contract.HealthSmokeInstances:
		return h.smokeInstances(ctx, in)
	}
	return contract.HealthOutput{}, fmt.Errorf("health: unknown action %q (probe, alarms, smoke, smoke-instances or canary)", in.Action)
}

func (h *Health) probe(ctx context.Context, in contract.HealthInput) (contract.HealthOutput, error) {
	stage := contract.StageHealth
	if in.Wave < 0 {
		stage = contract.StageVerifyRollback
	}
	out := contract.HealthOutput{Wave: in.Wave, Status: contract.ProbePending}
	if in.Previous != nil && in.Previous.Wave == in.Wave {
		out.Attempt, out.Consecutive = in.Previous.Attempt, in.Previous.Consecutive
	}
	out.Attempt++
	// The gate covers every instance the rollout has moved so far: one that
	// stops answering after its own wave passed fails this wave's gate.
	ids, earlier := slices.Clone(in.InstanceIDs), map[string]int{}
	if in.Wave > 0 && len(in.Waves) > in.Wave {
		for w := 0; w < in.Wave; w++ {
			for _, id := range in.Waves[w] {
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
					earlier[id] = w + 1
				}
			}
		}
	}
	instances, err := h.Fleet.Lookup(ctx, in.Environment, ids)
	if err != nil {
		return out, Classify(err, func(m string) error { return &contract.HealthCheckFailed{Message: m} })
	}
	results := h.probeAll(ctx, instances, in)
	var problems []string
	for _, r := range results {
		if !r.Healthy {
			who := r.InstanceID
			if w, ok := earlier[r.InstanceID]; ok {
				who += fmt.Sprintf(" (moved in wave %d, healthy then)", w)
			}
			problems = append(problems, who+" "+r.Problem)
		}
	}
	if len(instances) != len(ids) {
		problems = append(problems, fmt.Sprintf("%d of %d instances could not be found", len(ids)-len(instances), len(ids)))
	}
	if len(problems) > 0 {
		out.Consecutive = 0
		if out.Attempt >= max(in.Health.MaxAttempts, 1) {
			sort.Strings(problems)
			shown := strings.Join(problems, "; ")
			if len(problems) > listShown+1 {
				shown = fmt.Sprintf("%s; and %d more", strings.Join(problems[:listShown], "; "), len(problems)-listShown)
			}
			msg := fmt.Sprintf("wave %d: %s not healthy on %s after %d probes: %s", in.Wave+1, in.ExpectedVersion, Count(len(problems), "instance"), out.Attempt, shown)
			if in.Wave < 0 {
				msg = fmt.Sprintf("after rollback: %s not healthy on %s after %d probes: %s", in.ExpectedVersion, Count(len(problems), "instance"), out.Attempt, shown)
			}
			h.Step(ctx, in.DeploymentID, stage, StepFailed, msg, results)
			return out, &contract.HealthCheckFailed{Message: msg}
		}
		return out, nil
	}
	out.Consecutive++
	if out.Consecutive < max(in.Health.Successes, 1) {
		return out, nil
	}
	if err := h.checkAlarms(ctx, in.DeploymentID, stage, in.Alarms); err != nil {
		return out, err
	}
	what := fmt.Sprintf("wave %d", in.Wave+1)
	if in.Wave < 0 {
		what = "rolled back instances"
	}
	h.Step(ctx, in.DeploymentID, stage, StepOK, fmt.Sprintf("%s: %s %s %s, %d healthy answers in a row", what, Count(len(instances), "instance"), serveVerb(len(instances)), in.ExpectedVersion, out.Consecutive), results)
	// The smoke checks run once the wave is healthy, on the wave's own
	// instances (the earlier waves' passed theirs), once: a failure is
	// the release's answer, not a process still starting.
	if in.Wave >= 0 && len(in.Health.Smoke) > 0 {
		addrs := map[string]string{}
		for _, inst := range instances {
			addrs[inst.ID] = inst.Address
		}
		results, failed := h.smokeAll(ctx, in.Health, h.instanceTargets(addrs, in.InstanceIDs))
		if len(failed) > 0 {
			return out, h.smokeFailure(ctx, in.DeploymentID, stage, what, results, failed)
		}
		h.Step(ctx, in.DeploymentID, stage, StepOK, fmt.Sprintf("%s: %s passed on %s", what, Count(len(in.Health.Smoke), "smoke check"), Count(len(in.InstanceIDs), "instance")), smokeDetail(what, results))
	}
	out.Status = contract.ProbeHealthy
	return out, nil
}

// probeConcurrency bounds the probes in flight: a wave of hundreds of
// instances is probed in about the time of its slowest few, not their sum.
const probeConcurrency = 32

// probeAll probes every instance, concurrently, and returns the results
// in the instances' order.
func (h *Health) probeAll(ctx context.Context, instances []fleet.Instance, in contract.HealthInput) []health.Result {
	results := make([]health.Result, len(instances))
	sem := make(chan struct{}, probeConcurrency)
	var wg sync.WaitGroup
	for i, inst := range instances {
		addr := inst.Address
		if _, _, err := net.SplitHostPort(addr); err != nil && h.Port > 0 {
			addr = net.JoinHostPort(addr, strconv.Itoa(h.Port))
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = h.Prober.Probe(ctx, inst.ID, addr, in.Health.Path, in.Health.ExpectStatus, in.ExpectedVersion)
		}()
	}
	wg.Wait()
	return results
}

// checkAlarms fails with AlarmFired when any alarm is in ALARM.
func (h *Health) checkAlarms(ctx context.Context, deploymentID, stage string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	states, err := h.Alarms.States(ctx, names)
	if err != nil {
		return Classify(err, func(m string) error {
			return &contract.AlarmFired{Message: "alarms could not be read, so the deployment cannot be called safe: " + m}
		})
	}
	firing := health.Firing(states)
	if len(firing) == 0 {
		return nil
	}
	var parts, names2 []string
	detail := contract.AlarmsFiring{Kind: contract.DetailAlarms}
	for _, a := range firing {
		names2 = append(names2, a.Name)
		detail.Alarms = append(detail.Alarms, contract.FiringAlarm{Name: a.Name, Reason: a.Reason})
		p := a.Name
		if a.Reason != "" {
			p += " (" + a.Reason + ")"
		}
		parts = append(parts, p)
	}
	msg := "alarm in ALARM: " + strings.Join(parts, "; ")
	h.Step(ctx, deploymentID, stage, StepFailed, msg, detail)
	return &contract.AlarmFired{Message: msg, Alarms: names2}
}

func (h *Health) alarms(ctx context.Context, in contract.HealthInput) (contract.HealthOutput, error) {
	start, err1 := time.Parse(time.RFC3339Nano, in.StartedAt)
	now, err2 := time.Parse(time.RFC3339Nano, in.Now)
	if err1 != nil || err2 != nil {
		return contract.HealthOutput{}, fmt.Errorf("bake: started_at %q and now %q must be RFC 3339 times", in.StartedAt, in.Now)
	}
	elapsed := int(now.Sub(start).Seconds())
	out := contract.HealthOutput{Wave: -1, Status: contract.ProbeHealthy, ElapsedSeconds: elapsed}
	if err := h.checkAlarms(ctx, in.DeploymentID, "bake", in.Alarms); err != nil {
		return out, err
	}
	if elapsed >= in.DurationSeconds {
		out.Done = true
		h.Step(ctx, in.DeploymentID, contract.StageBake, StepOK, fmt.Sprintf("baked %ds watching %s: none fired", elapsed, Count(len(in.Alarms), "alarm")), nil)
	}
	return out, nil
}
