package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/asl"
)

// Kind sorts the histories into the groups the report counts apart.
type Kind string

// The groups: task-free AWS-validated JSONPath histories, task-free
// JSONata ones, histories whose Tasks are replayed from their recorded
// responses, and the rest (not validated on AWS, or orphaned).
const (
	KindJSONPath Kind = "jsonpath"
	KindJSONata  Kind = "jsonata"
	KindMocked   Kind = "mocked"
	KindOther    Kind = "other"
	KindChoice   Kind = "choice"
)

// Classify returns the group of an entry.
func Classify(e *Entry) Kind {
	switch {
	case e.UsesTasks:
		return KindMocked
	case !e.ReplayReady:
		return KindOther
	case e.QueryLanguage == "JSONata":
		return KindJSONata
	default:
		return KindJSONPath
	}
}

// Case is one history made ready to replay without the conformance
// folder: the definition with its patches applied, the input, the
// recorded outcome and event types, and, for a history that calls Tasks,
// the mock configuration that returns the recorded responses.
type Case struct {
	ID         string          `json:"id"`
	Area       string          `json:"area"`
	Kind       Kind            `json:"kind"`
	Definition json.RawMessage `json:"definition"`
	Input      json.RawMessage `json:"input"`
	Expected   *Expected       `json:"expected"`
	EventTypes []string        `json:"event_types"`
	Normalised bool            `json:"parallel_events_normalised,omitempty"`
	Mocks      json.RawMessage `json:"mocks,omitempty"`
}

// Result is the outcome of replaying one history.
type Result struct {
	ID     string
	Area   string
	Kind   Kind
	Status Status
	Reason string // why it failed or was skipped
}

// Status is pass, fail or skip.
type Status string

// The statuses of a Result.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Names the replay gives the execution and its state machine; the
// recordings mask both.
const (
	StateMachineName = "conformance"
	ExecutionName    = "replay"
	mockTestCase     = "Recorded"
)

// Prepare turns an entry into a Case, reading its template from dir. It
// returns an error (ErrNoTemplate, or the reason) when the entry cannot be
// replayed.
func Prepare(dir string, e *Entry) (*Case, error) {
	if e.Expected == nil || e.Incomplete {
		return nil, errors.New("the recorded history stops before the execution ends")
	}
	if e.FinalEventType == "ExecutionAborted" {
		return nil, errors.New("the recorded execution was aborted from outside")
	}
	c := &Case{ID: e.ID, Area: e.Area, Kind: Classify(e), Input: e.InputText(), Expected: e.Expected,
		EventTypes: e.EventTypes, Normalised: e.Normalised}
	var unknown func(Patch) any
	if e.UsesTasks {
		unknown = placeholderFor(e)
	}
	def, err := e.Definition(dir, unknown)
	if err != nil {
		return nil, err
	}
	c.Definition = def
	if e.UsesTasks {
		mocks, err := MocksFromHistory(dir, e)
		switch {
		case errors.Is(err, errNoTaskResults):
			// A Distributed Map and no Task: nothing to mock.
		case err != nil:
			return nil, err
		default:
			c.Mocks = mocks
		}
	}
	return c, nil
}

// placeholderFor returns what stands in for a value the test computed at
// run time: an activity ARN where the history shows an activity, else a
// Lambda function ARN; the mocks then answer for it.
func placeholderFor(e *Entry) func(Patch) any {
	arn := "arn:aws:lambda:us-east-1:111111111111:function:replayed"
	if slices.Contains(e.EventTypes, "ActivityScheduled") || (len(e.TemplateFiles) > 0 && strings.Contains(e.TemplateFiles[0], "activit")) {
		arn = "arn:aws:states:us-east-1:111111111111:activity:replayed"
	}
	return func(Patch) any { return arn }
}

// Replay runs a case on the engine and compares it with the recording.
func Replay(ctx context.Context, c *Case) Result {
	res := Result{ID: c.ID, Area: c.Area, Kind: c.Kind}
	reason := replay(ctx, c)
	if reason == "" {
		res.Status = Pass
	} else {
		res.Status, res.Reason = Fail, reason
	}
	return res
}

func replay(ctx context.Context, c *Case) string {
	sm, err := asl.Parse(c.Definition)
	if err != nil {
		return fmt.Sprintf("parse: %v", err)
	}
	opts := asl.Options{
		Clock:            asl.NewVirtualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
		ExecutionName:    ExecutionName,
		StateMachineName: StateMachineName,
		Region:           "us-east-1",
		Account:          "111111111111",
	}
	if len(c.Mocks) > 0 {
		mc, err := asl.ParseMockConfig(c.Mocks)
		if err != nil {
			return fmt.Sprintf("mocks: %v", err)
		}
		tc, err := mc.TestCase(StateMachineName, mockTestCase)
		if err != nil {
			return fmt.Sprintf("mocks: %v", err)
		}
		opts.Mocks = tc
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ex, err := asl.Run(ctx, sm, c.Input, opts)
	if err != nil {
		return fmt.Sprintf("run: %v", err)
	}
	if r := compareOutcome(c.Expected, ex, c.Kind == KindMocked); r != "" {
		return r
	}
	if c.EventTypes == nil {
		return ""
	}
	return compareEvents(c, ex.History)
}

func compareOutcome(want *Expected, ex *asl.Execution, jsonText bool) string {
	if want.failed() {
		if ex.Status == asl.StatusSucceeded {
			return fmt.Sprintf("outcome: SUCCEEDED with %s, want error %s", clip(string(ex.Output)), want.Error)
		}
		if !textMatches(want.Error, ex.Error) {
			return fmt.Sprintf("error: %q, want %s (cause %s)", ex.Error, want.Error, clip(ex.Cause))
		}
		if !textMatches(want.Cause, ex.Cause) {
			return fmt.Sprintf("cause: %q, want %s", clip(ex.Cause), clip(string(want.Cause)))
		}
		return ""
	}
	if ex.Status != asl.StatusSucceeded {
		return fmt.Sprintf("outcome: %s %s: %s", ex.Status, ex.Error, clip(ex.Cause))
	}
	w, err1 := decode(want.Output)
	g, err2 := decode(ex.Output)
	if err1 != nil || err2 != nil || !maskedEqual(w, g, jsonText) {
		return fmt.Sprintf("output: %s, want %s", clip(string(ex.Output)), clip(string(want.Output)))
	}
	return ""
}

func compareEvents(c *Case, history []asl.HistoryEvent) string {
	got := make([]string, len(history))
	for i, ev := range history {
		got[i] = ev.Type
	}
	want := slices.Clone(c.EventTypes)
	if c.Normalised {
		// The recorder sorted the events of each Parallel state by their
		// text with the ids masked, which merged identical events and lost
		// ParallelStateSucceeded: compare the kinds of event left.
		got = slices.DeleteFunc(got, func(s string) bool {
			return (s == asl.EventParallelStateSucceeded || s == asl.EventParallelStateFailed) && !slices.Contains(want, s)
		})
		slices.Sort(got)
		slices.Sort(want)
		got, want = slices.Compact(got), slices.Compact(want)
	}
	if slices.Equal(got, want) {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	at := func(l []string) string {
		if i < len(l) {
			return l[i]
		}
		return "(end)"
	}
	return fmt.Sprintf("events: #%d is %s, want %s (%d events, want %d)", i+1, at(got), at(want), len(got), len(want))
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
