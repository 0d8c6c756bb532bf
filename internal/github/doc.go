// Package github receives GitHub webhooks for Slipway: the github-webhook
// Lambda, behind a Function URL, verifies each delivery's
// X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the webhook's
// secret from Secrets Manager), drops redeliveries by X-GitHub-Delivery,
// answers ping, and turns a push to a branch that triggers.branches maps
// into the slipway.git "Git Push" event that the push router takes from
// EventBridge. Deciding what to deploy, queueing and starting stay with
// the push router: this package only authenticates and translates.
//
// It is not a GitHub API client, and it acts on no other event type.
package github
