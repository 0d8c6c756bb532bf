// Package pipeline holds one handler per stage of the deploy and rollback
// state machines: Preflight, Lock, Snapshot, Migrate, Deploy, Health,
// Rollback and Record. Each handler takes and returns the contract's named
// structs and returns the contract's error types unwrapped, so the same
// code runs as a Lambda (functions/<name>) and in-process on the embedded
// engine.
//
// Handlers reach the world only through the small interfaces declared in
// ports.go; the AWS adapters and the embedded adapters both satisfy them.
// Every decision a handler makes is written to the ledger as a step.
//
// Tasks below says, for every Task state of statemachine/*.asl.json, which
// function runs it with which action and which stage people know it by:
// from a state's name to its code in one hop (the function's Handle
// switches on the action).
package pipeline

import "github.com/slipway-deploy/slipway/internal/contract"

// Task is what a Task state runs.
type Task struct {
	// Function is the function it invokes: functions/<Function>, a key of
	// Handlers (migrate's handler is internal/schema's).
	Function string
	// Action is its input's "action"; "" for a function with one job.
	Action string
	// Stage is the stage it counts towards in progress, timings and
	// reports (contract.Stage*).
	Stage string
}

// Tasks maps every Task state of the deploy and rollback machines to what
// it runs. A test checks it against the definitions.
var Tasks = map[string]Task{
	"Preflight": {"preflight", contract.PreflightCheck, contract.StagePreflight},
	// Before the approval and the lock: the hosts' free resources.
	"SendResourceCheck": {"deploy", contract.DeployResources, contract.StagePreflight},
	"CheckResources":    {"deploy", contract.DeployResourcesPoll, contract.StagePreflight},
	"SendHostCheck":     {"deploy", contract.DeployHosts, contract.StagePreflight},
	"CheckHosts":        {"deploy", contract.DeployHostsPoll, contract.StagePreflight},
	"RequestApproval":   {"approval", "", contract.StageApproval},
	"AcquireLock":       {"lock", contract.LockAcquire, contract.StageLock},
	"Resolve":           {"preflight", contract.PreflightResolve, contract.StageLock}, // under the lease
	"Snapshot":          {"snapshot", contract.SnapshotCreate, contract.StageSnapshot},
	"CheckSnapshot":     {"snapshot", contract.SnapshotStatus, contract.StageSnapshot},
	"Migrate":           {"migrate", contract.MigrateUp, contract.StageMigrate},

	"DetachWave":     {"deploy", contract.DeployDetach, contract.StageRollout},
	"CheckDrained":   {"deploy", contract.DeployDrained, contract.StageRollout},
	"DeployWave":     {"deploy", contract.DeploySend, contract.StageRollout},
	"CheckWave":      {"deploy", contract.DeployPoll, contract.StageRollout},
	"ProbeWave":      {"health", contract.HealthProbe, contract.StageRollout},
	"AttachWave":     {"deploy", contract.DeployAttach, contract.StageRollout},
	"CheckInService": {"deploy", contract.DeployInService, contract.StageRollout},
	"CheckDrift":     {"deploy", contract.DeployDrift, contract.StageRollout},
	// The smoke checks through the load balancer, after the last wave.
	"SmokeBalancer": {"health", contract.HealthSmoke, contract.StageRollout},
	// The canary analysis of the first wave, against the waves after it.
	"StartCanary": {"health", contract.HealthCanary, contract.StageRollout},
	"CheckCanary": {"health", contract.HealthCanary, contract.StageRollout},
	// Traffic hooks around a wave's AttachWave (behind a load balancer).
	"BeforeTraffic":      {"deploy", contract.DeployHook, contract.StageRollout},
	"CheckBeforeTraffic": {"deploy", contract.DeployHookPoll, contract.StageRollout},
	"AfterTraffic":       {"deploy", contract.DeployHook, contract.StageRollout},
	"CheckAfterTraffic":  {"deploy", contract.DeployHookPoll, contract.StageRollout},

	"BlueGreenPlan":        {"deploy", contract.DeployBlueGreenPlan, contract.StageRollout},
	"BlueGreenDeploy":      {"deploy", contract.DeploySend, contract.StageRollout},
	"BlueGreenCheckDeploy": {"deploy", contract.DeployPoll, contract.StageRollout},
	"BlueGreenAwait":       {"deploy", contract.DeployBlueGreenAwait, contract.StageRollout},
	"ShiftStep":            {"deploy", contract.DeployBlueGreenShift, contract.StageRollout},
	// Before any weight moves to the idle side: its smoke checks and
	// before_traffic; after the last step: the smoke checks through the
	// balancer and after_traffic.
	"BlueGreenSmokeIdle":          {"health", contract.HealthSmokeInstances, contract.StageRollout},
	"BlueGreenBeforeTraffic":      {"deploy", contract.DeployHook, contract.StageRollout},
	"BlueGreenCheckBeforeTraffic": {"deploy", contract.DeployHookPoll, contract.StageRollout},
	"BlueGreenSmokeBalancer":      {"health", contract.HealthSmoke, contract.StageRollout},
	"BlueGreenAfterTraffic":       {"deploy", contract.DeployHook, contract.StageRollout},
	"BlueGreenCheckAfterTraffic":  {"deploy", contract.DeployHookPoll, contract.StageRollout},
	"ShiftCheckAlarms":            {"health", contract.HealthAlarms, contract.StageRollout},
	"BlueGreenSwitchBack":         {"deploy", contract.DeployBlueGreenSwitchBack, contract.StageRollback},
	// After a switch back that moved weight: the after_traffic hook of
	// the release the side back in service runs.
	"BlueGreenRollbackAfterTraffic":      {"deploy", contract.DeployHook, contract.StageRollback},
	"BlueGreenCheckRollbackAfterTraffic": {"deploy", contract.DeployHookPoll, contract.StageRollback},
	"BlueGreenRevertSchema":              {"migrate", contract.MigrateRevert, contract.StageRollback},
	"BlueGreenObserve":                   {"deploy", contract.DeployObserve, contract.StageObserve},
	// A rollback execution's switch back to the side a blue/green
	// deployment left warm.
	"SwitchToWarmSide": {"deploy", contract.DeployBlueGreenSwitchBack, contract.StageRollback},
	// Then the after_traffic hook of the release the warm side runs, on it.
	"WarmSideAfterTraffic":      {"deploy", contract.DeployHook, contract.StageRollback},
	"WarmSideCheckAfterTraffic": {"deploy", contract.DeployHookPoll, contract.StageRollback},

	"CheckAlarms": {"health", contract.HealthAlarms, contract.StageBake},

	"Rollback":                   {"rollback", contract.RollbackStart, contract.StageRollback},
	"CheckRollback":              {"rollback", contract.RollbackPoll, contract.StageRollback},
	"VerifyRollback":             {"health", contract.HealthProbe, contract.StageRollback},
	"RollbackWaveDetach":         {"deploy", contract.DeployDetach, contract.StageRollback},
	"RollbackWaveCheckDrained":   {"deploy", contract.DeployDrained, contract.StageRollback},
	"RollbackWave":               {"rollback", contract.RollbackStart, contract.StageRollback},
	"RollbackWaveCheck":          {"rollback", contract.RollbackPoll, contract.StageRollback},
	"RollbackWaveProbe":          {"health", contract.HealthProbe, contract.StageRollback},
	"RollbackWaveAttach":         {"deploy", contract.DeployAttach, contract.StageRollback},
	"RollbackWaveCheckInService": {"deploy", contract.DeployInService, contract.StageRollback},
	"ReattachWave":               {"deploy", contract.DeployAttach, contract.StageRollback},
	// The traffic hooks of the release a rollback wave returns to.
	"RollbackWaveBeforeTraffic":      {"deploy", contract.DeployHook, contract.StageRollback},
	"RollbackWaveCheckBeforeTraffic": {"deploy", contract.DeployHookPoll, contract.StageRollback},
	"RollbackWaveAfterTraffic":       {"deploy", contract.DeployHook, contract.StageRollback},
	"RollbackWaveCheckAfterTraffic":  {"deploy", contract.DeployHookPoll, contract.StageRollback},
	"CheckReattached":                {"deploy", contract.DeployInService, contract.StageRollback},
	"RevertSchema":                   {"migrate", contract.MigrateRevert, contract.StageRollback},

	"ObserveFleet":     {"deploy", contract.DeployObserve, contract.StageObserve},
	"CheckObservation": {"deploy", contract.DeployObservePoll, contract.StageObserve},
	"ObserveSchema":    {"migrate", contract.MigrateObserve, contract.StageObserve},

	"Record":      {"record", "", contract.StageRecord},
	"ReleaseLock": {"lock", contract.LockRelease, contract.StageUnlock},
}
