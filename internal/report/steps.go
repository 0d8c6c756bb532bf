package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// StageOfStep maps a ledger step's stage to the stage it belongs to in
// reports and progress: a wave's health check is part of the rollout, the
// rollback's verification and schema revert part of the rollback.
func StageOfStep(ledgerStage string) string {
	switch ledgerStage {
	case contract.StageHealth, contract.StageDrift:
		return contract.StageRollout
	case contract.StageVerifyRollback, contract.StageRevertSchema:
		return contract.StageRollback
	}
	return ledgerStage
}

// plannedSteps is section 3 of a plan: each stage and what it does.
func plannedSteps(kind string, p contract.PreflightOutput, migs Migrations) []Step {
	var steps []Step
	add := func(stage, format string, a ...any) {
		steps = append(steps, Step{Stage: stage, Description: fmt.Sprintf(format, a...), Status: StatusPlanned})
	}
	target := fmt.Sprintf("%s/%s", orPlaceholder(p.App, "<app>"), p.Environment)
	if kind == KindRollback {
		add("preflight", "check that the last deployment of %s succeeded and that %s is on every host", target, orPlaceholder(p.Version, "its previous release"))
		add("lock", "take the environment's lease (wait for another deployment's, never override a manual lock); under it, read again what serves and the release to return to")
		add("rollback", "switch every instance to %s (no download, no rebuild), verify %s answers with it, revert the rolled-back deployment's reversible migrations", p.Version, orPlaceholder(p.Health.Path, "the health check"))
		add("observe", "ask every instance what it is on, what it answers and whether it is healthy, and read the schema version: the status is decided from this")
		add("record", "write the outcome and this report to the ledger and send it to the notification topic")
		add("unlock", "release the lease")
		return steps
	}
	pre := "verify the release's sha256, resolve the targets from their tags, plan the waves, check and lint the pending migrations"
	if p.RequireOnHosts != "" {
		pre += fmt.Sprintf("; ask every host whether it still keeps %s, the rollback target", p.RequireOnHosts)
	}
	add("preflight", "%s", pre)
	if p.ApprovalRequired {
		add("approval", "wait for a person: `slipway approve <deployment>` (the request goes to the notification topic); nothing is locked while it waits")
	}
	ttl := "its TTL"
	if p.LockTTLSeconds > 0 {
		ttl = roundDuration(time.Duration(p.LockTTLSeconds) * time.Second)
	}
	add("lock", "take the lease on %s for %s (wait for another deployment's lease, never override a manual lock); under it, read again what serves, the release a rollback returns to and the schema version", target, ttl)
	switch {
	case !migs.Known:
		add("snapshot", "snapshot the database if migrations are pending (unknown here)")
		add("migrate", "apply the pending migrations, if any, once, under a migration lock")
	case len(migs.Pending) == 0:
		add("snapshot", "skipped: no pending migrations")
		add("migrate", "skipped: the schema is at %d", migs.Current)
	default:
		add("snapshot", "snapshot the database before the migrations")
		add("migrate", "apply %s (schema %d → %d) once, under a migration lock, with lock and statement timeouts", migrationList(migs.Pending), migs.Current, migs.Target)
	}
	var waves []string
	for i, w := range p.Waves {
		waves = append(waves, fmt.Sprintf("wave %d: %s", i+1, strings.Join(w, ", ")))
	}
	if len(waves) == 0 {
		waves = []string{"waves unknown"}
	}
	if p.Traffic {
		for i := range waves {
			waves[i] += fmt.Sprintf(" (drain from %s, then register)", strings.Join(p.TargetGroups, ", "))
		}
		before, after := "", ""
		if p.BeforeTraffic {
			before = "run its before_traffic hook, "
		}
		if p.AfterTraffic {
			after = ", run its after_traffic hook"
		}
		add("rollout", "activate %s wave by wave: take each wave out of its target groups and wait until it is drained, activate, probe every instance, %sput it back in the groups it was in and wait until the load balancer reports it healthy%s, then check the alarms: %s", orPlaceholder(p.Version, "the release"), before, after, strings.Join(waves, "; "))
	} else {
		add("rollout", "activate %s wave by wave, probe every instance and check the alarms after each: %s", orPlaceholder(p.Version, "the release"), strings.Join(waves, "; "))
	}
	if p.Bake.Seconds > 0 {
		add("bake", "watch %s for %s (every %s); one in ALARM rolls back", alarmNames(p.Alarms), roundSeconds(p.Bake.Seconds), roundSeconds(p.Bake.IntervalSeconds))
	} else {
		add("bake", "no bake window")
	}
	add("observe", "ask every instance what it is on, what it answers and whether it is healthy, and read the schema version: the deployment succeeds only if every instance is on %s and healthy, else it rolls back", orPlaceholder(p.Version, "the release"))
	add("record", "write the outcome and this report to the ledger and send it to the notification topic")
	add("unlock", "release the lease")
	return steps
}

