// Package trigger turns EventBridge events into executions: the push router
// starts a deployment for a git push (CodeCommit or a custom slipway.git
// event), the alarm router starts a rollback for an alarm in ALARM. Each
// decision, including deciding to do nothing, is recorded as a ledger
// event; only a malformed event is an error.
//
// Starting is idempotent: a push's execution name derives from its event's
// id (EventBridge redelivers an event with the same id), a rollback's from
// the deployment it rolls back, so a redelivered event finds its execution
// already started, while a commit pushed again deploys again. Names carry
// a hash of what they derive from, so that no two collide (see
// executionName). Pushes that arrive while a deployment
// runs are coalesced through the ledger's one-slot queue: the latest push
// wins once the lock frees, and an older one that has not taken the lock
// steps aside (see the Lock stage).
package trigger
