// Package ledger is Slipway's record of deployments: one Deployment per
// execution with its final status, the Steps each stage wrote as it went,
// per-instance results of every command, and the environment's lock (an
// execution's lease or a person's manual freeze).
//
// The embedded store is SQLite (package ledger/sqlite); the AWS store is
// DynamoDB with conditional writes (Dynamo). Both satisfy the same method
// set, which the pipeline's handlers declare as the interface they consume.
package ledger
