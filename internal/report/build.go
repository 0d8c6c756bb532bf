package report

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

// PlanInput is what a plan is built from: Preflight's checks, run read-only
// (pipeline.Plan), and what the backend could read besides.
type PlanInput struct {
	App, Environment, Version string
	Trigger                   contract.Trigger
	// Preflight is what Preflight resolved; when it refused, the fields it
	// reached before the refusal.
	Preflight contract.PreflightOutput
	// Refusal is why Preflight would refuse, "" when it would not;
	// RefusalKind is PreflightFailed, Frozen or Gate.
	Refusal, RefusalKind string
	Targets              []Target
	Migrations           Migrations
	// Manifest is the release's manifest, nil when the release could not
	// be opened.
	Manifest   *manifest.Manifest
	Production bool
	Change     *Change
	ChangeNote string
	// Alarms are the watched alarms with their states now, where read.
	Alarms []Alarm
	// TargetChecked says the hosts were asked for the rollback target;
	// MissingOn lists those that lack it.
	TargetChecked bool
	MissingOn     []string
	// Restore is the restore procedure for the snapshot the deployment
	// would take, written for a placeholder snapshot id.
	Restore string
	// Config is the configuration's change, nil when the release declares
	// none.
	Config *ConfigChange
	Hints  Hints
	Now    time.Time
	Notes  []string
}

// NewPlan builds a plan.
func NewPlan(in PlanInput) *Report {
	p := in.Preflight
	if p.Version == "" {
		p.Version = in.Version
	}
	if p.Environment == "" {
		p.Environment = in.Environment
	}
	r := &Report{
		Kind: KindPlan, App: in.App, Environment: in.Environment, Version: in.Version, PreviousVersion: p.PreviousVersion,
		Trigger: in.Trigger, GeneratedAt: in.Now.UTC(), Notes: in.Notes,
	}
	r.Plan = Plan{
		Artifact: p.Artifact, Tags: p.Tags, Targets: nonNil(in.Targets), Waves: nonNil(p.Waves), ApprovalRequired: p.ApprovalRequired,
		LockTTLSeconds: p.LockTTLSeconds, Migrations: in.Migrations, Refusal: in.Refusal, RefusalKind: in.RefusalKind,
		Config: in.Config,
	}
	if r.Plan.Migrations.Pending == nil {
		r.Plan.Migrations.Pending = []Migration{}
	}
	var freeze *manifest.Freeze
	if in.Manifest != nil {
		freeze = &in.Manifest.Freeze
	}
	r.Risk = Assess(RiskInput{
		Migrations: in.Migrations.Pending, MigrationsKnown: in.Migrations.Known,
		Change: in.Change, ChangeNote: in.ChangeNote, FirstDeployment: p.PreviousVersion == "" && in.Refusal == "",
		Production: in.Production, Environment: in.Environment, Freeze: freeze, At: in.Now,
		RollbackTarget: p.PreviousVersion, TargetChecked: in.TargetChecked, MissingOn: in.MissingOn,
	})
	if p.PreviousVersion == "" && in.Refusal != "" && in.Change == nil {
		// Preflight stopped before it read what serves: say so, do not
		// call it a first deployment.
		r.Risk = Assess(RiskInput{Migrations: in.Migrations.Pending, MigrationsKnown: in.Migrations.Known,
			ChangeNote: "not compared: preflight stopped first", Production: in.Production, Environment: in.Environment,
			Freeze: freeze, At: in.Now, RollbackTarget: "", TargetChecked: in.TargetChecked})
	}
	r.Steps = plannedSteps(KindDeploy, p, in.Migrations)
	r.Checklist = checklist(p, in.Alarms)
	restore := ""
	for _, m := range in.Migrations.Pending {
		if !m.Reversible {
			restore = in.Restore
		}
	}
	r.Rollback = rollbackProcedure(KindDeploy, p, in.Migrations, "", restore, in.TargetChecked, in.MissingOn)
	r.Monitoring = monitoring(p, "", in.Hints)
	return r
}

