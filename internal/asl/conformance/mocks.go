package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// event is one recorded history event, as much of it as the mocks need.
type event struct {
	ID      any    `json:"id"`
	Prev    any    `json:"previousEventId"`
	Type    string `json:"type"`
	Entered *struct {
		Name string `json:"name"`
	} `json:"stateEnteredEventDetails"`
	raw map[string]json.RawMessage
}

var (
	snapshotsMu sync.Mutex
	snapshots   = map[string]map[string]struct {
		Content map[string]json.RawMessage `json:"recorded-content"`
	}{}
)

// recordedEvents reads the entry's full history from its snapshot file.
func recordedEvents(dir string, e *Entry) ([]*event, error) {
	snapshotsMu.Lock()
	snap, ok := snapshots[e.SnapshotFile]
	snapshotsMu.Unlock()
	if !ok {
		data, err := os.ReadFile(filepath.Join(dir, e.SnapshotFile))
		if err != nil {
			return nil, fmt.Errorf("read snapshot: %w", err)
		}
		if err := json.Unmarshal(data, &snap); err != nil {
			return nil, fmt.Errorf("decode snapshot %s: %w", e.SnapshotFile, err)
		}
		snapshotsMu.Lock()
		snapshots[e.SnapshotFile] = snap
		snapshotsMu.Unlock()
	}
	node, ok := snap[e.NodeID]
	if !ok {
		return nil, fmt.Errorf("snapshot %s has no %s", e.SnapshotFile, e.NodeID)
	}
	var hist struct {
		Events []map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(node.Content[e.Label], &hist); err != nil {
		return nil, fmt.Errorf("decode history %s: %w", e.Label, err)
	}
	out := make([]*event, 0, len(hist.Events))
	for _, raw := range hist.Events {
		ev := &event{raw: raw}
		_ = json.Unmarshal(raw["id"], &ev.ID)
		_ = json.Unmarshal(raw["previousEventId"], &ev.Prev)
		_ = json.Unmarshal(raw["type"], &ev.Type)
		if d, ok := raw["stateEnteredEventDetails"]; ok {
			_ = json.Unmarshal(d, &ev.Entered)
		}
		out = append(out, ev)
	}
	if e.HistoryReversed {
		slices.Reverse(out)
	}
	return out, nil
}

func eventID(v any) (int, bool) {
	f, ok := v.(float64)
	return int(f), ok
}

// resultEvents are the events that end one call of a Task's resource.
var resultEvents = map[string]string{
	"TaskSucceeded":                "taskSucceededEventDetails",
	"TaskFailed":                   "taskFailedEventDetails",
	"TaskTimedOut":                 "taskTimedOutEventDetails",
	"TaskStartFailed":              "taskStartFailedEventDetails",
	"TaskSubmitFailed":             "taskSubmitFailedEventDetails",
	"LambdaFunctionSucceeded":      "lambdaFunctionSucceededEventDetails",
	"LambdaFunctionFailed":         "lambdaFunctionFailedEventDetails",
	"LambdaFunctionTimedOut":       "lambdaFunctionTimedOutEventDetails",
	"LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
	"LambdaFunctionStartFailed":    "lambdaFunctionStartFailedEventDetails",
	"ActivitySucceeded":            "activitySucceededEventDetails",
	"ActivityFailed":               "activityFailedEventDetails",
	"ActivityTimedOut":             "activityTimedOutEventDetails",
	"ActivityScheduleFailed":       "activityScheduleFailedEventDetails",
	"TaskStateAborted":             "",
	"ExecutionFailed":              "",
	"MapRunFailed":                 "",
	"EvaluationFailed":             "",
}

// errNoTaskResults is a history with no Task results to mock.
var errNoTaskResults = errors.New("the recorded history has no Task results to mock")

// MocksFromHistory builds a Step Functions Local mock configuration that
// answers each Task of the entry with the responses AWS recorded for it,
// in order: test case "Recorded" of state machine "conformance".
func MocksFromHistory(dir string, e *Entry) (json.RawMessage, error) {
	events, err := recordedEvents(dir, e)
	if err != nil {
		return nil, err
	}
	byID := map[int]*event{}
	for _, ev := range events {
		if id, ok := eventID(ev.ID); ok {
			byID[id] = ev
		}
	}
	// stateOf names the state an event belongs to: the StateEntered event
	// its previousEventId chain leads back to, or, where the recorder
	// replaced the ids, the last Task state entered before it.
	lastTask := ""
	stateOf := func(i int, ev *event) string {
		cur := ev
		for range 64 {
			prev, ok := eventID(cur.Prev)
			if !ok {
				break
			}
			p := byID[prev]
			if p == nil {
				break
			}
			if p.Entered != nil {
				return p.Entered.Name
			}
			cur = p
		}
		return lastTask
	}
	responses := map[string]map[string]any{}
	counts := map[string]int{}
	for i, ev := range events {
		if ev.Entered != nil && strings.HasPrefix(ev.Type, "Task") {
			lastTask = ev.Entered.Name
		}
		field, ok := resultEvents[ev.Type]
		if !ok || field == "" {
			continue
		}
		state := stateOf(i, ev)
		if state == "" {
			return nil, fmt.Errorf("event %d (%s): cannot tell which state it belongs to", i+1, ev.Type)
		}
		var details struct {
			Output json.RawMessage `json:"output"`
			Error  json.RawMessage `json:"error"`
			Cause  json.RawMessage `json:"cause"`
		}
		if d, ok := ev.raw[field]; ok {
			_ = json.Unmarshal(d, &details)
		}
		var resp any
		if strings.HasSuffix(ev.Type, "Succeeded") {
			resp = map[string]any{"Return": outputValue(details.Output)}
		} else {
			throw := map[string]any{"Error": recordedText(details.Error), "Cause": recordedText(details.Cause)}
			resp = map[string]any{"Throw": throw}
		}
		if responses[state] == nil {
			responses[state] = map[string]any{}
		}
		responses[state][strconv.Itoa(counts[state])] = resp
		counts[state]++
	}
	if len(responses) == 0 {
		return nil, errNoTaskResults
	}
	cases := map[string]string{}
	mocked := map[string]any{}
	for state, r := range responses {
		name := "Recorded" + state
		cases[state] = name
		mocked[name] = r
	}
	cfg := map[string]any{
		"StateMachines":   map[string]any{StateMachineName: map[string]any{"TestCases": map[string]any{mockTestCase: cases}}},
		"MockedResponses": mocked,
	}
	return marshal(cfg)
}

// outputValue reads a recorded output: JSON the recorder parsed, or JSON
// text it left as a string.
func outputValue(raw json.RawMessage) any {
	if len(raw) == 0 {
		return map[string]any{}
	}
	v, err := decode(raw)
	if err != nil {
		return nil
	}
	if s, ok := v.(string); ok {
		if inner, err := decode([]byte(s)); err == nil {
			return inner
		}
	}
	return v
}

// recordedText reads a recorded error or cause: a string, or an object the
// recorder parsed from JSON text, which is written back compact with its
// keys in order, as Step Functions passes a Lambda error on.
func recordedText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b strings.Builder
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	type frame struct {
		object bool
		n      int
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			_, closing := tok.(json.Delim)
			if closing && (tok == json.Delim('}') || tok == json.Delim(']')) {
				// no separator before a closing bracket
			} else if top.object {
				switch {
				case top.n%2 == 1:
					b.WriteString(":")
				case top.n > 0:
					b.WriteString(",")
				}
				top.n++
			} else {
				if top.n > 0 {
					b.WriteString(",")
				}
				top.n++
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			b.WriteString(t.String())
			switch t {
			case '{':
				stack = append(stack, frame{object: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			var q strings.Builder
			enc := json.NewEncoder(&q)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(t)
			b.WriteString(strings.TrimSuffix(q.String(), "\n"))
		case json.Number:
			b.WriteString(t.String())
		case bool:
			b.WriteString(strconv.FormatBool(t))
		case nil:
			b.WriteString("null")
		}
	}
	return b.String()
}
