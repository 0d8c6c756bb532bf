package report

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
)

// Kinds of report.
const (
	KindPlan     = "plan"
	KindDeploy   = contract.KindDeploy
	KindRollback = contract.KindRollback
)

// Step statuses in section 3 and check statuses in section 4.
const (
	StatusPlanned = "planned"
	StatusOK      = contract.StepOK
	StatusFailed  = contract.StepFailed
	StatusSkipped = contract.StepSkipped
	StatusNotRun  = "not run"
	StatusWaiting = "waiting"
	// StatusInterrupted is a stage that was under way when its deployment
	// stopped or its process was killed: it did not finish.
	StatusInterrupted = "interrupted"
)

// Report is a plan or a deployment's report. The six numbered sections are
// always there; Outcome, Timings, Instances and RolledBack only in a
// deployment's report.
type Report struct {
	// Kind is plan, deploy or rollback.
	Kind            string           `json:"kind"`
	App             string           `json:"app"`
	Environment     string           `json:"environment"`
	Version         string           `json:"version"`
	PreviousVersion string           `json:"previous_version,omitempty"`
	DeploymentID    string           `json:"deployment_id,omitempty"`
	Trigger         contract.Trigger `json:"trigger,omitzero"`
	GeneratedAt     time.Time        `json:"generated_at"`

	Outcome *Outcome `json:"outcome,omitempty"`

	Plan       Plan              `json:"plan"`
	Risk       Risk              `json:"risk"`
	Steps      []Step            `json:"steps"`
	Checklist  Checklist         `json:"checklist"`
	Rollback   RollbackProcedure `json:"rollback_procedure"`
	Monitoring Monitoring        `json:"monitoring"`

	Timings    []StageTiming    `json:"timings,omitempty"`
	Instances  []InstanceResult `json:"instances,omitempty"`
	RolledBack *RollbackDetails `json:"rolled_back,omitempty"`
	// Canary is the canary analysis as it ran, when there was one.
	Canary *CanaryAnalysis `json:"canary,omitempty"`
	// Notes are what the report could not establish, and why.
	Notes []string `json:"notes,omitempty"`
}

