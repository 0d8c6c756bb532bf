package asl

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Definitions that never end on their own.
const (
	passLoop     = `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}`
	parallelLoop = `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
		{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}},
		{"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "B"}}}]}}}`
	mapLoop = `{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemsPath": "$.items",
		"ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}}}}`
	distributedLoop = `{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemsPath": "$.items",
		"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
			"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}}}}`
	// threePasses has 8 events: started, 3 × (entered, exited), succeeded.
	threePasses = `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "C"}, "C": {"Type": "Pass", "End": true}}}`
	items       = `{"items": [1, 2, 3, 4, 5]}`
)

func TestHistoryLimit(t *testing.T) {
	tests := []struct {
		name, def, input string
		limit            int // Options.MaxHistoryEvents
		wantLen          int // events in the history; 0: not checked (a child's)
		wantStatus       string
	}{
		{"pass loop, default limit", passLoop, `{}`, 0, 25000, StatusFailed},
		{"pass loop", passLoop, `{}`, 1000, 1000, StatusFailed},
		{"parallel branches that loop", parallelLoop, `{}`, 500, 500, StatusFailed},
		{"map iterations that loop", mapLoop, items, 500, 500, StatusFailed},
		{"distributed map children that loop", distributedLoop, items, 300, 0, StatusFailed},
		{"a history exactly at the limit succeeds", threePasses, `{}`, 8, 8, StatusSucceeded},
		{"one event over the limit fails", threePasses, `{}`, 7, 7, StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := 0
			ex := mustRun(t, tt.def, tt.input, Options{MaxHistoryEvents: tt.limit, OnEvent: func(HistoryEvent) { seen++ }})
			if ex.Status != tt.wantStatus {
				t.Fatalf("Run() = %s %q %q, want %s", ex.Status, ex.Error, ex.Cause, tt.wantStatus)
			}
			if tt.wantLen > 0 && len(ex.History) != tt.wantLen {
				t.Errorf("Run() history has %d events, want %d", len(ex.History), tt.wantLen)
			}
			if seen != len(ex.History) {
				t.Errorf("OnEvent saw %d events, want the %d of the history", seen, len(ex.History))
			}
			for i, ev := range ex.History {
				if ev.ID != int64(i+1) {
					t.Fatalf("History[%d].ID = %d, want %d", i, ev.ID, i+1)
				}
			}
			if tt.wantStatus != StatusFailed {
				return
			}
			limit := tt.limit
			if limit == 0 {
				limit = DefaultMaxHistoryEvents
			}
			wantCause := fmt.Sprintf("The execution reached the maximum number of history events (%d).", limit)
			if ex.Error != StatesRuntime || ex.Cause != wantCause {
				t.Errorf("Run() error = %q %q, want %q %q", ex.Error, ex.Cause, StatesRuntime, wantCause)
			}
			last := ex.History[len(ex.History)-1]
			if d := last.ExecutionFailedEventDetails; last.Type != EventExecutionFailed || d == nil || d.Error != StatesRuntime || d.Cause != wantCause {
				t.Errorf("last event = %s %+v, want %s with %s", last.Type, d, EventExecutionFailed, StatesRuntime)
			}
		})
	}
}

func TestHistoryLimitIsNotCaught(t *testing.T) {
	// States.Runtime is neither retried nor caught: the Catch on the
	// Parallel state does not turn the limit into a success.
	def := `{"StartAt": "P", "States": {
		"P": {"Type": "Parallel", "Next": "Done", "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}],
			"Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
			"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}]},
		"Done": {"Type": "Succeed"}}}`
	ex := mustRun(t, def, `{}`, Options{MaxHistoryEvents: 200})
	if ex.Status != StatusFailed || ex.Error != StatesRuntime || len(ex.History) != 200 {
		t.Errorf("Run() = %s %q with %d events, want FAILED %s with 200", ex.Status, ex.Error, len(ex.History), StatesRuntime)
	}
}

// TestCancelStopsPromptly cancels executions that never end on their own
// and checks that Run returns, ABORTED, well within a generous bound.
func TestCancelStopsPromptly(t *testing.T) {
	const bound = 2 * time.Second
	tests := []struct {
		name, def, input string
	}{
		{"pass loop", passLoop, `{}`},
		{"parallel branches that loop", parallelLoop, `{}`},
		{"map iterations that loop", mapLoop, items},
		{"distributed map children that loop", distributedLoop, items},
		{"a wait on the real clock", `{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := mustParse(t, tt.def)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The limit is far away, so only the cancellation can stop the loop.
			opts := Options{MaxHistoryEvents: 1 << 40, Clock: RealClock()}
			type result struct {
				ex  *Execution
				err error
			}
			done := make(chan result, 1)
			go func() {
				ex, err := Run(ctx, sm, []byte(tt.input), opts)
				done <- result{ex, err}
			}()
			time.Sleep(50 * time.Millisecond)
			cancel()
			start := time.Now()
			var res result
			select {
			case res = <-done:
			case <-time.After(bound):
				t.Fatalf("Run() still running %s after its context was cancelled", bound)
			}
			if res.err != nil {
				t.Fatalf("Run() error = %v", res.err)
			}
			last := res.ex.History[len(res.ex.History)-1]
			if res.ex.Status != StatusAborted || last.Type != EventExecutionAborted {
				t.Errorf("Run() = %s ending with %s, want %s ending with %s", res.ex.Status, last.Type, StatusAborted, EventExecutionAborted)
			}
			t.Logf("returned %s after cancel, %d events", time.Since(start).Round(time.Millisecond), len(res.ex.History))
		})
	}
}
