package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
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
	return c
}

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
	var failMsg, alarmFail, bakeMsg string
	for _, st := range steps {
		switch {
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
		case strings.HasPrefix(out[i].What, "watch") && d.Status == contract.StatusSucceeded:
			out[i].Status = StatusPlanned
			if !d.WatchUntil.IsZero() {
				out[i].Detail = "until " + d.WatchUntil.UTC().Format(time.RFC3339)
			}
		}
	}
	return out
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
