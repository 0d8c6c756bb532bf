// Package bench is `make bench-engine`: it runs the same definitions on
// Slipway's embedded engine and on aws-local-stepfunctions (Node), and
// reports state transitions per second and peak memory for each.
//
// The three workloads are a chain of 10,000 Pass states, a Map of 10,000
// items with a small ItemSelector, and the deploy state machine
// (statemachine/deploy.asl.json) on its happy path with stub handlers that
// return canned responses (testdata/deploy-stubs.json). Each engine runs
// each workload in a process of its own, so peak memory is the process's
// peak resident set.
package bench
