package pipeline

// Function is one Lambda of the state machines.
type Function struct {
	Name        string // functions/<Name>
	Placeholder string // ${Placeholder} in statemachine/*.asl.json
}

// Functions lists every function the state machines call, in stage order.
var Functions = []Function{
	{"preflight", "PreflightFunctionArn"},
	{"approval", "ApprovalFunctionArn"},
	{"lock", "LockFunctionArn"},
	{"snapshot", "SnapshotFunctionArn"},
	{"migrate", "MigrateFunctionArn"},
	{"deploy", "DeployFunctionArn"},
	{"health", "HealthFunctionArn"},
	{"rollback", "RollbackFunctionArn"},
	{"record", "RecordFunctionArn"},
}

// Handlers returns each function's handler over d, by function name: the
// Handle method the function's main passes to lambda.Start. The migrate
// function's handler is internal/schema's, which this package does not
// import (see Deps.MigrationPlan).
func Handlers(d *Deps, healthPort int) map[string]any {
	return map[string]any{
		"preflight": (&Preflight{Deps: d}).Handle,
		"approval":  (&Approval{Deps: d}).Handle,
		"lock":      (&Lock{Deps: d}).Handle,
		"snapshot":  (&Snapshot{Deps: d}).Handle,
		"deploy":    (&Deploy{Deps: d}).Handle,
		"health":    (&Health{Deps: d, Port: healthPort}).Handle,
		"rollback":  (&Rollback{Deps: d}).Handle,
		"record":    (&Record{Deps: d}).Handle,
	}
}
