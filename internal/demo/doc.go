// Package demo is the scenario `make demo` runs and the end-to-end test
// checks: on a fresh embedded environment of three instances, deploy the
// demo app's v1 and v2 (both succeed), then v3, whose health check fails,
// and which Slipway rolls back to v2 by itself, reverting v3's reversible
// migration. It builds the three releases from examples/demo-app the way a
// user's CI would, and publishes them to the environment's artifact folder.
package demo
