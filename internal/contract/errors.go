package contract

import "slices"

// The error types below cross into Step Functions. Each is returned as a
// pointer (for example &HealthCheckFailed{...}); the type name is the Error
// that Retry and Catch match.

// TransientError is a failure that is worth retrying as is: throttling, a
// timeout talking to a dependency, a lock that is momentarily busy.
type TransientError struct {
	Message string `json:"message"`
}

func (e *TransientError) Error() string { return e.Message }

// PreflightFailed means the deployment was refused before anything changed:
// bad input, an unknown environment, a missing or corrupt release, an unsafe
// migration, a target that is not ready.
type PreflightFailed struct {
	Message string `json:"message"`
}

func (e *PreflightFailed) Error() string { return e.Message }

// LockHeld means a person froze the environment with a manual lock.
// Automation never overrides it, so it is not retried.
type LockHeld struct {
	Message string `json:"message"`
	Holder  string `json:"holder,omitempty"`
}

func (e *LockHeld) Error() string { return e.Message }

// DeploymentInProgress means another deployment held the environment's
// lease for longer than this one may wait (the manifest's
// rollout.lease_wait): a refusal that names the holder. While it waits,
// AcquireLock answers Held false and the state machine asks again.
type DeploymentInProgress struct {
	Message string `json:"message"`
	Holder  string `json:"holder,omitempty"`
}

func (e *DeploymentInProgress) Error() string { return e.Message }

// Superseded means a newer push for the environment arrived before this
// deployment took the lock: the latest push wins, this one changes nothing.
type Superseded struct {
	Message string `json:"message"`
	By      string `json:"by,omitempty"`
}

func (e *Superseded) Error() string { return e.Message }

// Frozen means the environment is inside a freeze window and the request
// did not override it.
type Frozen struct {
	Message string `json:"message"`
}

func (e *Frozen) Error() string { return e.Message }

// Untested means the manifest requires a tested build (require: tested,
// the default for production) and the release's provenance record does
// not show one.
type Untested struct {
	Message string `json:"message"`
}

func (e *Untested) Error() string { return e.Message }

// Rejected means a person rejected the deployment at its approval step.
type Rejected struct {
	Message string `json:"message"`
}

func (e *Rejected) Error() string { return e.Message }

// MigrationBlocked means the migration policy refused the release's
// pending migrations (their class, or lint errors) in Preflight, before
// any lock or snapshot: a gate, not a failure.
type MigrationBlocked struct {
	Message string `json:"message"`
}

func (e *MigrationBlocked) Error() string { return e.Message }

// SnapshotFailed means the pre-migration snapshot could not be taken.
type SnapshotFailed struct {
	Message string `json:"message"`
}

func (e *SnapshotFailed) Error() string { return e.Message }

// MigrationFailed means a migration could not be applied or reverted.
type MigrationFailed struct {
	Message string `json:"message"`
	Version int64  `json:"version,omitempty"`
}

func (e *MigrationFailed) Error() string { return e.Message }

// DeployFailed means a wave's release activation failed on one or more
// instances for a reason other than the health check.
type DeployFailed struct {
	Message string `json:"message"`
}

func (e *DeployFailed) Error() string { return e.Message }

// HealthCheckFailed means an instance did not serve the expected version
// healthily within the health check's attempts.
type HealthCheckFailed struct {
	Message string `json:"message"`
}

func (e *HealthCheckFailed) Error() string { return e.Message }

// SmokeCheckFailed means a smoke check of the manifest failed on an
// instance of a wave, or through the load balancer after the last wave.
type SmokeCheckFailed struct {
	Message string `json:"message"`
}

func (e *SmokeCheckFailed) Error() string { return e.Message }

// AlarmFired means a watched CloudWatch alarm was in ALARM during a wave or
// the bake window.
type AlarmFired struct {
	Message string   `json:"message"`
	Alarms  []string `json:"alarms,omitempty"`
}

func (e *AlarmFired) Error() string { return e.Message }

// RollbackFailed means Slipway could not put the previous release back
// everywhere; a person must look.
type RollbackFailed struct {
	Message string `json:"message"`
}

func (e *RollbackFailed) Error() string { return e.Message }

// FleetMismatch means the fleet observed at the end of a deployment is not
// uniformly on the new release, answering with it and healthy: an instance
// stopped answering after its wave, or was changed behind Slipway's back.
// The deploy machine sets it (a Pass state) and rolls back.
type FleetMismatch struct {
	Message string `json:"message"`
}

func (e *FleetMismatch) Error() string { return e.Message }

// Refusals are the errors that end a deployment because something refused
// it (a person's lock, a freeze, a newer push, a rejection, the migration
// policy, an untested build), not because it failed. Each ends it before
// its migrations and its rollout.
var Refusals = []string{"LockHeld", "DeploymentInProgress", "Superseded", "Frozen", "Rejected", "MigrationBlocked", "Untested"}

// Refusal reports whether the error named errName is one of Refusals.
func Refusal(errName string) bool { return slices.Contains(Refusals, errName) }

// ErrorNames lists the names of every error type above, for tests that check
// the ASL's ErrorEquals against them.
var ErrorNames = []string{
	"TransientError",
	"PreflightFailed",
	"LockHeld",
	"DeploymentInProgress",
	"Superseded",
	"Frozen",
	"Untested",
	"Rejected",
	"MigrationBlocked",
	"SnapshotFailed",
	"MigrationFailed",
	"DeployFailed",
	"HealthCheckFailed",
	"SmokeCheckFailed",
	"CanaryFailed",
	"AlarmFired",
	"RollbackFailed",
	"FleetMismatch",
}