// reportSteps is section 3 of a report: the planned stages with what the
// ledger says each did.
func reportSteps(kind string, p contract.PreflightOutput, migs Migrations, d ledger.Deployment, steps []ledger.Step, recording bool) []Step {
	planned := plannedSteps(kind, p, migs)
	byStage := map[string][]ledger.Step{}
	for _, st := range steps {
		byStage[StageOfStep(st.Stage)] = append(byStage[StageOfStep(st.Stage)], st)
	}
	seen := map[string]bool{}
	out := make([]Step, 0, len(planned)+1)
	for _, s := range planned {
		seen[s.Stage] = true
		out = append(out, withLedger(s, byStage[s.Stage], d))
	}
	// A deployment that failed also rolled back: that stage is not planned.
	if kind == KindDeploy && len(byStage["rollback"]) > 0 {
		rb := Step{Stage: "rollback", Description: "switch the instances this deployment moved back, verify them, revert reversible migrations"}
		rb = withLedger(rb, byStage["rollback"], d)
		at := len(out)
		for i, s := range out {
			if s.Stage == contract.StageRecord {
				at = i
				break
			}
		}
		out = slices.Insert(out, at, rb)
		seen["rollback"] = true
	}
	for _, st := range steps { // stages no plan names
		if s := StageOfStep(st.Stage); !seen[s] {
			seen[s] = true
			out = append(out, withLedger(Step{Stage: s, Description: s}, byStage[s], d))
		}
	}
	if recording { // the report is written in Record: what follows it is still to come
		after := false
		for i := range out {
			if after && len(out[i].Messages) == 0 {
				out[i].Status = StatusPlanned
			}
			after = after || out[i].Stage == contract.StageRecord
		}
	}
	return out
}

func withLedger(s Step, steps []ledger.Step, d ledger.Deployment) Step {
	s.Status = StatusNotRun
	if !d.Final() {
		s.Status = StatusPlanned
	}
	var ok, failed, skipped, info int
	last := ""
	for _, st := range steps {
		last = st.Status
		s.Messages = append(s.Messages, Message{At: st.At.UTC(), Status: st.Status, Message: st.Message})
		switch st.Status {
		case contract.StepOK:
			ok++
		case contract.StepFailed:
			failed++
		case contract.StepSkipped:
			skipped++
		default:
			info++
		}
	}
	stopped := d.Status == contract.StatusStopped || d.Status == contract.StatusAbandoned
	switch {
	case failed > 0:
		s.Status = StatusFailed
	case stopped && last != "" && last != "ok" && last != "skipped" && s.Stage != contract.StageObserve && s.Stage != contract.StageRecord:
		s.Status = StatusInterrupted
	case ok > 0:
		s.Status = StatusOK
	case skipped > 0:
		s.Status = StatusSkipped
	case info > 0 && !d.Final():
		s.Status = StatusWaiting
	case info > 0:
		s.Status = StatusOK
	}
	return s
}

// timingsFromSteps gives each stage the time from the end of the previous
// stage to its last step: the ledger's view of the stage timings.
func timingsFromSteps(d ledger.Deployment, steps []ledger.Step) []StageTiming {
	var out []StageTiming
	prevEnd := d.StartedAt
	for _, st := range steps {
		stage := StageOfStep(st.Stage)
		if n := len(out); n > 0 && out[n-1].Stage == stage {
			last := &out[n-1]
			last.Seconds = seconds(st.At.Sub(last.StartedAt))
			last.Status = mergeStatus(last.Status, st.Status)
			prevEnd = st.At
			continue
		}
		start := prevEnd
		if start.IsZero() || start.After(st.At) {
			start = st.At
		}
		out = append(out, StageTiming{Stage: stage, StartedAt: start.UTC(), Seconds: seconds(st.At.Sub(start)), Status: mergeStatus("", st.Status)})
		prevEnd = st.At
	}
	return out
}

func mergeStatus(a, b string) string {
	rank := map[string]int{"": 0, "info": 1, StatusSkipped: 2, StatusOK: 3, StatusFailed: 4}
	if b == "info" && a == "" {
		return StatusOK
	}
	if rank[b] > rank[a] {
		return b
	}
	return a
}
