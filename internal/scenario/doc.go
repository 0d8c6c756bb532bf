// Package scenario is the scenario `make demo` runs and the end-to-end
// tests check: on a fresh embedded environment of three instances, deploy
// the demo app's v1 and v2 (both succeed), then v3, whose health check
// fails, and which Slipway rolls back to v2 by itself, reverting v3's
// reversible migration. It builds the three releases from
// examples/demo-app the way a user's CI would (BuildRelease), and
// publishes them to the environment's artifact folder.
//
// It is not the CLI: Run deploys through Options.Deploy, which `slipway
// demo` (internal/cli/demo) sets to `slipway deploy --local`'s own code,
// so that this package does not import internal/cli. Its tests run the
// pipeline's scenarios (waves, alarms, pushes, balancers) on real
// processes.
package scenario
