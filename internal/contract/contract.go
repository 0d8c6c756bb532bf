package contract

import (
	"encoding/json"
	"time"
)

// Final statuses of a deployment. Each means exactly one thing, and each is
// decided from what Slipway observed at the end (every instance's current
// release, what it answers and whether it is healthy, and the schema
// version), never from the path the execution took. A fleet that is not
// uniformly on one release, healthy, is never SUCCEEDED or ROLLED_BACK.
const (
	// StatusRunning: the execution has not finished.
	StatusRunning = "RUNNING"
	// StatusSucceeded: every target instance's current release is the new
	// one, it answers with that version and is healthy, and the bake window
	// passed with no alarm.
	StatusSucceeded = "SUCCEEDED"
	// StatusRolledBack: the deployment failed (or an alarm fired) after it
	// changed something; every target instance is observed back on the
	// release that served before, healthy, and the schema is back at its
	// version before the deployment (reverted, or never changed). For a
	// rollback execution: every instance serves the target release, healthy.
	StatusRolledBack = "ROLLED_BACK"
	// StatusRolledBackSchemaKept: as ROLLED_BACK for the fleet, but the
	// schema is not at its version before the deployment: migrations that
	// are not reversible stay, or a no-transaction migration stopped part
	// way with its first statements applied. The report names the snapshot
	// and the exact restore procedure.
	StatusRolledBackSchemaKept = "ROLLED_BACK_SCHEMA_KEPT"
	// StatusRollbackFailed: a rollback was attempted and the fleet is not
	// observed uniformly on the release it returned to, healthy (or could
	// not be observed): some instances may still run the new release.
	StatusRollbackFailed = "ROLLBACK_FAILED"
	// StatusFailed: the deployment ended before it changed anything: no
	// instance was moved and no migration ran (a refusal, a failure before
	// the first change, a stop before the first change).
	StatusFailed = "FAILED"
	// StatusStopped: a person stopped the execution (Ctrl-C, StopExecution)
	// or it timed out after it had changed something, and it did not roll
	// back. The summary says what every instance was observed serving and
	// the command that brings the environment back to one release.
	StatusStopped = "STOPPED"
	// StatusAbandoned: the execution's owner is gone (its process was
	// killed; on AWS the execution failed outside a Catch) after it had
	// changed something. A later deployment, the execution-status rule or
	// `slipway status` closed its record from what it observed then.
	StatusAbandoned = "ABANDONED"
)

// Statuses lists the final statuses, in the order the README's table
// explains them.
var Statuses = []string{StatusSucceeded, StatusRolledBack, StatusRolledBackSchemaKept, StatusRollbackFailed, StatusFailed, StatusStopped, StatusAbandoned}

// RolledBack reports whether status says the fleet was observed back on the
// release that served before (whatever happened to the schema).
func RolledBack(status string) bool {
	return status == StatusRolledBack || status == StatusRolledBackSchemaKept
}

// Execution limits. The definitions in statemachine/ must agree with them,
// and a test there checks that every Wait, Task and callback timeout, with
// its retries, fits inside its execution's timeout.
const (
	// ApprovalSeconds is how long a deployment waits for a person's
	// approval (RequestApproval's TimeoutSeconds): 24 hours.
	ApprovalSeconds = 86400
	// DeployTimeoutSeconds is the deploy machine's TimeoutSeconds: the
	// approval, then up to 6 hours for everything after it (the bake is at
	// most 4 hours; see manifest.MaxBake).
	DeployTimeoutSeconds = ApprovalSeconds + 6*3600
	// RollbackTimeoutSeconds is the rollback machine's TimeoutSeconds.
	RollbackTimeoutSeconds = 3 * 3600
	// LeaseSeconds is the environment lease's time to live. It outlives the
	// longest execution, so a running execution never loses its lease to
	// expiry; an execution whose owner is gone is found by the next one
	// (and on AWS by the execution-status rule) and its lease taken over.
	LeaseSeconds = DeployTimeoutSeconds
	// MaxLeaseWaitSeconds bounds the manifest's rollout.lease_wait.
	MaxLeaseWaitSeconds = 3600
)

// Kinds of execution.
const (
	KindDeploy   = "deploy"
	KindRollback = "rollback"
)

// DeployRequest is the input of the deploy state machine, as a git push
// event, the CLI or the console gives it.
type DeployRequest struct {
	App         string  `json:"app"`
	Environment string  `json:"environment"`
	Version     string  `json:"version"`
	Trigger     Trigger `json:"trigger,omitempty"`
	// OverrideFreeze deploys inside a freeze window; Trigger.Reason must
	// say why. Every override is recorded.
	OverrideFreeze bool `json:"override_freeze,omitempty"`
	// ConfigOnly deploys the configuration the manifest gives now to the
	// release that serves (Version is that release, or empty): a new
	// configuration through the same waves, health gate and rollback.
	ConfigOnly bool `json:"config_only,omitempty"`
}

