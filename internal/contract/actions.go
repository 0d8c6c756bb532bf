package contract

// The actions of the functions whose other actions are declared with their
// input (PreflightCheck, DeploySend, HealthProbe, MigrateUp, …): what a
// Task state's "action" parameter may say. pipeline.Tasks names the one
// every Task state sends.
const (
	LockAcquire = "acquire" // AcquireLock
	LockRelease = "release" // ReleaseLock

	SnapshotCreate = "create" // Snapshot
	SnapshotStatus = "status" // CheckSnapshot

	RollbackStart = "start" // Rollback, RollbackWave: switch instances back
	RollbackPoll  = "poll"  // CheckRollback, RollbackWaveCheck
)
