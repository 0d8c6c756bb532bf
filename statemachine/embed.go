// Package statemachine holds Slipway's state machine definitions, in
// Amazon States Language (JSONPath), with ${XxxFunctionArn} placeholders.
// The same files are loaded by the CDK stack (DefinitionBody.fromFile plus
// DefinitionSubstitutions) and run by the embedded engine.
package statemachine

import _ "embed"

// Deploy is deploy.asl.json: Preflight, AcquireLock, Snapshot, Migrate,
// Rollout in waves, Bake, Record, ReleaseLock, with rollback on any failure.
//
//go:embed deploy.asl.json
var Deploy []byte

// Rollback is rollback.asl.json: return an environment's last deployment
// to the release before it.
//
//go:embed rollback.asl.json
var Rollback []byte