// RollbackRequest is the input of the rollback state machine: roll the
// environment's last deployment back, to ToVersion or to the release that
// served before it.
type RollbackRequest struct {
	App         string  `json:"app"`
	Environment string  `json:"environment"`
	ToVersion   string  `json:"to_version,omitempty"`
	Trigger     Trigger `json:"trigger,omitempty"`
}

// Trigger says what started an execution.
type Trigger struct {
	Source string `json:"source,omitempty"` // push, cli, console, alarm, demo
	Actor  string `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`
	Commit string `json:"commit,omitempty"`
	Alarm  string `json:"alarm,omitempty"`
	// CommittedAt is when the pushed commit was made, as the git host
	// reports it (a GitHub push's head_commit.timestamp): `slipway
	// stats` measures lead time from it. Zero when unknown.
	CommittedAt time.Time `json:"committed_at,omitzero"`
	// PushedAt is when the push happened (the push event's time), for a
	// push-triggered deployment: it orders pushes, so that the latest one
	// wins whichever execution reaches the lease first. Zero otherwise.
	PushedAt time.Time `json:"pushed_at,omitzero"`
}

// State is the document that flows through an execution ($ in the ASL).
// The Init state creates it from the execution input; each stage adds its
// output under its own key with ResultPath. Request stays raw so that a
// malformed input still reaches Preflight, which explains what is wrong.
type State struct {
	Request      json.RawMessage `json:"request"`
	Kind         string          `json:"kind"`
	DeploymentID string          `json:"deployment_id"`
	ExecutionID  string          `json:"execution_id"`
	StartedAt    string          `json:"started_at"`

	Preflight *PreflightOutput `json:"preflight,omitempty"`
	Lock      *LockOutput      `json:"lock,omitempty"`
	Snapshot  *SnapshotOutput  `json:"snapshot,omitempty"`
	Migration *MigrateOutput   `json:"migration,omitempty"`
	HostCheck *DeployOutput    `json:"host_check,omitempty"`
	// ResourceCheck is the hosts' free resources check, before the lock.
	ResourceCheck *DeployOutput   `json:"resource_check,omitempty"`
	Approval      *ApprovalOutput `json:"approval,omitempty"`
	Plan          *RolloutPlan    `json:"plan,omitempty"`
	Rollout       *RolloutCursor  `json:"rollout,omitempty"`
	Command       *DeployOutput   `json:"command,omitempty"`
	Probe         *HealthOutput   `json:"probe,omitempty"`
	Bake          *BakeCursor     `json:"bake,omitempty"`
	BakeCheck     *HealthOutput   `json:"bake_check,omitempty"`
	// HookCommand is the traffic hook's command (hook, hook-poll) where
	// traffic is switched.
	HookCommand *DeployOutput `json:"hook_command,omitempty"`
	// Smoked is the idle side's smoke checks' answer (blue/green).
	Smoked *HealthOutput `json:"smoked,omitempty"`
	// Traffic is the current wave's place behind the load balancer
	// (traffic in place): DetachWave, CheckDrained, AttachWave and
	// CheckInService keep it.
	Traffic *TrafficState `json:"traffic,omitempty"`
	// BlueGreen is the blue/green path's state (the bluegreen-* actions'
	// DeployOutput), when the manifest's strategy is blue-green.
	BlueGreen *DeployOutput `json:"bluegreen,omitempty"`

	// Error is what a Catch caught on the way forward.
	Error *StateError `json:"error,omitempty"`
	// Stopped is set, never by the definitions, when Slipway closes the
	// record of an execution that ended without reaching Record: stopped by
	// a person, timed out, or whose owner is gone. No rollback was attempted.
	Stopped *StateError `json:"stopped,omitempty"`

	// RollbackWave is the wave a rollback behind a load balancer is at,
	// walking the waves in reverse.
	RollbackWave  *RolloutCursor  `json:"rollback_wave,omitempty"`
	Rollback      *RollbackOutput `json:"rollback,omitempty"`
	RollbackProbe *HealthOutput   `json:"rollback_probe,omitempty"`
	SchemaRevert  *MigrateOutput  `json:"schema_revert,omitempty"`
	RollbackError *StateError     `json:"rollback_error,omitempty"`
	// RollbackLeftOut is set when a rollback wave failed between its
	// detach and its return to service: Traffic.Groups are its instances,
	// out of their target groups.
	RollbackLeftOut bool `json:"rollback_left_out,omitempty"`

	// Observation is what the fleet and the schema were observed to be
	// before Record (after the bake, and again at the end of a rollback);
	// ObserveError is why they could not be observed.
	Observation  *Observation `json:"observation,omitempty"`
	ObserveError *StateError  `json:"observe_error,omitempty"`

	Outcome *RecordOutput `json:"outcome,omitempty"`
	Unlock  *LockOutput   `json:"unlock,omitempty"`
}

