package asl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recordedHistory is one execution that LocalStack's test suite recorded
// on AWS Step Functions (testdata/recorded_histories.json; see
// testdata/NOTICE and testdata/README.md): the definition, the input, the
// outcome and the event types.
type recordedHistory struct {
	Name       string          `json:"name"`
	Source     string          `json:"source"`
	Definition json.RawMessage `json:"definition"`
	Input      json.RawMessage `json:"input"`
	Expected   struct {
		Output json.RawMessage `json:"output"`
		Error  *string         `json:"error"`
		Cause  *string         `json:"cause"`
	} `json:"expected"`
	EventTypes []string `json:"event_types"`
	Normalised bool     `json:"parallel_events_normalised"`
}

// TestRecordedHistories replays a handful of executions recorded on AWS and
// checks the outcome, error and cause texts included, and the event types.
// The recordings mask some values (timestamps, ARNs, the execution name):
// a masked value matches anything. Where AWS's order of events inside a
// Parallel state is not deterministic the recording sorted them, and so
// does the comparison.
func TestRecordedHistories(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "recorded_histories.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []recordedHistory
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			input := string(tt.Input)
			if input == "null" {
				input = "{}"
			}
			ex := mustRun(t, string(tt.Definition), input, Options{})
			if tt.Expected.Output != nil {
				if ex.Status != StatusSucceeded {
					t.Fatalf("Run() = %s %s: %s, want SUCCEEDED", ex.Status, ex.Error, ex.Cause)
				}
				want, _ := decodeJSON(tt.Expected.Output)
				got, _ := decodeJSON(ex.Output)
				if !maskedEqual(want, got) {
					t.Errorf("Run() output = %s, want %s", ex.Output, tt.Expected.Output)
				}
			} else {
				if ex.Status != StatusFailed {
					t.Fatalf("Run() = %s, want FAILED", ex.Status)
				}
				if want := deref(tt.Expected.Error); !maskedEqual(want, ex.Error) {
					t.Errorf("Run() error = %q, want %q", ex.Error, want)
				}
				if want := deref(tt.Expected.Cause); !maskedEqual(want, ex.Cause) {
					t.Errorf("Run() cause = %q, want %q", ex.Cause, want)
				}
			}
			got, want := eventTypes(ex.History), slices.Clone(tt.EventTypes)
			if tt.Normalised {
				// The recording dropped ParallelStateSucceeded when it sorted
				// the events; compare what is left, as a multiset.
				got = slices.DeleteFunc(got, func(s string) bool { return s == EventParallelStateSucceeded })
				slices.Sort(got)
				slices.Sort(want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("event types mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Masks in the recordings: whole values, and tokens inside strings.
var (
	wholeMasks = []string{"date", "start-time", "entered-time", "snf_role_arn", "timestamp"}
	tokenMask  = regexp.MustCompile(`<[^<>]+>|111111111111|snf_role_arn`)
)

// maskedEqual compares a recorded value with the engine's, letting masked
// values match anything.
func maskedEqual(want, got any) bool {
	switch w := want.(type) {
	case string:
		if slices.Contains(wholeMasks, w) {
			return true
		}
		g, ok := got.(string)
		if !ok {
			return false
		}
		if !tokenMask.MatchString(w) {
			return w == g
		}
		parts := tokenMask.Split(w, -1)
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		return regexp.MustCompile(`(?s)\A` + strings.Join(parts, ".*") + `\z`).MatchString(g)
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if !maskedEqual(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !maskedEqual(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return deepEqual(want, got)
}
