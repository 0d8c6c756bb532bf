package report

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

func checklist(p contract.PreflightOutput, alarms []Alarm) Checklist {
	c := Checklist{
		Probe: Probe{Path: p.Health.Path, ExpectStatus: p.Health.ExpectStatus, ExpectVersion: p.Version, Successes: p.Health.Successes,
			IntervalSeconds: p.Health.IntervalSeconds, MaxAttempts: p.Health.MaxAttempts},
		Alarms: nonNil(alarms), BakeSeconds: p.Bake.Seconds, BakeIntervalSeconds: p.Bake.IntervalSeconds, WatchSeconds: p.WatchSeconds,
	}
	add := func(format string, a ...any) {
		c.Checks = append(c.Checks, Check{What: fmt.Sprintf(format, a...), Status: StatusPlanned})
	}
	if p.Health.Path != "" {
		add("every instance of each wave: GET %s answers %d with version %s, %d times in a row (every %s, at most %d probes)",
			p.Health.Path, p.Health.ExpectStatus, p.Version, p.Health.Successes, roundSeconds(p.Health.IntervalSeconds), p.Health.MaxAttempts)
	} else {
		add("every instance of each wave answers its health check with version %s", orPlaceholder(p.Version, "the release"))
	}
	states := ""
	for _, a := range alarms {
		if a.State != "" {
			states += fmt.Sprintf("; %s is %s now", a.Name, a.State)
		}
	}
	if len(alarms) > 0 {
		add("after each wave: %s not in ALARM%s", alarmNames(names(alarms)), states)
		if p.Bake.Seconds > 0 {
			stay := "stay"
			if len(alarms) == 1 {
				stay = "stays"
			}
			add("bake: %s %s out of ALARM for %s", alarmNames(names(alarms)), stay, roundSeconds(p.Bake.Seconds))
		}
		if p.WatchSeconds > 0 {
			add("watch: for %s after success, an alarm rolls the deployment back", roundSeconds(p.WatchSeconds))
		}
	} else {
		add("alarms: none are watched; only the health check gates the waves (add alarms to the manifest)")
	}
	validationChecks(p, add)
	return c
}

// validationChecks adds the checks beyond the health check and the alarms,
// exactly as they will run: the hosts' resources before the lock, the
// hooks on each instance, the smoke checks.
func validationChecks(p contract.PreflightOutput, add func(format string, a ...any)) {
	if f := p.HostFloor; f != nil {
		what := fmt.Sprintf("%s every host has at least %s free on its release volume (%s)", checkHosts, kib(f.DiskKB), f.Need)
		if f.Inodes > 0 {
			what += fmt.Sprintf(", %d inodes free (host.min_inodes)", f.Inodes)
		}
		if f.MemoryKB > 0 {
			what += fmt.Sprintf(", %s of memory available (host.min_memory)", kib(f.MemoryKB))
		}
		add("%s", what)
	}
	for _, h := range p.Hooks {
		when, ok := map[string]string{
			"before_activate": "on each instance, once unpacked, before the switch (a failure switches nothing)",
			"after_activate":  "on each instance, once switched and healthy",
			"validate":        "on each instance, after after_activate",
		}[h.Name]
		rollback := fmt.Sprintf("; a rollback runs %s's own hooks instead", orPlaceholder(p.PreviousVersion, "the previous release"))
		if !ok {
			when, rollback = trafficHookWhen(p, h.Name)
		}
		add("%s%s %s: `%s` in the release directory exits 0 within %s%s",
			checkHook, h.Name, when, h.Run, roundSeconds(h.TimeoutSeconds), rollback)
	}
	where := "on each wave's instances once healthy"
	if p.BlueGreen != nil {
		where = "on each instance of the idle side once the balancer reports it healthy, before any weight moves to it"
	}
	switch {
	case p.SmokeEndpoint != "" && p.BlueGreen != nil:
		where += ", and through the load balancer " + p.SmokeEndpoint + " after the last shift step"
	case p.SmokeEndpoint != "":
		where += ", and through the load balancer " + p.SmokeEndpoint + " after the last wave"
	}
	for _, sc := range p.Health.Smoke {
		req := sc.Method + " " + sc.Path
		if len(sc.Headers) > 0 {
			req += " with " + strings.Join(slices.Sorted(maps.Keys(sc.Headers)), ", ")
		}
		if sc.Body != "" {
			req += fmt.Sprintf(" and a %d-byte body", len(sc.Body))
		}
		add("%s%q: %s expects %s, %s; a failure rolls back", checkSmoke, sc.Name, req, health.Expectation(sc), where)
	}
	canaryCheck(p, add)
}

