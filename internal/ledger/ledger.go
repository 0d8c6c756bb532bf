package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
)

// ErrNotFound is returned when a deployment does not exist.
var ErrNotFound = errors.New("not found")

// Deployment is one execution's record.
type Deployment struct {
	ID              string           `json:"id"`
	App             string           `json:"app"`
	Environment     string           `json:"environment"`
	Version         string           `json:"version"`
	PreviousVersion string           `json:"previous_version,omitempty"`
	Kind            string           `json:"kind"`
	Status          string           `json:"status"`
	ExecutionID     string           `json:"execution_id,omitempty"`
	Trigger         contract.Trigger `json:"trigger"`
	StartedAt       time.Time        `json:"started_at"`
	FinishedAt      time.Time        `json:"finished_at,omitzero"`
	Error           string           `json:"error,omitempty"`
	Cause           string           `json:"cause,omitempty"`
	Summary         string           `json:"summary,omitempty"`
	SnapshotID      string           `json:"snapshot_id,omitempty"`
	// SchemaBefore and SchemaAfter are schema versions; -1 means unknown.
	SchemaBefore int64 `json:"schema_before"`
	SchemaAfter  int64 `json:"schema_after"`
	// TargetDeploymentID is, for a rollback, the deployment it rolled back;
	// RolledBackBy is, on a deployment, the rollback that undid it.
	TargetDeploymentID string `json:"target_deployment_id,omitempty"`
	RolledBackBy       string `json:"rolled_back_by,omitempty"`
	// WatchUntil is, for a succeeded deployment, when alarms stop rolling
	// it back (the manifest's bake.watch after it finished).
	WatchUntil time.Time       `json:"watch_until,omitzero"`
	Report     json.RawMessage `json:"report,omitempty"`
	// Observed is what the fleet and the schema were observed to be when
	// the record was closed: the status is decided from it.
	Observed *contract.Observation `json:"observed,omitempty"`
	// Config is the configuration the deployment activates (a rollback:
	// the one it restores): fingerprints and key prints, never values. Nil
	// when the release's manifest declares none.
	Config *contract.ConfigPrint `json:"config,omitempty"`
}

// Final reports whether the status is final.
func (d Deployment) Final() bool { return d.Status != contract.StatusRunning && d.Status != "" }

// Step is one thing a stage did or decided.
type Step struct {
	DeploymentID string          `json:"deployment_id"`
	Seq          int             `json:"seq"`
	Stage        string          `json:"stage"`
	Status       string          `json:"status"` // ok, failed, skipped, info
	Message      string          `json:"message"`
	At           time.Time       `json:"at"`
	Detail       json.RawMessage `json:"detail,omitempty"`
}

// InstanceResult is one instance's result of one command.
type InstanceResult struct {
	DeploymentID string    `json:"deployment_id"`
	CommandID    string    `json:"command_id"`
	Wave         int       `json:"wave"`
	InstanceID   string    `json:"instance_id"`
	Action       string    `json:"action"`
	Version      string    `json:"version"`
	Status       string    `json:"status"`
	ExitCode     int       `json:"exit_code"`
	Output       string    `json:"output,omitempty"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
}

// Lock kinds.
const (
	LockLease  = "lease"  // held by an execution, released by it, expires
	LockManual = "manual" // a person's freeze; automation never overrides it
)

// Lock is a hold on an environment.
type Lock struct {
	App          string    `json:"app"`
	Environment  string    `json:"environment"`
	Kind         string    `json:"kind"`
	Owner        string    `json:"owner"`
	DeploymentID string    `json:"deployment_id,omitempty"`
	Message      string    `json:"message,omitempty"`
	AcquiredAt   time.Time `json:"acquired_at"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
}

// HeldError reports that an environment is held by someone else.
type HeldError struct {
	Lock Lock
}

func (e *HeldError) Error() string {
	l := e.Lock
	if l.Kind == LockManual {
		return fmt.Sprintf("%s/%s is frozen by %s since %s: %q; wait for them to run `slipway lock release`, or ask them", l.App, l.Environment, l.Owner, l.AcquiredAt.Format(time.RFC3339), l.Message)
	}
	return fmt.Sprintf("%s/%s is being deployed by %s (deployment %s, lease until %s); wait for it to finish, or if it is stuck run `slipway unlock --force`", l.App, l.Environment, l.Owner, l.DeploymentID, l.ExpiresAt.Format(time.RFC3339))
}

// TimeLayout is how the stores write times: fixed width, so they sort as
// text (RFC3339Nano drops trailing zeros and does not).
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// FormatTime writes t in TimeLayout, UTC; the zero time is "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// ParseTime reads a time written by FormatTime (or RFC 3339); "" is the zero time.
func ParseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func ts(t time.Time) string { return FormatTime(t) }
