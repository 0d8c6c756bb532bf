package asl

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The fuzz targets' seed corpora are in testdata/fuzz/<target>/: the real
// deploy and rollback definitions, recorded conformance templates and the
// unit tests' shapes. `make fuzz` runs each target for FUZZTIME.

// FuzzParse checks that Parse never panics and that what it accepts it
// accepts again, identically.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, def []byte) {
		sm, err := Parse(def)
		if err != nil {
			var verrs ValidationErrors
			var jerr *JSONSyntaxError
			if !errors.As(err, &verrs) && !errors.As(err, &jerr) {
				// Any error is fine; one that is neither kind must still
				// say something.
				if err.Error() == "" {
					t.Fatalf("Parse(%q) error has no text", def)
				}
			}
			return
		}
		if sm == nil {
			t.Fatalf("Parse(%q) = nil, nil; want a machine or an error", def)
		}
		if _, err := Parse(def); err != nil {
			t.Fatalf("Parse(%q) accepted once, then error = %v", def, err)
		}
	})
}

// fuzzBudget bounds a fuzzed execution: a definition that loops ends at
// the history cap, one that waits or blocks at the deadline.
const (
	fuzzMaxEvents = 400
	fuzzDeadline  = 2 * time.Second
)

// echo is every Task's handler in FuzzRun: it returns its input, or
// fails when the input asks it to, so that Retry and Catch run too.
var echo = ResolverFunc(func(string) (Handler, bool) {
	return HandlerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		var in struct {
			Fail string `json:"fail"`
		}
		if json.Unmarshal(payload, &in) == nil && in.Fail != "" {
			return nil, &FooError{Reason: in.Fail}
		}
		return payload, nil
	}), true
})

// FuzzRun parses and runs a definition on a virtual clock with every Task
// echoing its input. It checks that nothing panics, that the execution
// ends within its budget with a status and a final event that agree, and
// that the history is numbered 1..n and never longer than its cap.
func FuzzRun(f *testing.F) {
	f.Fuzz(func(t *testing.T, def, input []byte) {
		sm, err := Parse(def)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), fuzzDeadline)
		defer cancel()
		ex, err := Run(ctx, sm, input, Options{
			Resolver:         echo,
			Clock:            NewVirtualClock(epoch),
			ExecutionName:    "fuzz",
			MaxHistoryEvents: fuzzMaxEvents,
		})
		if err != nil {
			var jerr *JSONSyntaxError
			if !errors.As(err, &jerr) {
				t.Fatalf("Run() error = %v, want none or invalid input JSON", err)
			}
			return
		}
		if n := len(ex.History); n < 2 || n > fuzzMaxEvents {
			t.Fatalf("Run() history has %d events, want 2 to %d", n, fuzzMaxEvents)
		}
		for i, ev := range ex.History {
			if ev.ID != int64(i+1) {
				t.Fatalf("History[%d].ID = %d, want %d", i, ev.ID, i+1)
			}
		}
		last := ex.History[len(ex.History)-1].Type
		want := map[string]string{
			StatusSucceeded: EventExecutionSucceeded,
			StatusFailed:    EventExecutionFailed,
			StatusTimedOut:  EventExecutionTimedOut,
			StatusAborted:   EventExecutionAborted,
		}[ex.Status]
		if want == "" || last != want {
			t.Fatalf("Run() = %s ending with %s, want a status and its final event", ex.Status, last)
		}
		if ex.Status == StatusSucceeded && !json.Valid(ex.Output) {
			t.Fatalf("Run() output = %q, want JSON", ex.Output)
		}
	})
}

// FuzzJSONPath compiles a path and applies it to a document. A path that
// compiles must evaluate without panicking (a definite path fails only
// with a *pathError); a Reference Path that selects a value can have it
// replaced, which leaves the original alone and selects the replacement.
func FuzzJSONPath(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string, doc []byte) {
		p, err := compilePath(text)
		if err != nil {
			return
		}
		root, err := decodeJSON(doc)
		if err != nil {
			return
		}
		if _, err := p.eval(root); err != nil && p.definite {
			var perr *pathError
			if !errors.As(err, &perr) {
				t.Fatalf("compilePath(%q).eval() error = %v (%T), want a *pathError", text, err, err)
			}
		} else if err != nil && !strings.Contains(err.Error(), "selects more than") {
			t.Fatalf("compilePath(%q).eval() error = %v, want none for an indefinite path but too many values", text, err)
		}
		if !p.isReferencePath() || p.variable != "" {
			return
		}
		if _, err := p.get(root); err != nil {
			return
		}
		before := jsonText(root)
		marker := map[string]any{"fuzz": "marker"}
		updated, err := p.set(root, marker)
		if err != nil {
			t.Fatalf("compilePath(%q).set() error = %v, want none where get selects a value", text, err)
		}
		if after := jsonText(root); after != before {
			t.Fatalf("compilePath(%q).set() changed the original document: %s, was %s", text, after, before)
		}
		got, err := p.get(updated)
		if err != nil || !deepEqual(got, marker) {
			t.Fatalf("compilePath(%q).get(set(marker)) = %v, %v; want the marker", text, jsonText(got), err)
		}
	})
}

// FuzzIntrinsic parses an intrinsic function and evaluates it with its
// paths resolved in a document: no panic, and an error is an
// *intrinsicError or a path that selected nothing.
func FuzzIntrinsic(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string, doc []byte) {
		call, err := parseIntrinsic(text)
		if err != nil {
			return
		}
		root, err := decodeJSON(doc)
		if err != nil {
			return
		}
		v, err := call.eval(func(p *path) (any, error) { return p.eval(root) })
		if err != nil {
			return
		}
		if s := jsonText(v); !json.Valid([]byte(s)) {
			t.Fatalf("parseIntrinsic(%q).eval() = %s, want a JSON value", text, s)
		}
	})
}
