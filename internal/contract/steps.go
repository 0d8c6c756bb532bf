package contract

import "encoding/json"

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

// PreflightDetail is the detail of Preflight's ok step: the plan it made,
// kept in the ledger so that whoever has only the ledger (a report rebuilt
// without the execution's state, the closer looking for the targets' tags,
// the CLI drawing the waves) reads it as Preflight wrote it.
type PreflightDetail struct {
	Waves      [][]string        `json:"waves"`
	Migrations *MigrationPlan    `json:"migrations"`
	Artifact   Artifact          `json:"artifact"`
	Tags       map[string]string `json:"tags"`
	Config     *ConfigPrint      `json:"config"`
}

// ParsePreflightDetail reads a preflight step's detail. It reports false
// for the detail of another step (a freeze override's, say) and for none.
func ParsePreflightDetail(raw []byte) (PreflightDetail, bool) {
	var d PreflightDetail
	if len(raw) == 0 || json.Unmarshal(raw, &d) != nil || d.Waves == nil {
		return PreflightDetail{}, false
	}
	return d, true
}
