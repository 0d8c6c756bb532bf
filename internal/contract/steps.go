package contract

import (
	"encoding/json"
	"time"
)

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

// Kinds of step detail: a step that a reader acts on (the report above
// all) says what it is in its detail's "kind", so that nobody recognises
// it by the wording of its message.
const (
	// DetailHostCheck is Preflight's answer from the hosts: HostCheck.
	DetailHostCheck = "host-check"
	// DetailFreezeOverride is a deployment let through a freeze window:
	// FreezeOverride.
	DetailFreezeOverride = "freeze-override"
	// DetailAlarms is a health gate or a bake that failed on alarms in
	// ALARM: AlarmsFiring.
	DetailAlarms = "alarms"
	// DetailHostResources is the hosts' free resources check before the
	// lock: HostResources.
	DetailHostResources = "host-resources"
	// DetailSmoke is the smoke checks of a wave or through the load
	// balancer: SmokeDetail.
	DetailSmoke = "smoke"
)

// HostResources is the detail of the hosts' resources check.
type HostResources struct {
	Kind  string    `json:"kind"`
	Floor HostFloor `json:"floor"`
	// Short are the hosts with less free than the floor, Unreachable
	// those that did not say, Unknown the figures hosts could not tell.
	Short       []string `json:"short,omitempty"`
	Unreachable []string `json:"unreachable,omitempty"`
	Unknown     []string `json:"unknown,omitempty"`
}

// SmokeDetail is the detail of a smoke checks step: where they ran, the
// checks that failed (by name) and every result.
type SmokeDetail struct {
	Kind    string          `json:"kind"`
	Where   string          `json:"where"`
	Failed  []string        `json:"failed,omitempty"`
	Results json.RawMessage `json:"results"`
}

// ParseSmokeDetail reads a smoke checks step's detail.
func ParseSmokeDetail(raw []byte) (SmokeDetail, bool) {
	var d SmokeDetail
	if DetailKind(raw) != DetailSmoke || json.Unmarshal(raw, &d) != nil {
		return SmokeDetail{}, false
	}
	return d, true
}

// HostCheck is the detail of Preflight's host check step: whether every
// host still keeps Release, the release a rollback would return to.
type HostCheck struct {
	Kind    string `json:"kind"`
	Release string `json:"release"`
	// Missing are the hosts that no longer keep it; Unreachable, those
	// that did not say.
	Missing     []string `json:"missing,omitempty"`
	Unreachable []string `json:"unreachable,omitempty"`
}

// FreezeOverride is the detail of the step that records a freeze window
// overridden, with what the window was.
type FreezeOverride struct {
	Kind   string    `json:"kind,omitempty"`
	What   string    `json:"what"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
}

// AlarmsFiring is the detail of a step that failed on alarms in ALARM.
type AlarmsFiring struct {
	Kind   string        `json:"kind"`
	Alarms []FiringAlarm `json:"alarms"`
}

// FiringAlarm is one alarm in ALARM.
type FiringAlarm struct {
	Name   string `json:"name"`
	Reason string `json:"reason,omitempty"`
}

// DetailKind returns the kind a step's detail names, "" for none.
func DetailKind(raw []byte) string {
	var k struct {
		Kind string `json:"kind"`
	}
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &k) != nil {
		return ""
	}
	return k.Kind
}

// ParseHostCheck reads a host check step's detail.
func ParseHostCheck(raw []byte) (HostCheck, bool) {
	var h HostCheck
	if DetailKind(raw) != DetailHostCheck || json.Unmarshal(raw, &h) != nil {
		return HostCheck{}, false
	}
	return h, true
}

// ParseFreezeOverride reads a freeze override step's detail. Preflight
// wrote it without a kind before there was one: a detail with what the
// window was and when it ends is one too.
func ParseFreezeOverride(raw []byte) (FreezeOverride, bool) {
	var f FreezeOverride
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &f) != nil {
		return FreezeOverride{}, false
	}
	if f.Kind == DetailFreezeOverride || f.Kind == "" && f.What != "" && !f.Until.IsZero() {
		return f, true
	}
	return FreezeOverride{}, false
}