// StateError is the error output a Catch writes: Step Functions' own shape.
type StateError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Preflight actions.
const (
	// PreflightCheck (the default) validates the request before the lock.
	PreflightCheck = "check"
	// PreflightResolve runs under the lease, right after AcquireLock: it
	// reads again everything that depends on what serves now (the release
	// to return to, its health settings, the schema version, the targets),
	// so that a deployment that waited for another one never rolls back to
	// a stale release.
	PreflightResolve = "resolve"
)

// PreflightInput is the input of the Preflight and Resolve tasks.
type PreflightInput struct {
	Action       string          `json:"action,omitempty"`
	Request      json.RawMessage `json:"request"`
	Kind         string          `json:"kind"`
	DeploymentID string          `json:"deployment_id"`
	ExecutionID  string          `json:"execution_id"`
	StartedAt    string          `json:"started_at"`
	// Preflight is, for Resolve, what Preflight found before the lock.
	Preflight *PreflightOutput `json:"preflight,omitempty"`
}

// PreflightOutput is everything later stages need, resolved once: the
// release, its checksum, the targets in waves and the manifest's settings.
// Per-instance details beyond ids live in the ledger, not here.
type PreflightOutput struct {
	App             string   `json:"app"`
	Environment     string   `json:"environment"`
	Version         string   `json:"version"`
	PreviousVersion string   `json:"previous_version"`
	Artifact        Artifact `json:"artifact"`
	// TargetDeploymentID is, for a rollback execution, the deployment it rolls back.
	TargetDeploymentID string `json:"target_deployment_id,omitempty"`

	Instances []string          `json:"instances"`
	Tags      map[string]string `json:"tags"`
	// RequireOnHosts is the release every host must still have before the
	// lock is taken: the rollback target ("" on a first deployment).
	RequireOnHosts string     `json:"require_on_hosts"`
	Waves          [][]string `json:"waves"`
	WaveCount      int        `json:"wave_count"`
	PollSeconds    int        `json:"poll_seconds"`

	Health HealthSpec `json:"health"`
	// RollbackHealth is how the release a rollback returns to is probed:
	// that release's own health settings, not the new one's.
	RollbackHealth HealthSpec    `json:"rollback_health"`
	Bake           BakeSpec      `json:"bake"`
	Alarms         []string      `json:"alarms"`
	Migrations     MigrationPlan `json:"migrations"`

	LockTTLSeconds int `json:"lock_ttl_seconds"`
	// LeaseWaitSeconds bounds how long AcquireLock waits for another
	// deployment's lease; LockPollSeconds is how often it looks again.
	LeaseWaitSeconds int `json:"lease_wait_seconds"`
	LockPollSeconds  int `json:"lock_poll_seconds"`
	// Resolved is set once Resolve has read, under the lease, what serves.
	Resolved bool `json:"resolved"`
	// Trigger is what started the deployment.
	Trigger Trigger `json:"trigger"`
	// ApprovalRequired pauses the execution for a person's approval
	// before the lock is taken.
	ApprovalRequired bool `json:"approval_required"`
	// WatchSeconds is how long after success an alarm still rolls back.
	WatchSeconds int `json:"watch_seconds"`
	// Traffic says the environment serves behind load balancer target
	// groups: each wave is detached, drained, deployed and attached.
	Traffic bool `json:"traffic"`
	// TargetGroups are the groups a wave leaves and goes back to.
	TargetGroups []string `json:"target_groups,omitempty"`
	// PutBack are, per target group, the instances that closing an
	// earlier unfinished deployment left out of it (not healthy on a
	// release that served then): this deployment's waves register them
	// with the rest once they are healthy on its release. Always present
	// (null when none): DetachWave reads it.
	PutBack map[string][]string `json:"put_back"`
	// BlueGreen is set when the manifest's rollout.strategy is blue-green.
	BlueGreen *BlueGreenSpec `json:"blue_green,omitempty"`
	// WarmSide is set, for a rollback of a blue/green deployment whose old
	// side is still warm (within the manifest's rollout.keep_warm, still
	// registered and healthy on the release to return to): the rollback is
	// one switch of the listener back to it, with no host touched
	// (pipeline.BlueGreen's switch_back on this state).
	WarmSide *BlueGreenState `json:"warm_side,omitempty"`
	// Config is the configuration this deployment activates: references
	// and fingerprints, never values. Nil when the manifest declares none.
	Config *ConfigPrint `json:"config,omitempty"`
	// Hooks are the release's lifecycle hooks, as the host script runs
	// them on each instance (for the plan's checklist).
	Hooks []HookSpec `json:"hooks,omitempty"`
	// HostFloor is what every host must have free before the lock is
	// taken (CheckResources); nil skips the check.
	HostFloor *HostFloor `json:"host_floor,omitempty"`
	// SmokeEndpoint is the environment's load balancer URL when the
	// release has smoke checks: they run through it after the last wave
	// (the SmokeBalancer state). Empty otherwise.
	SmokeEndpoint string `json:"smoke_endpoint,omitempty"`
	// Canary is the canary analysis of the first wave (the manifest's
	// rollout.canary), run once that wave is in service, against the
	// instances not yet deployed; nil when there is none.
	// CanarySkipped says why a manifest's analysis does not run here (a
	// plan of one wave, a first deployment).
	Canary        *CanarySpec `json:"canary,omitempty"`
	CanarySkipped string      `json:"canary_skipped,omitempty"`
	// BeforeTraffic and AfterTraffic are set when the release has that
	// hook and the environment switches traffic (a load balancer's target
	// groups, or blue/green): the Choice states before the hook states
	// test for them.
	BeforeTraffic bool `json:"before_traffic,omitempty"`
	AfterTraffic  bool `json:"after_traffic,omitempty"`
	// RollbackBeforeTraffic and RollbackAfterTraffic are the same for the
	// release a rollback returns to (its own hooks, read under the lease):
	// an in-place rollback wave behind a load balancer runs them.
	RollbackBeforeTraffic bool `json:"rollback_before_traffic,omitempty"`
	RollbackAfterTraffic  bool `json:"rollback_after_traffic,omitempty"`
}