// trafficHookWhen says where before_traffic or after_traffic runs (where
// traffic is switched, or nowhere without a load balancer) and what a
// rollback runs instead.
func trafficHookWhen(p contract.PreflightOutput, name string) (when, rollback string) {
	before := name == manifest.HookBeforeTraffic
	prev := orPlaceholder(p.PreviousVersion, "the previous release")
	switch {
	case p.BlueGreen != nil && before:
		return "on each instance of the idle side, once the balancer reports it healthy and its smoke checks pass, before any weight moves to it (a failure switches back: no traffic moved)",
			"; a switch back runs no before_traffic: the side it returns to never stopped serving"
	case p.BlueGreen != nil:
		return "on each instance of the new side, once the last shift step gave it all the traffic (a failure switches back)",
			fmt.Sprintf("; a switch back after weight moved runs %s's own after_traffic on the side back in service", prev)
	case p.Traffic && before:
		return "on each wave's instances, once healthy, before the load balancer registers them again (a failure rolls back, the wave never back in service)",
			fmt.Sprintf("; a rollback wave runs %s's own before_traffic instead", prev)
	case p.Traffic:
		return "on each wave's instances, once the load balancer has them in service (a failure rolls back)",
			fmt.Sprintf("; a rollback wave runs %s's own after_traffic instead", prev)
	}
	return "does not run: " + orPlaceholder(p.Environment, "the environment") + " has no load balancer, so no traffic is switched (as CodeDeploy's traffic hooks)", ""
}

// Prefixes of the validation checks, by which their results are found.
const (
	checkHosts = "before the lock:"
	checkHook  = "hook "
	checkSmoke = "smoke "
)

// kib writes a figure in KiB as a size.
func kib(v int64) string { return manifest.Size(v * 1024).String() }

// checkResults fills in the checklist's results from the ledger.
func checkResults(checks []Check, steps []ledger.Step, d ledger.Deployment) []Check {
	out := slices.Clone(checks)
	for i := range out {
		out[i].Status = StatusNotRun
		if !d.Final() {
			out[i].Status = StatusPlanned
		}
	}
	if len(out) == 0 {
		return out
	}
	// The probe line: every wave's health step.
	var okN, failN int
	var failMsg, alarmFail, bakeMsg, hostsMsg, hostsFail string
	var smoke, canarySteps []ledger.Step
	for _, st := range steps {
		switch {
		case contract.DetailKind(st.Detail) == contract.DetailSmoke:
			smoke = append(smoke, st)
		case contract.DetailKind(st.Detail) == contract.DetailCanary:
			canarySteps = append(canarySteps, st)
		case st.Stage == contract.StageHealth && st.Status == "ok":
			okN++
		case st.Stage == contract.StageHealth && st.Status == "failed":
			if contract.DetailKind(st.Detail) == contract.DetailAlarms {
				alarmFail = st.Message
			} else {
				failN++
				failMsg = st.Message
			}
		case st.Stage == contract.StageRollout && st.Status == "failed":
			failN++
			failMsg = st.Message
		case st.Stage == contract.StageBake && st.Status == "ok":
			bakeMsg = st.Message
		case st.Stage == contract.StageBake && st.Status == "failed":
			alarmFail = st.Message
		case contract.DetailKind(st.Detail) == contract.DetailHostResources && st.Status == contract.StepOK:
			hostsMsg = st.Message
		case contract.DetailKind(st.Detail) == contract.DetailHostResources && st.Status == contract.StepFailed:
			hostsFail = st.Message
		}
	}
	switch {
	case failN > 0:
		out[0].Status, out[0].Detail = StatusFailed, failMsg
	case okN > 0:
		out[0].Status, out[0].Detail = StatusOK, plural(okN, "wave")+" healthy"
	}
	for i := 1; i < len(out); i++ {
		switch {
		case strings.HasPrefix(out[i].What, "after each wave") && alarmFail != "":
			out[i].Status, out[i].Detail = StatusFailed, alarmFail
		case strings.HasPrefix(out[i].What, "after each wave") && okN > 0:
			out[i].Status = StatusOK
		case strings.HasPrefix(out[i].What, "bake") && bakeMsg != "":
			out[i].Status, out[i].Detail = StatusOK, bakeMsg
		case strings.HasPrefix(out[i].What, checkHosts) && hostsFail != "":
			out[i].Status, out[i].Detail = StatusFailed, hostsFail
		case strings.HasPrefix(out[i].What, checkHosts) && hostsMsg != "":
			out[i].Status = StatusOK
		case strings.HasPrefix(out[i].What, checkHook):
			name := strings.Fields(strings.TrimPrefix(out[i].What, checkHook))[0]
			if name == manifest.HookBeforeTraffic || name == manifest.HookAfterTraffic {
				out[i].Status, out[i].Detail = trafficHookResult(name, d.Version, steps, out[i].Status)
				continue
			}
			if strings.Contains(failMsg, "hook "+name+" of") {
				out[i].Status, out[i].Detail = StatusFailed, failMsg
			} else if okN > 0 {
				out[i].Status = StatusOK
			}
		case strings.HasPrefix(out[i].What, checkSmoke):
			out[i].Status, out[i].Detail = smokeResult(out[i].What, smoke, out[i].Status)
		case strings.HasPrefix(out[i].What, checkCanary+" of"):
			out[i].Status, out[i].Detail = canaryResult(canarySteps, out[i].Status)
		case strings.HasPrefix(out[i].What, "watch") && d.Status == contract.StatusSucceeded:
			out[i].Status = StatusPlanned
			if !d.WatchUntil.IsZero() {
				out[i].Detail = "until " + d.WatchUntil.UTC().Format(time.RFC3339)
			}
		}
	}
	return out
}

