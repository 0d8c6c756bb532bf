// Package conformance replays executions recorded on AWS Step Functions
// on Slipway's embedded engine (package asl) and compares them with the
// recording: the final output, or error and cause, and the ordered list of
// event types, after the recording's masking (ARNs, timestamps, UUIDs and
// other placeholders in the recording match anything in their place).
//
// The recordings are LocalStack's Step Functions tests, run against real
// AWS (../shared/conformance/asl next to the repository; see its README):
// 704 histories and 491 Choice operator cases. Histories that call Tasks
// are replayed with a Step Functions Local mock configuration built from
// the responses AWS recorded (MocksFromHistory), so they exercise the
// engine's mock support too.
//
// The aslconformance command (make conformance) replays everything, prints
// passed/total by area and by group (task-free AWS-validated JSONPath,
// JSONata, mocked Tasks, Choice operators, the rest) and writes the ids
// that did not pass, with the reason, to failing.txt. It exits 0 however
// many cases are red. With -pin it writes the cases that pass to
// testdata/pinned.json, which TestPinned replays in go test, with no file
// outside the repository, so that a passing case cannot regress.
//
// It is not a test of AWS's own services: what a Task's resource does is
// the mock's recorded answer, not a service integration.
package conformance
