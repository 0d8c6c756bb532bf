// Package backendtest holds what the CLI's tests share: Fake, a backend
// over a real SQLite ledger in a temporary directory whose executions,
// plans and instances are functions the test sets, and Seed, a fixed
// history of deployments for golden files;
// Execute, IgnoreDeps, IO and Golden for flag and output tests.
//
// It is test code: nothing outside _test.go files should import it.
package backendtest