// trafficHookResult is the result of the release's traffic hook from the
// steps the hook and hook-poll actions write: failed when one failed, ok
// when one passed and none failed. A rollback's run of the previous
// release's hook is not the release's.
func trafficHookResult(name, version string, steps []ledger.Step, status string) (string, string) {
	ok := ""
	for _, st := range steps {
		if !strings.Contains(st.Message, ": hook "+name+" of "+version+" ") {
			continue
		}
		switch st.Status {
		case contract.StepFailed:
			return StatusFailed, st.Message
		case contract.StepOK:
			ok = st.Message
		}
	}
	if ok != "" {
		return StatusOK, ""
	}
	return status, ""
}

// smokeResult is a smoke check's result from the smoke steps: failed when
// a failed step names it, ok when a step passed them all and none failed.
func smokeResult(what string, steps []ledger.Step, status string) (string, string) {
	rest := strings.TrimPrefix(what, checkSmoke)
	name := rest
	if i := strings.Index(rest, ": "); i > 0 {
		name = rest[:i]
	}
	ok := false
	for _, st := range steps {
		d, _ := contract.ParseSmokeDetail(st.Detail)
		switch {
		case st.Status == contract.StepFailed && slices.ContainsFunc(d.Failed, func(f string) bool { return strconv.Quote(f) == name }):
			return StatusFailed, st.Message
		case st.Status == contract.StepOK:
			ok = true
		}
	}
	if ok {
		return StatusOK, ""
	}
	return status, ""
}

// rollbackChecks is a rollback execution's checklist: every instance
// serves the target again, healthily, and the alarms stay quiet.
func rollbackChecks(p contract.PreflightOutput, steps []ledger.Step, d ledger.Deployment) []Check {
	what := fmt.Sprintf("every instance serves %s again: its health check answers with it", orPlaceholder(p.Version, "the target"))
	if p.Health.Path != "" {
		what = fmt.Sprintf("every instance: GET %s answers %d with version %s, %d times in a row, after the switch (alarms checked too)",
			p.Health.Path, p.Health.ExpectStatus, p.Version, p.Health.Successes)
	}
	c := Check{What: what, Status: StatusNotRun}
	if !d.Final() {
		c.Status = StatusPlanned
	}
	for _, st := range steps {
		if st.Stage != contract.StageVerifyRollback {
			continue
		}
		switch st.Status {
		case contract.StepOK:
			c.Status, c.Detail = StatusOK, st.Message
		case contract.StepFailed:
			c.Status, c.Detail = StatusFailed, st.Message
		}
	}
	return []Check{c}
}