// HookSpec is one lifecycle hook of a release.
type HookSpec struct {
	Name           string `json:"name"`
	Run            string `json:"run"`
	TimeoutSeconds int    `json:"timeout_seconds"`
}

// HostFloor is the free disk, memory and inodes every host must have
// before a deployment takes the lock.
type HostFloor struct {
	// DiskKB is the free disk, in KiB, the release volume needs: the
	// bundle, the bundle unpacked and the manifest's host.disk_margin.
	DiskKB int64 `json:"disk_kb"`
	// Need says what DiskKB is made of, for the refusal.
	Need string `json:"need"`
	// MemoryKB is host.min_memory in KiB (0: not checked).
	MemoryKB int64 `json:"memory_kb,omitempty"`
	// Inodes is host.min_inodes (0: not checked).
	Inodes int64 `json:"inodes,omitempty"`
}

// ConfigPrint is a deployment's configuration as it may travel and be
// recorded: a keyed fingerprint of the resolved set, one print per key (to
// tell which keys changed), and the keys that differ from what serves.
type ConfigPrint struct {
	// Fingerprint is appconfig.Fingerprint of the resolved set.
	Fingerprint string `json:"fingerprint"`
	// Keys is appconfig.KeyPrints: a keyed print per variable set.
	Keys map[string]string `json:"keys,omitempty"`
	// Changed names the variables added, removed or changed since the
	// deployment that serves now (sorted); empty on a first deployment.
	Changed []string `json:"changed,omitempty"`
	// Previous is the fingerprint of the configuration that serves now:
	// what a rollback restores with the previous release.
	Previous string `json:"previous,omitempty"`
}

