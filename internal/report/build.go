package report

import (
	"encoding/json"
	"fmt"
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
		if st.Stage != contract.StagePreflight {
			continue
		}
		if f, ok := contract.ParseFreezeOverride(st.Detail); ok {
			ri.Overridden = &manifest.ActiveFreeze{What: f.What, Reason: f.Reason, Until: f.Until}
		}
		if h, ok := contract.ParseHostCheck(st.Detail); ok && len(h.Unreachable) == 0 {
			ri.TargetChecked = true
			ri.MissingOn = h.Missing
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
		if !res.StartedAt.IsZero() {
			ir.StartedAt = res.StartedAt.UTC()
		}
		if !res.StartedAt.IsZero() && !res.FinishedAt.IsZero() {
			ir.Seconds = seconds(res.FinishedAt.Sub(res.StartedAt))
		}
		r.Instances = append(r.Instances, ir)
	}
	if kind == KindRollback || d.Status == contract.StatusRolledBack || d.Status == contract.StatusRollbackFailed {
		r.RolledBack = rollbackDetails(in, restore)
	}
	r.Canary = canaryAnalysis(in.Steps)
	return r
}

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
		if st.Stage != contract.StagePreflight || st.Status != StatusOK {
			continue
		}
		detail, ok := contract.ParsePreflightDetail(st.Detail)
		if !ok {
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
	// The canary analysis as it ran, or why it was skipped.
	if r.Canary != nil {
		spec := r.Canary.Spec
		p.Canary = &spec
	}
	for _, c := range r.Checklist.Checks {
		if why, ok := strings.CutPrefix(c.What, checkCanary+": skipped: "); ok {
			p.CanarySkipped = why
		}
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