// DeploymentInput is what a deployment's report is built from. State is
// the execution's state document when Record builds the report; without
// it, the report is rebuilt from the ledger alone.
type DeploymentInput struct {
	Deployment ledger.Deployment
	Steps      []ledger.Step
	Results    []ledger.InstanceResult
	State      *contract.State
	// Manifest is the release's manifest, where it could be read.
	Manifest   *manifest.Manifest
	Production bool
	Change     *Change
	ChangeNote string
	// Timings, from the execution history, replace the ones the ledger
	// steps give.
	Timings []StageTiming
	// Restore is the snapshot's restore procedure, where a migration was
	// not reversible.
	Restore string
	// Migrations, when set, replace the migrations read from State (a
	// stored report's, with their lint verdicts).
	Migrations *Migrations
	// Recording is set when Record builds the report: the stages after it
	// have not run yet.
	Recording bool
	Hints     Hints
	Now       time.Time
}

// NewDeployment builds a deployment's report.
func NewDeployment(in DeploymentInput) *Report {
	d := in.Deployment
	kind := d.Kind
	if kind == "" {
		kind = KindDeploy
	}
	r := &Report{
		Kind: kind, App: d.App, Environment: d.Environment, Version: d.Version, PreviousVersion: d.PreviousVersion,
		DeploymentID: d.ID, Trigger: d.Trigger, GeneratedAt: in.Now.UTC(),
	}
	r.Outcome = &Outcome{Status: d.Status, Error: d.Error, Cause: d.Cause, Summary: d.Summary, StartedAt: d.StartedAt.UTC()}
	if !d.FinishedAt.IsZero() {
		r.Outcome.FinishedAt = d.FinishedAt.UTC()
		r.Outcome.Seconds = seconds(d.FinishedAt.Sub(d.StartedAt))
	}

	p, migs, notes := preflightOf(in)
	if in.Migrations != nil {
		migs = *in.Migrations
	}
	r.Notes = notes
	if p.PreviousVersion == "" {
		p.PreviousVersion = d.PreviousVersion
	}
	r.Plan = Plan{Artifact: p.Artifact, Tags: p.Tags, Targets: []Target{}, Waves: nonNil(p.Waves), ApprovalRequired: p.ApprovalRequired,
		LockTTLSeconds: p.LockTTLSeconds, Migrations: migs}
	for _, id := range p.Instances {
		r.Plan.Targets = append(r.Plan.Targets, Target{ID: id, Online: true})
	}

	ri := RiskInput{
		Migrations: migs.Pending, MigrationsKnown: migs.Known, Change: in.Change, ChangeNote: in.ChangeNote,
		FirstDeployment: d.PreviousVersion == "" && kind == KindDeploy, Production: in.Production, Environment: d.Environment,
		At: d.StartedAt, RollbackTarget: p.PreviousVersion,
	}
	if in.Manifest != nil && kind == KindDeploy {
		ri.Freeze = &in.Manifest.Freeze
	}
	if kind == KindRollback {
		ri.RollbackTarget, ri.Rollback, ri.Change = d.Version, true, nil
	}
	if ri.Change == nil && ri.ChangeNote == "" {
		ri.ChangeNote = "not compared: the releases were not readable where this report was written"
	}
	for _, st := range in.Steps {
		switch {
		case st.Stage == contract.StagePreflight && strings.HasPrefix(st.Message, "freeze overridden"):
			var f manifest.ActiveFreeze
			if json.Unmarshal(st.Detail, &f) == nil {
				ri.Overridden = &f
			} else {
				ri.Overridden = &manifest.ActiveFreeze{What: "a freeze window", Reason: st.Message}
			}
		case st.Stage == contract.StagePreflight && st.Status == StatusOK && strings.HasPrefix(st.Message, "every host keeps"):
			ri.TargetChecked = true
		case st.Stage == contract.StagePreflight && st.Status == StatusFailed && strings.Contains(st.Message, "is no longer on"):
			ri.TargetChecked = true
			if m := missingRE.FindStringSubmatch(st.Message); m != nil {
				ri.MissingOn = strings.Split(m[1], ", ")
			}
		}
	}
	r.Risk = Assess(ri)

	r.Steps = reportSteps(kind, p, migs, d, in.Steps, in.Recording)
	r.Checklist = checklist(p, alarmsOf(p.Alarms))
	r.Checklist.Checks = checkResults(r.Checklist.Checks, in.Steps, d)
	if kind == KindRollback {
		r.Checklist.Checks = rollbackChecks(p, in.Steps, d)
	}
	restore := in.Restore
	if restore == "" && in.State != nil && in.State.SchemaRevert != nil {
		restore = in.State.SchemaRevert.Restore
	}
	r.Rollback = rollbackProcedure(kind, p, migs, d.SnapshotID, restore, ri.TargetChecked, ri.MissingOn)
	r.Monitoring = monitoring(p, d.ID, in.Hints)

	r.Timings = in.Timings
	if len(r.Timings) == 0 {
		r.Timings = timingsFromSteps(d, in.Steps)
	}
	for _, res := range in.Results {
		if res.Action == "status" {
			continue // the host check's answers: the baseline, not a change
		}
		ir := InstanceResult{Wave: res.Wave + 1, Instance: res.InstanceID, Action: res.Action, Version: res.Version, Status: res.Status,
			ExitCode: res.ExitCode, Detail: LastLine(res.Output)}
		if res.Wave < 0 {
			ir.Wave = 0
		}
		if !res.StartedAt.IsZero() && !res.FinishedAt.IsZero() {
			ir.Seconds = seconds(res.FinishedAt.Sub(res.StartedAt))
		}
		r.Instances = append(r.Instances, ir)
	}
	if kind == KindRollback || d.Status == contract.StatusRolledBack || d.Status == contract.StatusRollbackFailed {
		r.RolledBack = rollbackDetails(in, restore)
	}
	return r
}

