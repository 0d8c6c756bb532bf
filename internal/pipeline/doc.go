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
package pipeline
