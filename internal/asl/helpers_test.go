package asl

import (
	"context"
	"testing"
	"time"
)

// epoch is where test virtual clocks start.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// mustParse parses def or fails the test.
func mustParse(t testing.TB, def string) *StateMachine {
	t.Helper()
	sm, err := Parse([]byte(def))
	if err != nil {
		t.Fatalf("Parse(%s) error: %v", def, err)
	}
	return sm
}

// mustRun parses and runs def on a virtual clock unless opts has a clock.
func mustRun(t testing.TB, def, input string, opts Options) *Execution {
	t.Helper()
	sm := mustParse(t, def)
	if opts.Clock == nil {
		opts.Clock = NewVirtualClock(epoch)
	}
	if opts.ExecutionName == "" {
		opts.ExecutionName = "test-execution"
	}
	ex, err := Run(context.Background(), sm, []byte(input), opts)
	if err != nil {
		t.Fatalf("Run(%s) error: %v", input, err)
	}
	return ex
}
