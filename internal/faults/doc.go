// Package faults is Slipway's fault matrix: one test row per fault a
// deployment meets in the field, each run on the embedded environment with
// real processes (the slipway CLI binary, the host script, the demo app on
// 127.0.0.1, a SQLite database with data). Every row checks the final
// status against what is really there: what each instance's current link
// points at and what it answers, the schema version and the checksums of
// the schema and of a table with data, the ledger (nothing RUNNING, no
// lease left), and that the next deployment works. docs/reliability.md
// lists the rows and what each proves.
//
// The package holds tests only; it is not imported.
package faults