// Artifact names a release bundle and the SHA-256 every stage verifies.
type Artifact struct {
	URI    string `json:"uri"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Config is the fingerprint of the configuration the hosts activate
	// the release with (Preflight copies PreflightOutput.Config's): it
	// travels with the bundle to every state that activates it. Empty when
	// the manifest declares no configuration.
	Config string `json:"config,omitempty"`
}

// HealthSpec is how a wave's instances are probed: MaxAttempts probes,
// IntervalSeconds apart, until Successes consecutive answers with
// ExpectStatus and the expected version.
type HealthSpec struct {
	Path            string `json:"path"`
	ExpectStatus    int    `json:"expect_status"`
	Successes       int    `json:"successes"`
	IntervalSeconds int    `json:"interval_seconds"`
	MaxAttempts     int    `json:"max_attempts"`
	// Smoke are the manifest's smoke checks, run once the instances are
	// healthy (and through the load balancer after the last wave).
	Smoke []SmokeCheck `json:"smoke,omitempty"`
	// Redact references the configuration's secret values (ssm:/x,
	// secret:y#k, never a value): the health function resolves them and
	// cuts them out of what a smoke check records.
	Redact []string `json:"redact,omitempty"`
}

// SmokeCheck is one smoke check as it runs (manifest.SmokeCheck with its
// defaults filled in).
type SmokeCheck struct {
	Name         string            `json:"name"`
	Method       string            `json:"method"`
	Path         string            `json:"path"`
	Headers      map[string]string `json:"headers,omitempty"`
	Body         string            `json:"body,omitempty"`
	ExpectStatus int               `json:"expect_status"`
	BodyContains string            `json:"body_contains,omitempty"`
	// JSON maps a dotted path into the answer's JSON body to the value
	// expected there.
	JSON         map[string]json.RawMessage `json:"json,omitempty"`
	MaxLatencyMS int                        `json:"max_latency_ms"`
}

// BakeSpec is the window after the last wave in which alarms roll back.
type BakeSpec struct {
	Seconds         int `json:"seconds"`
	IntervalSeconds int `json:"interval_seconds"`
}

// MigrationPlan is the schema's position before the deployment.
type MigrationPlan struct {
	Current int64   `json:"current"`
	Target  int64   `json:"target"`
	Pending []int64 `json:"pending"`
	// Ahead lists versions applied to the database that the release does not
	// know (an application rollback); they are reported, not an error.
	Ahead []int64 `json:"ahead,omitempty"`
	// Engine is the dialect the migrations were linted as.
	Engine string `json:"engine,omitempty"`
	// EngineWarning says that the migrations are written for another
	// engine than the environment's database (migrations.engine, or the
	// syntax the files use), when they are.
	EngineWarning string `json:"engine_warning,omitempty"`
	// Checks are the lint verdicts on the pending migrations.
	Checks []MigrationCheck `json:"checks,omitempty"`
	// ResumeVersion and ResumeAt are set when a migration that stopped part
	// way will be resumed at statement ResumeAt.
	ResumeVersion int64 `json:"resume_version,omitempty"`
	ResumeAt      int   `json:"resume_at,omitempty"`
}

// MigrationCheck is the lint verdict on one pending migration.
type MigrationCheck struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
	// Class is expand, contract or destructive.
	Class      string `json:"class"`
	Reversible bool   `json:"reversible"`
	// Mode is how it runs: in one transaction or statement by statement.
	Mode string `json:"mode"`
	// Allowed is set when the manifest names it in migrations.allow.
	Allowed  bool               `json:"allowed,omitempty"`
	Findings []MigrationFinding `json:"findings,omitempty"`
}

// MigrationFinding is one lint finding; an ignored one carries the reason
// its slipway:ignore gave.
type MigrationFinding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Ignored  bool   `json:"ignored,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// LockInput is the input of the AcquireLock and ReleaseLock tasks.
type LockInput struct {
	Action       string `json:"action"` // acquire or release
	App          string `json:"app"`
	Environment  string `json:"environment"`
	Owner        string `json:"owner"` // the execution id
	DeploymentID string `json:"deployment_id"`
	TTLSeconds   int    `json:"ttl_seconds,omitempty"`
	// Version and Trigger let a push-triggered deployment step aside for a
	// newer push.
	Version string  `json:"version,omitempty"`
	Trigger Trigger `json:"trigger,omitempty"`
	// WaitSeconds bounds the wait for another deployment's lease; Previous
	// is the last answer while waiting (when the wait began).
	WaitSeconds int         `json:"wait_seconds,omitempty"`
	Previous    *LockOutput `json:"previous,omitempty"`
}

// LockOutput reports the lease after the action. While another deployment
// holds it, Held is false and Waiting says for whom the execution waits.
type LockOutput struct {
	Held      bool   `json:"held"`
	Owner     string `json:"owner,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`

	Waiting *LeaseWait `json:"waiting,omitempty"`
}

// LeaseWait is a wait for another deployment's lease.
type LeaseWait struct {
	// Holder is the deployment that holds the lease, who started it and
	// the stage it was at when last seen.
	Holder      string `json:"holder"`
	HolderActor string `json:"holder_actor,omitempty"`
	HolderStage string `json:"holder_stage,omitempty"`
	// Since is when this execution began to wait (RFC 3339); NotedAt when
	// it last wrote a ledger step about it.
	Since   string `json:"since"`
	NotedAt string `json:"noted_at,omitempty"`
}

// SnapshotInput is the input of the Snapshot and CheckSnapshot tasks.
type SnapshotInput struct {
	Action       string `json:"action"` // create or status
	DeploymentID string `json:"deployment_id"`
	App          string `json:"app"`
	Environment  string `json:"environment"`
	SnapshotID   string `json:"snapshot_id,omitempty"`
	// Pending lists the migrations the release will apply; with none, no
	// snapshot is needed.
	Pending []int64 `json:"pending"`
}

// Snapshot statuses.
const (
	SnapshotCreating  = "creating"
	SnapshotAvailable = "available"
	SnapshotSkipped   = "skipped"
)

// SnapshotOutput reports the snapshot.
type SnapshotOutput struct {
	SnapshotID string `json:"snapshot_id,omitempty"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
}

// Migrate actions.
const (
	MigrateUp      = "up"
	MigrateRevert  = "revert"
	MigrateObserve = "observe" // ObserveSchema: read the schema version, change nothing
)

// MigrateInput is the input of the Migrate, RevertSchema and ObserveSchema tasks.
type MigrateInput struct {
	Action       string   `json:"action"` // up, revert or observe
	DeploymentID string   `json:"deployment_id"`
	App          string   `json:"app"`
	Environment  string   `json:"environment"`
	Version      string   `json:"version"`
	Artifact     Artifact `json:"artifact"`
}

// MigrateOutput reports what the schema did.
type MigrateOutput struct {
	From     int64   `json:"from"`
	To       int64   `json:"to"`
	Applied  []int64 `json:"applied,omitempty"`
	Reverted []int64 `json:"reverted,omitempty"`
	// Kept lists migrations a revert left in place because they are not
	// reversible; Restore then says how to get the old schema back.
	Kept    []int64 `json:"kept,omitempty"`
	Restore string  `json:"restore,omitempty"`
	// Observed is ObserveSchema's answer.
	Observed *SchemaObservation `json:"observed,omitempty"`
}

// RolloutPlan is the waves the rollout loop walks. It starts as
// Preflight's plan; the drift check at the end may add a wave for
// instances that joined during the deployment.
type RolloutPlan struct {
	Waves       [][]string `json:"waves"`
	WaveCount   int        `json:"wave_count"`
	DriftRounds int        `json:"drift_rounds"`
	Joined      []string   `json:"joined"`
	Left        []string   `json:"left"`
}

// RolloutCursor is the wave loop's position.
type RolloutCursor struct {
	Wave int `json:"wave"`
}

// Deploy actions.
const (
	DeploySend      = "send"       // DeployWave: activate the release on a wave
	DeployPoll      = "poll"       // CheckWave
	DeployHosts     = "hosts"      // SendHostCheck: ask every host what it has
	DeployHostsPoll = "hosts-poll" // CheckHosts
	DeployDrift     = "drift"      // CheckDrift: resolve the targets again
	// DeployResources and DeployResourcesPoll (SendResourceCheck,
	// CheckResources) ask every host, before the lock, what disk, memory
	// and inodes it has free, against the preflight's HostFloor.
	DeployResources     = "resources"
	DeployResourcesPoll = "resources-poll"
	// DeployObserve and DeployObservePoll (ObserveFleet, CheckObservation)
	// ask every target what its current release is, what it answers and
	// whether it is healthy.
	DeployObserve     = "observe"
	DeployObservePoll = "observe-poll"
	// Traffic in place, for an environment with target groups: each wave
	// is taken out of its groups (DetachWave), drained (CheckDrained),
	// deployed and probed, put back (AttachWave) and waited on until the
	// balancer reports it healthy (CheckInService).
	DeployDetach    = "detach"
	DeployDrained   = "drained"
	DeployAttach    = "attach"
	DeployInService = "in-service"
	// DeployHook and DeployHookPoll run a traffic hook (DeployInput.Hook:
	// before_traffic or after_traffic) of the release on instances where
	// traffic is switched, and poll it: the host script's hook action.
	DeployHook     = "hook"
	DeployHookPoll = "hook-poll"
)

// TrafficState is $.traffic, a wave's place behind the load balancer:
// the groups each of its instances was registered in before it was taken
// out (an instance registered nowhere, a standby, is deployed but not put
// in), and how long the current wait may go on.
type TrafficState struct {
	// Groups maps a target group to the wave's instances it held.
	Groups map[string][]string `json:"groups"`
	// Deadline (RFC 3339) ends the current wait (draining or in service).
	Deadline string `json:"deadline"`
	// Done says the current wait is over.
	Done bool `json:"done"`
	// Waiting are the instances the current wait is still on.
	Waiting []string `json:"waiting,omitempty"`
}

// DeployInput is the input of the Deploy function's tasks: DeployWave,
// CheckWave, SendHostCheck, CheckHosts and CheckDrift.
type DeployInput struct {
	Action       string   `json:"action"`
	DeploymentID string   `json:"deployment_id"`
	App          string   `json:"app"`
	Environment  string   `json:"environment"`
	Version      string   `json:"version"`
	Artifact     Artifact `json:"artifact"`
	Wave         int      `json:"wave"`
	InstanceIDs  []string `json:"instance_ids"`
	CommandID    string   `json:"command_id,omitempty"`
	// Tags and Plan are for the drift check (and Tags for an observation).
	Tags map[string]string `json:"tags,omitempty"`
	Plan *RolloutPlan      `json:"plan,omitempty"`
	// PutBack is, for detach, Preflight's PutBack: instances of the wave
	// listed there are recorded as the group's, so that attach registers
	// them, though they are not in the group now.
	PutBack map[string][]string `json:"put_back,omitempty"`
	// Unreachable are, for CheckObservation, the targets ObserveFleet could
	// not send the status command to.
	Unreachable []string `json:"unreachable,omitempty"`
	// Traffic is, for CheckDrained, AttachWave and CheckInService, what
	// DetachWave found.
	Traffic *TrafficState `json:"traffic,omitempty"`
	// BlueGreen is, for the bluegreen-* actions, the blue/green input
	// (pipeline.BlueGreen).
	BlueGreen *BlueGreenInput `json:"blue_green,omitempty"`
	// HostFloor is, for CheckResources, what every host must have free.
	HostFloor *HostFloor `json:"host_floor,omitempty"`
	// Hook is, for hook and hook-poll, the traffic hook: before_traffic
	// or after_traffic. Where says, for the ledger, where traffic is
	// switched ("the green side", "wave 2").
	Hook  string `json:"hook,omitempty"`
	Where string `json:"where,omitempty"`
}

// Command statuses, as SSM reports them for a whole command.
const (
	CommandInProgress = "InProgress"
	CommandSuccess    = "Success"
)

// DeployOutput reports a wave's command: counts and ids only.
type DeployOutput struct {
	CommandID string `json:"command_id"`
	Wave      int    `json:"wave"`
	Status    string `json:"status"`
	Total     int    `json:"total"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	Pending   int    `json:"pending"`
	// Plan is the drift check's answer: the plan, with a wave added for
	// instances that joined.
	Plan *RolloutPlan `json:"plan,omitempty"`
	// Fleet is the observation's answer, once every target answered;
	// Unreachable are the targets that could not take the status command.
	Fleet       *FleetObservation `json:"fleet,omitempty"`
	Unreachable []string          `json:"unreachable"`
	// Traffic is the traffic-in-place actions' answer.
	Traffic *TrafficState `json:"traffic,omitempty"`
	// BlueGreen is the bluegreen-* actions' answer.
	BlueGreen *BlueGreenState `json:"blue_green,omitempty"`
}

// Observation is $.observation: what the fleet and the schema were
// observed to be. The fleet part is CheckObservation's DeployOutput; the
// schema part is ObserveSchema's.
type Observation struct {
	CommandID string             `json:"command_id"`
	Status    string             `json:"status"`
	Fleet     *FleetObservation  `json:"fleet,omitempty"`
	Schema    *SchemaObservation `json:"schema,omitempty"`
}

// FleetObservation sums up what every target instance was observed doing;
// each instance's own answer is in the ledger (action "observe").
type FleetObservation struct {
	Total int `json:"total"`
	// Versions counts the instances by the release their current link
	// points at ("" for none).
	Versions map[string]int `json:"versions"`
	// Uniform is the release every instance is on, answers with and is
	// healthy on, with one configuration; "" when the fleet is not uniform.
	Uniform string `json:"uniform"`
	// Configs counts the instances by the fingerprint of the configuration
	// their current release runs with, when any runs with one; Config is
	// the one every instance runs with when Uniform is set.
	Configs     map[string]int `json:"configs,omitempty"`
	Config      string         `json:"config,omitempty"`
	Healthy     int            `json:"healthy"`
	Unreachable int            `json:"unreachable"`
	// Problems names the first few instances that are not as Uniform says;
	// Problem is one line for a person (and a Cause).
	Problems []string `json:"problems"`
	Problem  string   `json:"problem"`
}

// SchemaObservation is the schema's observed version.
type SchemaObservation struct {
	// Known is false when the database could not be read; Note says why.
	Known   bool    `json:"known"`
	Version int64   `json:"version"`
	Dirty   []int64 `json:"dirty"`
	Note    string  `json:"note,omitempty"`
}

// Health actions and probe statuses.
const (
	HealthProbe  = "probe"
	HealthAlarms = "alarms"
	// HealthSmoke runs the smoke checks through the load balancer's
	// Endpoint (after the last wave).
	HealthSmoke = "smoke"
	// HealthSmokeInstances runs the smoke checks on InstanceIDs directly:
	// a blue/green idle side once the balancer says it is healthy, before
	// any weight moves to it. Where names them for the ledger.
	HealthSmokeInstances = "smoke-instances"

	ProbeHealthy = "HEALTHY"
	ProbePending = "PENDING"
)

// HealthInput is the input of the Health function's tasks. With Action
// "probe" (ProbeWave, VerifyRollback) it probes InstanceIDs for
// ExpectedVersion and then checks Alarms; with Action "alarms" (CheckAlarms
// in the bake loop) it checks Alarms and says whether the window is over.
type HealthInput struct {
	Action       string   `json:"action"`
	DeploymentID string   `json:"deployment_id"`
	App          string   `json:"app"`
	Environment  string   `json:"environment"`
	Alarms       []string `json:"alarms"`

	// probe
	Wave        int      `json:"wave"`
	InstanceIDs []string `json:"instance_ids,omitempty"`
	// Waves, when set, is the rollout's plan: the probe checks every
	// instance of waves 1 to Wave, so an instance that stops answering
	// after its own wave passed fails the gate too.
	Waves           [][]string    `json:"waves,omitempty"`
	ExpectedVersion string        `json:"expected_version,omitempty"`
	Health          HealthSpec    `json:"health"`
	Previous        *HealthOutput `json:"previous,omitempty"`

	// smoke
	Endpoint string `json:"endpoint,omitempty"`
	Where    string `json:"where,omitempty"`

	// canary: the analysis, of Waves[Wave] (the canary) against the
	// waves after it (the instances not yet deployed); Previous carries
	// its cursor from one sample to the next.
	Canary *CanarySpec `json:"canary,omitempty"`

	// alarms
	StartedAt       string `json:"started_at,omitempty"`
	Now             string `json:"now,omitempty"`
	DurationSeconds int    `json:"duration_seconds,omitempty"`
}

// HealthOutput is the probe loop's position or the bake window's progress.
type HealthOutput struct {
	Wave        int    `json:"wave"`
	Status      string `json:"status"`
	Attempt     int    `json:"attempt"`
	Consecutive int    `json:"consecutive"`

	Done           bool `json:"done"`
	ElapsedSeconds int  `json:"elapsed_seconds"`

	// Canary is a canary analysis's cursor (HealthCanary).
	Canary *CanaryCursor `json:"canary,omitempty"`
}

// BakeCursor is when the bake window started (the execution's clock).
type BakeCursor struct {
	StartedAt string `json:"started_at"`
}

// RollbackInput is the input of the Rollback and CheckRollback tasks.
type RollbackInput struct {
	Action    string `json:"action"` // start or poll
	CommandID string `json:"command_id,omitempty"`
	// InstanceIDs, when set, limits the rollback to these instances: a
	// rollback wave by wave behind a load balancer (RollbackWave) moves one
	// wave at a time.
	InstanceIDs []string `json:"instance_ids,omitempty"`
	State       State    `json:"state"`
}

// Rollback statuses.
const (
	RollbackInProgress = "InProgress"
	RollbackDone       = "Done"
	RollbackNothing    = "Nothing"
	// RollbackByWave: behind a load balancer, once the rollout has begun,
	// Rollback moves nothing itself; the definition walks the waves in
	// reverse (RollbackWave*), each out of its target groups while it is
	// switched back.
	RollbackByWave = "ByWave"
)

// RollbackOutput reports the fleet part of a rollback.
type RollbackOutput struct {
	Status        string   `json:"status"`
	CommandID     string   `json:"command_id,omitempty"`
	FromVersion   string   `json:"from_version,omitempty"`
	ToVersion     string   `json:"to_version,omitempty"`
	InstanceIDs   []string `json:"instance_ids"`
	InstanceCount int      `json:"instance_count"`
	// Switched counts the instances whose current release the rollback
	// changed; the others were already on ToVersion.
	Switched int `json:"switched"`
	// TotalCount and TotalSwitched add InstanceCount and Switched up over
	// the waves of a rollback wave by wave behind a load balancer: the
	// waves before this one while it runs, this one too once it is Done.
	// Each wave's output replaces the last, so the record reads these.
	TotalCount    int `json:"total_count"`
	TotalSwitched int `json:"total_switched"`
}

// RecordOutput is the deployment's final word, as written to the ledger.
type RecordOutput struct {
	DeploymentID string `json:"deployment_id"`
	App          string `json:"app"`
	Environment  string `json:"environment"`
	Version      string `json:"version"`
	Status       string `json:"status"`
	Error        string `json:"error,omitempty"`
	Cause        string `json:"cause,omitempty"`
	Summary      string `json:"summary"`
}

// ApprovalInput is the payload of the RequestApproval task, which waits on
// its task token until a person approves or rejects.
type ApprovalInput struct {
	Token           string  `json:"token"`
	DeploymentID    string  `json:"deployment_id"`
	ExecutionID     string  `json:"execution_id"`
	App             string  `json:"app"`
	Environment     string  `json:"environment"`
	Version         string  `json:"version"`
	PreviousVersion string  `json:"previous_version"`
	InstanceCount   int     `json:"instance_count"`
	Pending         []int64 `json:"pending"`
	Trigger         Trigger `json:"trigger"`
}

// ApprovalOutput is what the approving person's SendTaskSuccess carries.
type ApprovalOutput struct {
	ApprovedBy string `json:"approved_by"`
	Reason     string `json:"reason,omitempty"`
}
