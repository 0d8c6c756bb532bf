// Package fleet is Slipway's view of the instances a release is deployed to:
// the shared types of the rollout capability (Instance, Command, Invocation,
// CommandResult and the host script's Report) and its two implementations:
// SSM, which runs commands through SSM Run Command, and Local, the embedded
// fleet.
//
// A Command names an action of the host script (scripts.HostScript:
// activate, rollback, status or prune) and the instances to run it on. On
// AWS, SSM sends it to the Slipway Command document; locally, Local runs the same
// script on N instances that are directories under a root, whose apps are
// processes listening on 127.0.0.1. Invocation statuses use SSM's names, so
// the code that reads them does not care which one ran the command.
//
// Local also has fault knobs (SetOffline, FailActivation, FailHealth) for
// tests and the demo. They live outside the host script: the script that
// runs locally is byte for byte the one that runs on EC2.
//
// This package decides nothing about a deployment (waves, error budgets, when
// to roll back): its callers do.
package fleet
