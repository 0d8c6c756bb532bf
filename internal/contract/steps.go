package contract

// Step statuses: how a stage's step ended, as the ledger records it. The
// pipeline writes them (pipeline.Step*) and the report reads them
// (report.Status*): both name these.
const (
	StepOK      = "ok"
	StepFailed  = "failed"
	StepSkipped = "skipped"
	StepInfo    = "info"
)

// Stage names of ledger steps, written by the pipeline's handlers and read
// by the report.
const (
	StagePreflight      = "preflight"
	StageApproval       = "approval"
	StageLock           = "lock"
	StageSnapshot       = "snapshot"
	StageMigrate        = "migrate"
	StageDrift          = "drift"
	StageRollout        = "rollout"
	StageHealth         = "health"
	StageBake           = "bake"
	StageObserve        = "observe"
	StageRollback       = "rollback"
	StageVerifyRollback = "verify-rollback"
	StageRevertSchema   = "revert-schema"
	StageRecord         = "record"
	StageUnlock         = "unlock"
)
