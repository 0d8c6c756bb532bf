// Package report is what Slipway tells people about a deployment, before
// and after: a plan (`slipway plan`) and a deployment's report (`slipway
// show`, the SNS notification), in the same six sections:
//
//  1. Deployment Plan: the release, the targets resolved from tags, the waves, the migrations;
//  2. Risk Assessment: a score from 0 to 100 with its reasons (see Assess);
//  3. Execution Steps: what the state machine does, or did, stage by stage;
//  4. Validation Checklist: the health probes and the alarms;
//  5. Rollback Procedure: what happens by itself, the exact commands, the
//     snapshot and the restore path where migrations are not reversible;
//  6. Monitoring Points: alarms, dashboards, log groups.
//
// A deployment's report adds its outcome, timings per stage, per-instance
// results and, for a rollback, what triggered it, what was reverted and
// what was not.
//
// Reports are built from data (ledger records, Preflight's output, the
// execution state); this package reads nothing itself and imports no
// adapter, so the Record Lambda and the CLI build the same report. Text
// renders a report for people, JSON for programs; both carry the same data.
package report
