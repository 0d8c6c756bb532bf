// Package backend is where slipway's commands act: the embedded
// environment on this machine (Local, over localenv.Env: executions run
// in this process on the embedded engine) or AWS (over Step Functions,
// the DynamoDB ledger, the S3 artifact bucket, SSM and CloudWatch).
//
// Commands see only the Backend interface, which the CLI owns; Open picks
// the implementation from the flags and environment variables:
// --local or SLIPWAY_LOCAL_DIR selects the embedded environment, anything
// else AWS, configured with the variables the Lambdas use
// (SLIPWAY_CONFIG or --config, SLIPWAY_TABLE, SLIPWAY_ARTIFACT_BUCKET,
// SLIPWAY_DEPLOY_STATE_MACHINE, SLIPWAY_ROLLBACK_STATE_MACHINE) and the
// SDK's own region and credentials. A missing setting is a
// *MissingSettingError naming it and where to find it.
//
// It also follows an execution while it runs: Progress turns the
// execution's history (the engine's events locally, GetExecutionHistory on
// AWS) and the ledger's steps into one event per step and one per stage.
// It prints nothing itself.
package backend