var missingRE = regexp.MustCompile(`is no longer on (.+?) \(`)

// preflightOf returns Preflight's output and the migrations, from the
// state or, without one, from the preflight step the ledger keeps.
func preflightOf(in DeploymentInput) (contract.PreflightOutput, Migrations, []string) {
	var notes []string
	if in.State != nil && in.State.Preflight != nil {
		p := *in.State.Preflight
		return p, migrationsOf(p.Migrations, true), nil
	}
	p := contract.PreflightOutput{App: in.Deployment.App, Environment: in.Deployment.Environment, Version: in.Deployment.Version,
		PreviousVersion: in.Deployment.PreviousVersion}
	for _, st := range in.Steps {
		if st.Stage != contract.StagePreflight || st.Status != StatusOK || len(st.Detail) == 0 {
			continue
		}
		var detail struct {
			Waves      [][]string              `json:"waves"`
			Migrations *contract.MigrationPlan `json:"migrations"`
			Artifact   contract.Artifact       `json:"artifact"`
			Config     *contract.ConfigPrint   `json:"config"`
		}
		if json.Unmarshal(st.Detail, &detail) != nil || detail.Waves == nil {
			continue
		}
		p.Waves, p.WaveCount, p.Artifact, p.Config = detail.Waves, len(detail.Waves), detail.Artifact, detail.Config
		for _, w := range detail.Waves {
			p.Instances = append(p.Instances, w...)
		}
		if detail.Migrations != nil {
			p.Migrations = *detail.Migrations
			return p, migrationsOf(p.Migrations, true), []string{"rebuilt from the ledger: the health check settings and alarms are not recorded there"}
		}
	}
	if in.Deployment.Status == contract.StatusFailed {
		notes = append(notes, "preflight did not complete, so the plan sections are empty")
	} else {
		notes = append(notes, "rebuilt from the ledger: preflight's plan was not recorded")
	}
	return p, Migrations{Known: false, Pending: []Migration{}}, notes
}

// migrationsOf turns Preflight's migration plan into the report's.
func migrationsOf(mp contract.MigrationPlan, known bool) Migrations {
	m := Migrations{Known: known, Engine: mp.Engine, EngineWarning: mp.EngineWarning, Current: mp.Current, Target: mp.Target, Ahead: mp.Ahead, Pending: []Migration{}}
	checks := map[int64]contract.MigrationCheck{}
	for _, c := range mp.Checks {
		checks[c.Version] = c
	}
	for _, v := range mp.Pending {
		c, ok := checks[v]
		mig := Migration{Version: v}
		if ok {
			mig = Migration{Version: v, Name: c.Name, Class: c.Class, Reversible: c.Reversible, Mode: c.Mode, Allowed: c.Allowed}
			for _, f := range c.Findings {
				mig.Findings = append(mig.Findings, Finding{File: f.File, Line: f.Line, Rule: f.Rule, Severity: f.Severity, Message: f.Message, Ignored: f.Ignored, Reason: f.Reason})
			}
		}
		m.Pending = append(m.Pending, mig)
	}
	return m
}