// Outcome is how a deployment ended.
type Outcome struct {
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	Cause      string    `json:"cause,omitempty"`
	Summary    string    `json:"summary"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Seconds    float64   `json:"seconds"`
}

// Plan is section 1: what is deployed where, in which order.
type Plan struct {
	Artifact contract.Artifact `json:"artifact"`
	// Tags select the targets; Targets are the instances they resolved to.
	Tags             map[string]string `json:"tags,omitempty"`
	Targets          []Target          `json:"targets"`
	Waves            [][]string        `json:"waves"`
	ApprovalRequired bool              `json:"approval_required"`
	// LockTTLSeconds is how long the environment's lease lasts.
	LockTTLSeconds int        `json:"lock_ttl_seconds,omitempty"`
	Migrations     Migrations `json:"migrations"`
	// Refusal is, in a plan, why Preflight would refuse this deployment
	// now; empty when it would go ahead.
	Refusal string `json:"refusal,omitempty"`
	// RefusalKind is the error Preflight would fail with: PreflightFailed,
	// Frozen, or Gate for the migration policy.
	RefusalKind string `json:"refusal_kind,omitempty"`
	// Config is the configuration the deployment would activate, compared
	// with what serves; nil when the release declares none.
	Config *ConfigChange `json:"config,omitempty"`
}

// ConfigChange is a plan's configuration: its fingerprint and the keys
// that changed since the deployment that serves (compared by keyed
// prints, never by value), and the manifest's config: declarations
// compared with the serving release's.
type ConfigChange struct {
	Fingerprint string `json:"fingerprint,omitempty"`
	// Previous is the fingerprint of the configuration that serves.
	Previous string `json:"previous,omitempty"`
	// Keys are the variables the environment gets.
	Keys []string `json:"keys"`
	// Added, Removed and Changed compare the resolved values of this
	// environment with the ones the serving deployment recorded.
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Changed []string `json:"changed,omitempty"`
	// Declarations are the manifest's config: entries that differ from the
	// serving release's manifest, with the environments whose values
	// changed.
	Declarations []ConfigDeclaration `json:"declarations,omitempty"`
	// Note says what could not be compared.
	Note string `json:"note,omitempty"`
}

// ConfigDeclaration is one variable whose declaration changed between
// two releases' manifests.
type ConfigDeclaration struct {
	Name string `json:"name"`
	// Change is added, removed or changed.
	Change string `json:"change"`
	// Environments are those whose value (reference or literal) changed;
	// "default" for the default, "declaration" for secret or required.
	Environments []string `json:"environments,omitempty"`
}

// Target is one instance the tags resolved to.
type Target struct {
	ID     string `json:"id"`
	Online bool   `json:"online"`
	// Serves is the release it serves now, where that is known.
	Serves string `json:"serves,omitempty"`
}

// Migrations is the schema's side of the plan.
type Migrations struct {
	// Known is false when the database could not be read (from a laptop,
	// an RDS database in a private subnet usually cannot).
	Known  bool   `json:"known"`
	Engine string `json:"engine,omitempty"`
	// EngineWarning says that the migrations are written for another
	// engine than the environment's database.
	EngineWarning string      `json:"engine_warning,omitempty"`
	Current       int64       `json:"current"`
	Target        int64       `json:"target"`
	Pending       []Migration `json:"pending"`
	Ahead         []int64     `json:"ahead,omitempty"`
}

// Migration is one pending migration and its lint verdict.
type Migration struct {
	Version    int64     `json:"version"`
	Name       string    `json:"name"`
	Class      string    `json:"class,omitempty"`
	Reversible bool      `json:"reversible"`
	Mode       string    `json:"mode,omitempty"`
	Allowed    bool      `json:"allowed,omitempty"`
	Findings   []Finding `json:"findings,omitempty"`
}

// Key names the migration as its file does: 0003_add_email.
func (m Migration) Key() string {
	if m.Name == "" {
		return fmt.Sprintf("%04d", m.Version)
	}
	return fmt.Sprintf("%04d_%s", m.Version, m.Name)
}

// Finding is one lint finding.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Ignored  bool   `json:"ignored,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Step is one stage of section 3.
type Step struct {
	Stage       string `json:"stage"`
	Description string `json:"description"`
	// Status is planned in a plan; in a report: ok, failed, skipped,
	// waiting or not run.
	Status string `json:"status"`
	// Messages are the ledger's notes of the stage, in order.
	Messages []Message `json:"messages,omitempty"`
}

// Message is one ledger step, as a report shows it.
type Message struct {
	At      time.Time `json:"at"`
	Status  string    `json:"status"`
	Message string    `json:"message"`
}

// Checklist is section 4: what must hold for the release to be called good.
type Checklist struct {
	Probe  Probe   `json:"probe"`
	Alarms []Alarm `json:"alarms"`
	// BakeSeconds is how long alarms are watched after the last wave;
	// WatchSeconds, how long after success an alarm still rolls back.
	BakeSeconds         int     `json:"bake_seconds"`
	BakeIntervalSeconds int     `json:"bake_interval_seconds"`
	WatchSeconds        int     `json:"watch_seconds"`
	Checks              []Check `json:"checks"`
}

// Probe is the health check run on every instance of every wave.
type Probe struct {
	Path            string `json:"path"`
	ExpectStatus    int    `json:"expect_status"`
	ExpectVersion   string `json:"expect_version"`
	Successes       int    `json:"successes"`
	IntervalSeconds int    `json:"interval_seconds"`
	MaxAttempts     int    `json:"max_attempts"`
}

// Alarm is a watched alarm and, where it was read, its state.
type Alarm struct {
	Name   string `json:"name"`
	State  string `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Check is one line of the checklist and, in a report, its result.
type Check struct {
	What   string `json:"what"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// RollbackProcedure is section 5.
type RollbackProcedure struct {
	// Automatic says what Slipway does by itself when something fails.
	Automatic string `json:"automatic"`
	// Target is the release a rollback returns to; "" when there is none
	// (a first deployment).
	Target string `json:"target,omitempty"`
	// TargetOnHosts says whether every host still keeps Target.
	TargetOnHosts string   `json:"target_on_hosts"`
	Commands      []string `json:"commands"`
	// Schema says, per migration, what a rollback does with it.
	Schema []SchemaStep `json:"schema,omitempty"`
	// Snapshot is the snapshot taken before the migrations (its id in a
	// report; how it will be named in a plan).
	Snapshot string `json:"snapshot,omitempty"`
	// Restore is the exact restore procedure, when a migration is not
	// reversible.
	Restore string `json:"restore,omitempty"`
}

// SchemaStep is what a rollback does with one migration.
type SchemaStep struct {
	Migration  string `json:"migration"`
	Reversible bool   `json:"reversible"`
	How        string `json:"how"`
}

// Monitoring is section 6.
type Monitoring struct {
	Alarms     []string `json:"alarms"`
	Dashboards []string `json:"dashboards,omitempty"`
	LogGroups  []string `json:"log_groups,omitempty"`
	Commands   []string `json:"commands"`
}

// Hints are where a backend keeps what Monitoring points at. The Record
// Lambda has none; the CLI adds them when it shows a report.
type Hints struct {
	Dashboards []string `json:"dashboards,omitempty"`
	LogGroups  []string `json:"log_groups,omitempty"`
	// CommandOutput says where the full per-instance output is.
	CommandOutput string `json:"command_output,omitempty"`
}

// StageTiming is how long one stage took.
type StageTiming struct {
	Stage     string    `json:"stage"`
	StartedAt time.Time `json:"started_at"`
	Seconds   float64   `json:"seconds"`
	Status    string    `json:"status"`
}

// InstanceResult is one instance's result of one command.
type InstanceResult struct {
	Wave     int    `json:"wave"`
	Instance string `json:"instance"`
	Action   string `json:"action"`
	Version  string `json:"version"`
	Status   string `json:"status"`
	ExitCode int    `json:"exit_code"`
	// StartedAt is when the command began on the instance, where known.
	StartedAt time.Time `json:"started_at,omitzero"`
	Seconds   float64   `json:"seconds"`
	// Detail is the last line of the output that says what happened.
	Detail string `json:"detail,omitempty"`
}

// RollbackDetails say, for a deployment that was rolled back (or a
// rollback execution), why, what was reverted and what was not.
type RollbackDetails struct {
	TriggeredBy string   `json:"triggered_by"`
	Reverted    []string `json:"reverted"`
	NotReverted []string `json:"not_reverted"`
	Restore     string   `json:"restore,omitempty"`
}

// JSON returns the report as indented JSON.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return append(b, '\n'), nil
}

// Parse reads a report stored as JSON. It reports false for JSON that is
// not a report (an older record's report, say).
func Parse(raw []byte) (*Report, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	var r Report
	if err := json.Unmarshal(raw, &r); err != nil || r.Kind == "" || r.Steps == nil {
		return nil, false
	}
	return &r, true
}

// WithHints returns a copy of r whose Monitoring section also lists the
// backend's dashboards and log groups.
func (r *Report) WithHints(h Hints) *Report {
	c := *r
	c.Monitoring = r.Monitoring
	c.Monitoring.Dashboards = appendNew(append([]string(nil), r.Monitoring.Dashboards...), h.Dashboards...)
	c.Monitoring.LogGroups = appendNew(append([]string(nil), r.Monitoring.LogGroups...), h.LogGroups...)
	return &c
}

func appendNew(list []string, more ...string) []string {
	for _, m := range more {
		found := false
		for _, l := range list {
			found = found || l == m
		}
		if !found {
			list = append(list, m)
		}
	}
	return list
}