func alarmsOf(names []string) []Alarm {
	out := make([]Alarm, 0, len(names))
	for _, n := range names {
		out = append(out, Alarm{Name: n})
	}
	return out
}

// stageOf maps a ledger step's stage to the report's stage.
func stageOf(ledgerStage string) string {
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
		add("rollout", "activate %s wave by wave: take each wave out of its target groups and wait until it is drained, activate, probe every instance, put it back in the groups it was in and wait until the load balancer reports it healthy, then check the alarms: %s", orPlaceholder(p.Version, "the release"), strings.Join(waves, "; "))
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
		byStage[stageOf(st.Stage)] = append(byStage[stageOf(st.Stage)], st)
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
		if s := stageOf(st.Stage); !seen[s] {
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
			if strings.Contains(st.Message, "in ALARM") || strings.Contains(st.Message, "alarm") {
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

func rollbackProcedure(kind string, p contract.PreflightOutput, migs Migrations, snapshotID, restore string, checked bool, missing []string) RollbackProcedure {
	env := p.Environment
	rp := RollbackProcedure{Target: p.PreviousVersion, Commands: []string{}}
	if kind == KindRollback {
		rp.Target = p.Version
		rp.Automatic = "a rollback that fails is not retried by itself: the report names what stays on the rolled-back release"
		rp.TargetOnHosts = "checked on every host before the lock"
		rp.Commands = append(rp.Commands, fmt.Sprintf("slipway rollback --env %s --to %s", env, orPlaceholder(p.Version, "<version>")), "slipway status --env "+env)
	} else {
		rp.Automatic = "any failure, a failed health check, or an alarm during the waves or the bake switches the instances this deployment moved back to the previous release (no download, no rebuild), verifies them, and reverts the migrations it applied where they are reversible"
		switch {
		case p.PreviousVersion == "":
			rp.TargetOnHosts = "no previous release: a first deployment cannot be rolled back, only fixed forward"
			rp.Automatic = "a first deployment has no previous release: a failure leaves the instances it reached on the new release; deploy a fix"
		case len(missing) > 0:
			rp.TargetOnHosts = fmt.Sprintf("no: %s lack %s (redeploy %s first)", strings.Join(missing, ", "), p.PreviousVersion, p.PreviousVersion)
		case checked:
			rp.TargetOnHosts = "yes: every host keeps " + p.PreviousVersion
		default:
			rp.TargetOnHosts = "checked on every host before the lock"
		}
		if p.PreviousVersion != "" {
			rp.Commands = append(rp.Commands,
				fmt.Sprintf("slipway rollback --env %s                 # back to %s", env, p.PreviousVersion),
				fmt.Sprintf("slipway rollback --env %s --to %s", env, p.PreviousVersion))
		}
		rp.Commands = append(rp.Commands, fmt.Sprintf("slipway lock acquire --env %s -m \"why\"   # stop further deployments while you look", env))
	}
	rp.Snapshot = snapshotID
	// Reverts run newest first and stop at the first migration that is not
	// reversible: it and every one below it stay (migrate.Runner.DownTo).
	var irreversible bool
	pending := slices.Clone(migs.Pending)
	sort.SliceStable(pending, func(i, j int) bool { return pending[i].Version > pending[j].Version })
	var blocker string
	for _, m := range pending {
		s := SchemaStep{Migration: m.Key(), Reversible: m.Reversible}
		switch {
		case !m.Reversible:
			irreversible = true
			s.How = "not reversible: it stays; the previous release must cope with it, or restore the snapshot"
			if blocker == "" {
				blocker = m.Key()
			}
		case blocker != "":
			s.How = "reversible, but it stays: reverts stop at " + blocker + ", which is not"
		default:
			s.How = "its down migration runs on rollback"
		}
		rp.Schema = append(rp.Schema, s)
	}
	slices.Reverse(rp.Schema)
	if len(migs.Pending) > 0 && rp.Snapshot == "" {
		rp.Snapshot = "taken before the migrations; its id will be in the report"
	}
	if irreversible || restore != "" {
		rp.Restore = restore
		if rp.Restore == "" {
			rp.Restore = "restore the database from the snapshot taken before the migrations"
		}
	}
	return rp
}

func monitoring(p contract.PreflightOutput, deploymentID string, h Hints) Monitoring {
	env := p.Environment
	m := Monitoring{Alarms: nonNil(p.Alarms), Dashboards: h.Dashboards, LogGroups: h.LogGroups}
	id := orPlaceholder(deploymentID, "<deployment>")
	m.Commands = []string{"slipway status --env " + env, "slipway logs " + id, "slipway show " + id}
	if h.CommandOutput != "" {
		m.LogGroups = appendNew(m.LogGroups, h.CommandOutput)
	}
	return m
}

// timingsFromSteps gives each stage the time from the end of the previous
// stage to its last step: the ledger's view of the stage timings.
func timingsFromSteps(d ledger.Deployment, steps []ledger.Step) []StageTiming {
	var out []StageTiming
	prevEnd := d.StartedAt
	for _, st := range steps {
		stage := stageOf(st.Stage)
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

func rollbackDetails(in DeploymentInput, restore string) *RollbackDetails {
	d := in.Deployment
	rd := &RollbackDetails{Reverted: []string{}, NotReverted: []string{}, Restore: restore}
	switch {
	case d.Kind == KindRollback:
		t := d.Trigger
		switch t.Source {
		case "alarm":
			rd.TriggeredBy = fmt.Sprintf("alarm %s in ALARM (the alarm router started this rollback)", orPlaceholder(t.Alarm, "?"))
		case "":
			rd.TriggeredBy = "a rollback execution"
		default:
			rd.TriggeredBy = fmt.Sprintf("%s by %s", t.Source, orPlaceholder(t.Actor, "an unnamed user"))
		}
		if t.Reason != "" {
			rd.TriggeredBy += ": " + t.Reason
		}
		if d.TargetDeploymentID != "" {
			rd.TriggeredBy += fmt.Sprintf(" (rolls back deployment %s)", d.TargetDeploymentID)
		}
	case d.Error != "":
		rd.TriggeredBy = d.Error + ": " + CauseMessage(d.Cause)
	default:
		rd.TriggeredBy = "a later rollback"
		if d.RolledBackBy != "" {
			rd.TriggeredBy = "rollback " + d.RolledBackBy
		}
	}
	schemaSeen := false
	for _, st := range in.Steps {
		switch st.Stage {
		case contract.StageRollback, contract.StageVerifyRollback, contract.StageRevertSchema:
		default:
			continue
		}
		if st.Stage == contract.StageRevertSchema {
			schemaSeen = true
		}
		switch {
		case st.Status == "ok":
			rd.Reverted = append(rd.Reverted, st.Message)
		case st.Status == "failed":
			rd.NotReverted = append(rd.NotReverted, st.Message)
		case st.Stage == contract.StageRevertSchema && st.Status == "info":
			rd.NotReverted = append(rd.NotReverted, st.Message)
		}
	}
	if in.State != nil && in.State.Migration != nil && len(in.State.Migration.Applied) > 0 && !schemaSeen {
		rd.NotReverted = append(rd.NotReverted, fmt.Sprintf("the schema was not reverted: it stays at %d", in.State.Migration.To))
	}
	if len(rd.Reverted) == 0 && len(rd.NotReverted) == 0 {
		rd.Reverted = append(rd.Reverted, "nothing: no instance and no schema had changed")
	}
	if d.Status == contract.StatusRolledBack && d.RolledBackBy != "" && d.Kind == KindDeploy {
		rd.Reverted = append(rd.Reverted, "rolled back by "+d.RolledBackBy+" (its report has the details)")
	}
	return rd
}

// CauseMessage extracts errorMessage from the Cause text Step Functions
// records for a Lambda error; other causes are returned as they are.
func CauseMessage(cause string) string {
	var c struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if strings.HasPrefix(strings.TrimSpace(cause), "{") && json.Unmarshal([]byte(cause), &c) == nil && c.ErrorMessage != "" {
		return c.ErrorMessage
	}
	return cause
}

// LastLine returns the last line of a command's output that is neither
// empty nor the script's JSON result, at most 300 characters.
func LastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "{") {
			if len(l) > 300 {
				l = l[:300] + "…"
			}
			return l
		}
	}
	return ""
}

func migrationList(ms []Migration) string {
	keys := make([]string, 0, len(ms))
	for _, m := range ms {
		keys = append(keys, m.Key())
	}
	return strings.Join(keys, ", ")
}

func alarmNames(names []string) string {
	switch len(names) {
	case 0:
		return "no alarms"
	case 1:
		return "alarm " + names[0]
	}
	s := slices.Clone(names)
	sort.Strings(s)
	return "alarms " + strings.Join(s, ", ")
}

func names(as []Alarm) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

func roundSeconds(s int) string {
	d := time.Duration(s) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", s)
	case d%time.Minute == 0:
		return roundDuration(d)
	}
	return d.String()
}

func seconds(d time.Duration) float64 {
	return float64(d.Milliseconds()) / 1000
}

func orPlaceholder(s, p string) string {
	if s == "" {
		return p
	}
	return s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Refresh rebuilds a stored report's ledger-derived parts (steps, checks,
// timings, per-instance results, rollback details) from the ledger as it
// is now, and keeps what only the run knew (the plan, the risk assessed
// then, the migrations' lint verdicts, the restore procedure).
func Refresh(stored *Report, in DeploymentInput) *Report {
	p := stored.preflight()
	if in.State == nil {
		in.State = &contract.State{Preflight: &p}
	}
	if in.Migrations == nil {
		m := stored.Plan.Migrations
		in.Migrations = &m
	}
	if in.Restore == "" {
		in.Restore = stored.Rollback.Restore
	}
	r := NewDeployment(in)
	r.Risk = stored.Risk
	r.Plan.Targets = stored.Plan.Targets
	r.Checklist.Alarms = stored.Checklist.Alarms
	r.Notes = stored.Notes
	return r
}

// preflight is Preflight's output as far as the report keeps it.
func (r *Report) preflight() contract.PreflightOutput {
	p := contract.PreflightOutput{
		App: r.App, Environment: r.Environment, Version: r.Version, PreviousVersion: r.PreviousVersion,
		Artifact: r.Plan.Artifact, Tags: r.Plan.Tags, Waves: r.Plan.Waves, WaveCount: len(r.Plan.Waves),
		ApprovalRequired: r.Plan.ApprovalRequired, LockTTLSeconds: r.Plan.LockTTLSeconds, Trigger: r.Trigger,
		Health: contract.HealthSpec{Path: r.Checklist.Probe.Path, ExpectStatus: r.Checklist.Probe.ExpectStatus, Successes: r.Checklist.Probe.Successes,
			IntervalSeconds: r.Checklist.Probe.IntervalSeconds, MaxAttempts: r.Checklist.Probe.MaxAttempts},
		Bake:         contract.BakeSpec{Seconds: r.Checklist.BakeSeconds, IntervalSeconds: r.Checklist.BakeIntervalSeconds},
		Alarms:       names(r.Checklist.Alarms),
		WatchSeconds: r.Checklist.WatchSeconds,
		Migrations:   contract.MigrationPlan{Current: r.Plan.Migrations.Current, Target: r.Plan.Migrations.Target, Engine: r.Plan.Migrations.Engine, Pending: []int64{}},
	}
	for _, t := range r.Plan.Targets {
		p.Instances = append(p.Instances, t.ID)
	}
	for _, m := range r.Plan.Migrations.Pending {
		p.Migrations.Pending = append(p.Migrations.Pending, m.Version)
	}
	if r.Kind == KindDeploy && r.PreviousVersion != r.Version {
		p.RequireOnHosts = r.PreviousVersion
	}
	return p
}

// MaxStoredInstances bounds the per-instance results a stored report
// keeps (a DynamoDB item holds 400 KB); the ledger keeps all of them and
// `slipway show` reads them from there.
const MaxStoredInstances = 100

// Stored returns the report as the ledger keeps it: compact JSON, with at
// most MaxStoredInstances per-instance results.
func (r *Report) Stored() json.RawMessage {
	c := *r
	if n := len(c.Instances); n > MaxStoredInstances {
		c.Instances = c.Instances[:MaxStoredInstances]
		c.Notes = append(slices.Clone(c.Notes), fmt.Sprintf("%d more per-instance results are in the ledger: slipway logs %s", n-MaxStoredInstances, c.DeploymentID))
	}
	b, _ := json.Marshal(&c)
	return b
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
