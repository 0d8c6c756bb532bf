package asl

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// validationMessages returns the messages of a Parse error, one per problem.
func validationMessages(t *testing.T, err error) []string {
	t.Helper()
	var one *ValidationError
	var many ValidationErrors
	switch {
	case errors.As(err, &many):
		out := make([]string, len(many))
		for i, e := range many {
			out[i] = e.Error()
		}
		return out
	case errors.As(err, &one):
		return []string{one.Error()}
	case err == nil:
		return nil
	}
	t.Fatalf("Parse error is %T (%v), want a *ValidationError or ValidationErrors", err, err)
	return nil
}

func TestParseValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		def  string
		want []string
	}{
		{
			name: "unknown Next",
			def:  `{"StartAt": "Deploy", "States": {"Deploy": {"Type": "Pass", "Next": "Nope"}}}`,
			want: []string{`state "Deploy": field "Next": state "Nope" does not exist`},
		},
		{
			name: "unknown Default, rule Next and Catch Next",
			def: `{"StartAt": "C", "States": {
				"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "X"}], "Default": "Y"},
				"T": {"Type": "Task", "Resource": "r", "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]}}}`,
			want: []string{
				`state "C": field "Choices[0].Next": state "X" does not exist`,
				`state "C": field "Default": state "Y" does not exist`,
				`state "T": the state is not reachable from StartAt "C"`,
				`state "T": field "Catch[0].Next": state "Z" does not exist`,
			},
		},
		{
			name: "missing StartAt and States",
			def:  `{"Comment": "empty"}`,
			want: []string{`field "StartAt": is required`, `field "States": is required`},
		},
		{
			name: "StartAt names no state",
			def:  `{"StartAt": "Begin", "States": {"Start": {"Type": "Succeed"}}}`,
			want: []string{`field "StartAt": state "Begin" does not exist`},
		},
		{
			name: "missing required field",
			def:  `{"StartAt": "T", "States": {"T": {"Type": "Task", "End": true}}}`,
			want: []string{`state "T": field "Resource": is required`},
		},
		{
			name: "missing Type",
			def:  `{"StartAt": "T", "States": {"T": {"End": true}}}`,
			want: []string{`state "T": field "Type": is required`},
		},
		{
			name: "unknown state type",
			def:  `{"StartAt": "T", "States": {"T": {"Type": "Tusk", "End": true}}}`,
			want: []string{`state "T": field "Type": unknown state type "Tusk"; did you mean "Task"?`},
		},
		{
			name: "field of the wrong type",
			def:  `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": 7, "TimeoutSeconds": "30", "End": true}}}`,
			want: []string{
				`state "T": field "Resource": must be a string, not number`,
				`state "T": field "TimeoutSeconds": must be an integer from 1 to 99999999, not "30"`,
			},
		},
		{
			name: "misspelt field",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Nxet": "Q", "End": true}, "Q": {"Type": "Succeed"}}}`,
			want: []string{
				`state "P": field "Nxet": unknown field in a Pass state; did you mean "Next"?`,
				`state "Q": the state is not reachable from StartAt "P"`,
			},
		},
		{
			name: "field of another state type",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Resource": "r", "End": true}}}`,
			want: []string{`state "P": field "Resource": unknown field in a Pass state`},
		},
		{
			name: "Next and End together",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Q", "End": true}, "Q": {"Type": "Succeed"}}}`,
			want: []string{`state "P": field "End": cannot be true when Next is set`},
		},
		{
			name: "neither Next nor End",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass"}}}`,
			want: []string{`state "P": field "Next": is required (or set "End": true)`},
		},
		{
			name: "terminal state with Next",
			def:  `{"StartAt": "S", "States": {"S": {"Type": "Succeed", "Next": "F"}, "F": {"Type": "Fail"}}}`,
			want: []string{
				`state "F": the state is not reachable from StartAt "S"`,
				`state "S": field "Next": a Succeed state cannot have Next`,
			},
		},
		{
			name: "unreachable state",
			def: `{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true},
				"Orphan": {"Type": "Pass", "Next": "A"}}}`,
			want: []string{`state "Orphan": the state is not reachable from StartAt "A"`},
		},
		{
			name: "unreachable state in a branch",
			def: `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
				{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "B": {"Type": "Pass", "End": true}}}]}}}`,
			want: []string{`state "B": the state is not reachable from StartAt "A"`},
		},
		{
			name: "transition out of a branch",
			def: `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "Next": "After", "Branches": [
				{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "After"}}}]},
				"After": {"Type": "Succeed"}}}`,
			want: []string{`state "A": field "Next": state "After" is not in the same branch; a transition cannot leave its Parallel branch or Map item processor`},
		},
		{
			name: "malformed path",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.a[", "OutputPath": "a.b", "End": true}}}`,
			want: []string{
				`state "P": field "InputPath": invalid JSONPath "$.a[": unclosed "["`,
				`state "P": field "OutputPath": invalid JSONPath "a.b": must start with "$"`,
			},
		},
		{
			name: "ResultPath must be a reference path",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass", "ResultPath": "$.a[*]", "End": true}}}`,
			want: []string{`state "P": field "ResultPath": "$.a[*]" must be a reference path (only names and indexes, no wildcards, filters or $$)`},
		},
		{
			name: "bad payload template",
			def: `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {
				"a": {"b.$": "nope"}, "c.$": 3, "d.$": "States.Nope($.x)", "e.$": "States.Format('{}', $.x"}, "End": true}}}`,
			want: []string{
				`state "P": field "Parameters.a.b.$": "nope" is neither a path (starting with "$") nor an intrinsic function (starting with "States.")`,
			},
		},
		{
			name: "bad intrinsic function",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"d.$": "States.Nope($.x)"}, "End": true}}}`,
			want: []string{`state "P": field "Parameters.d.$": invalid intrinsic function "States.Nope($.x)": unknown function States.Nope`},
		},
		{
			name: "intrinsic function with the wrong number of arguments",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"d.$": "States.ArrayRange(1, 2)"}, "End": true}}}`,
			want: []string{`state "P": field "Parameters.d.$": invalid intrinsic function "States.ArrayRange(1, 2)": States.ArrayRange takes 3 arguments, got 2`},
		},
		{
			name: "retry and catch fields",
			def: `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true,
				"Retry": [
					{"ErrorEquals": ["States.ALL", "Other"], "BackoffRate": 0.5},
					{"ErrorEquals": [], "MaxAttempts": -1, "JitterStrategy": "SOME"},
					{"ErrorEquals": ["States.Tiemout"], "IntervalSecond": 3}
				],
				"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "T"}, {"ErrorEquals": ["E"]}]}}}`,
			want: []string{
				`state "T": field "Catch[0].ErrorEquals": a catcher with States.ALL must be the last one`,
				`state "T": field "Catch[1].Next": is required`,
				`state "T": field "Retry[0].BackoffRate": must be a number of at least 1.0, not 0.5`,
				`state "T": field "Retry[0].ErrorEquals": States.ALL must appear alone`,
				`state "T": field "Retry[0].ErrorEquals": a retrier with States.ALL must be the last one`,
				`state "T": field "Retry[1].ErrorEquals": must list at least one error name`,
				`state "T": field "Retry[1].JitterStrategy": must be FULL or NONE, not "SOME"`,
				`state "T": field "Retry[1].MaxAttempts": must be an integer from 0 to 99999999, not -1`,
				`state "T": field "Retry[2].ErrorEquals[0]": "States.Tiemout" is not an error name Step Functions defines`,
				`state "T": field "Retry[2].IntervalSecond": unknown field in a retrier; did you mean "IntervalSeconds"?`,
			},
		},
		{
			name: "choice rule shapes",
			def: `{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
					{"Variable": "$.a", "Next": "D"},
					{"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "D"},
					{"Variable": "$.a", "NumericEquals": "1", "Next": "D"},
					{"And": [{"Variable": "$.a", "IsNull": true, "Next": "D"}], "Next": "D"},
					{"Variable": "$.a", "TimestampEquals": "yesterday", "Next": "D"},
					{"Variable": "$.a", "BooleanEquals": true}
				]}, "D": {"Type": "Succeed"}}}`,
			want: []string{
				`state "C": field "Choices[0]": a choice rule needs a comparison (Variable and an operator such as StringEquals) or And, Or or Not`,
				`state "C": field "Choices[1]": a choice rule must have exactly one of And, Or, Not or a comparison operator, found NumericEquals, StringEquals`,
				`state "C": field "Choices[2].NumericEquals": must be a number, not string`,
				`state "C": field "Choices[3].And[0].Next": only top-level choice rules have Next`,
				`state "C": field "Choices[4].TimestampEquals": "yesterday" is not an ISO-8601 timestamp such as 2016-03-14T01:59:00Z`,
				`state "C": field "Choices[5].Next": is required`,
			},
		},
		{
			name: "Wait needs exactly one duration",
			def: `{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "TimestampPath": "$.t", "Next": "V"},
				"V": {"Type": "Wait", "End": true}}}`,
			want: []string{
				`state "V": field "Seconds": a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath`,
				`state "W": field "TimestampPath": a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath; found Seconds, TimestampPath`,
			},
		},
		{
			name: "Map needs an item processor",
			def:  `{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": -1, "End": true}}}`,
			want: []string{
				`state "M": field "ItemProcessor": is required`,
				`state "M": field "MaxConcurrency": must be an integer from 0 to 2147483647, not -1`,
			},
		},
		{
			name: "Parallel needs branches",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [], "End": true}}}`,
			want: []string{`state "P": field "Branches": must be a non-empty array of branches`},
		},
		{
			name: "branch without StartAt",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [{"States": {"A": {"Type": "Succeed"}}}]}}}`,
			want: []string{`state "P": field "Branches[0].StartAt": is required`},
		},
		{
			name: "Fail with Error and ErrorPath",
			def:  `{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}}}`,
			want: []string{`state "F": field "ErrorPath": cannot be set together with Error`},
		},
		{
			name: "duplicate state name",
			def: `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
				{"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}]}}}`,
			want: []string{`state "P": the name is used by more than one state; state names must be unique in the whole state machine`},
		},
		{
			name: "JSONPath field in a JSONata state",
			def:  `{"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.a", "Output": "{% $states.input %}", "End": true}}}`,
			want: []string{`state "P": field "InputPath": belongs to JSONPath; a state in the JSONata query language uses $states.input in Arguments or Output`},
		},
		{
			name: "bad JSONata expression",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input. %}", "End": true}}}`,
			want: []string{`state "P": field "Output": invalid JSONata expression '$states.input.': unexpected end of expression`},
		},
		{
			name: "variable as ResultPath",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Assign": {"x": 1}, "ResultPath": "$x", "End": true}}}`,
			want: []string{`state "P": field "ResultPath": must be a path into the state's input, not a variable`},
		},
		{
			name: "unknown top-level field",
			def:  `{"StartAt": "P", "Timeout": 5, "States": {"P": {"Type": "Succeed"}}}`,
			want: []string{`field "Timeout": unknown field in a state machine; did you mean "TimeoutSeconds"?`},
		},
		{
			name: "not an object",
			def:  `[1, 2]`,
			want: []string{`the definition must be a JSON object, not array`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm, err := Parse([]byte(tt.def))
			if err == nil {
				t.Fatalf("Parse(%s) = %v, want an error", tt.def, sm)
			}
			if diff := cmp.Diff(tt.want, validationMessages(t, err)); diff != "" {
				t.Errorf("Parse(%s) errors mismatch (-want +got):\n%s", tt.def, diff)
			}
		})
	}
}

func TestParseErrorTypes(t *testing.T) {
	_, err := Parse([]byte(`{"StartAt": "Deploy", "States": {"Deploy": {"Type": "Pass", "Next": "Nope"}}}`))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse error is %T, want *ValidationError", err)
	}
	want := &ValidationError{State: "Deploy", Field: "Next", Message: `state "Nope" does not exist`}
	if diff := cmp.Diff(want, ve); diff != "" {
		t.Errorf("Parse error mismatch (-want +got):\n%s", diff)
	}

	_, err = Parse([]byte(`{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "X"}, "B": {"Type": "Pass", "Next": "Y"}}}`))
	var ves ValidationErrors
	if !errors.As(err, &ves) || len(ves) != 3 {
		t.Fatalf("Parse error = %v, want 3 ValidationErrors", err)
	}
	if got, want := err.Error(), strings.Join([]string{
		`state "A": field "Next": state "X" does not exist`,
		`state "B": the state is not reachable from StartAt "A"`,
		`state "B": field "Next": state "Y" does not exist`,
	}, "\n"); got != want {
		t.Errorf("Parse error text = %q, want %q", got, want)
	}
}

func TestParseMalformedJSON(t *testing.T) {
	_, err := Parse([]byte(`{"StartAt": "A",, }`))
	var se *JSONSyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse error is %T (%v), want it to wrap *JSONSyntaxError", err, err)
	}
	if want := "parse definition: invalid JSON at offset 17: invalid character ',' looking for beginning of object key string"; err.Error() != want {
		t.Errorf("Parse error = %q, want %q", err, want)
	}
}

const nestedDef = `{"StartAt": "Prepare", "States": {
	"Prepare": {"Type": "Pass", "Next": "Fan"},
	"Fan": {"Type": "Parallel", "Next": "Route", "Branches": [
		{"StartAt": "Left", "States": {"Left": {"Type": "Task", "Resource": "${LeftArn}", "End": true,
			"Retry": [{"ErrorEquals": ["LockHeld", "States.Timeout"]}]}}},
		{"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
			"ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Task", "Resource": "${ItemArn}", "End": true}}}}}}
	],
	"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]},
	"Route": {"Type": "Choice", "Choices": [{"Variable": "$[0]", "IsPresent": true, "Next": "Done"}], "Default": "Failed"},
	"Done": {"Type": "Succeed"},
	"Failed": {"Type": "Fail", "Error": "Failed"}
}}`

func TestWalk(t *testing.T) {
	sm := mustParse(t, nestedDef)
	type visit struct {
		Path        []string
		Type        string
		Transitions []string
	}
	var got []visit
	sm.Walk(func(path []string, s *State) {
		got = append(got, visit{Path: path, Type: s.Type, Transitions: s.Transitions()})
	})
	want := []visit{
		{Path: []string{"Done"}, Type: "Succeed"},
		{Path: []string{"Failed"}, Type: "Fail"},
		{Path: []string{"Fan"}, Type: "Parallel", Transitions: []string{"Failed", "Route"}},
		{Path: []string{"Fan", "Left"}, Type: "Task"},
		{Path: []string{"Fan", "Each"}, Type: "Map"},
		{Path: []string{"Fan", "Each", "Item"}, Type: "Task"},
		{Path: []string{"Prepare"}, Type: "Pass", Transitions: []string{"Fan"}},
		{Path: []string{"Route"}, Type: "Choice", Transitions: []string{"Done", "Failed"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Walk visits mismatch (-want +got):\n%s", diff)
	}
}

func TestStateFields(t *testing.T) {
	sm := mustParse(t, nestedDef)
	left := sm.States["Fan"].Branches[0].States["Left"]
	if left.Resource != "${LeftArn}" {
		t.Errorf("Left.Resource = %q, want %q", left.Resource, "${LeftArn}")
	}
	want := &Retrier{ErrorEquals: []string{"LockHeld", "States.Timeout"}, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "NONE"}
	if diff := cmp.Diff(want, left.Retry[0]); diff != "" {
		t.Errorf("Left.Retry[0] mismatch (-want +got):\n%s", diff)
	}
	fan := sm.States["Fan"]
	if got := fan.Catch[0].ErrorEquals; !cmp.Equal(got, []string{"States.ALL"}) || fan.Catch[0].Next != "Failed" {
		t.Errorf("Fan.Catch[0] = %v -> %s, want [States.ALL] -> Failed", got, fan.Catch[0].Next)
	}
	item := fan.Branches[1].States["Each"].ItemProcessor.States["Item"]
	if item.Resource != "${ItemArn}" {
		t.Errorf("Item.Resource = %q, want %q", item.Resource, "${ItemArn}")
	}
	route := sm.States["Route"]
	if route.Default != "Failed" || route.Choices[0].Next != "Done" || route.Choices[0].Operator != "IsPresent" || route.Choices[0].Variable != "$[0]" {
		t.Errorf("Route = %+v, want Default Failed and one IsPresent rule on $[0] to Done", route)
	}
}

func TestReachable(t *testing.T) {
	sm := mustParse(t, nestedDef)
	want := []string{"Done", "Each", "Failed", "Fan", "Item", "Left", "Prepare", "Route"}
	if diff := cmp.Diff(want, sm.Reachable()); diff != "" {
		t.Errorf("Reachable() mismatch (-want +got):\n%s", diff)
	}
	if got := sm.Unreachable(); len(got) != 0 {
		t.Errorf("Unreachable() = %v, want none", got)
	}
	// A machine edited after parsing can have unreachable states.
	sm.States["Route"].Default = "Done"
	sm.States["Fan"].Catch = nil
	if diff := cmp.Diff([]string{"Failed"}, sm.Unreachable()); diff != "" {
		t.Errorf("Unreachable() after edits mismatch (-want +got):\n%s", diff)
	}
}

func TestParseAcceptsValidDefinitions(t *testing.T) {
	tests := []struct {
		name string
		def  string
	}{
		{"every Choice operator shape", `{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
			{"Or": [{"Variable": "$.a", "StringMatches": "x*"}, {"Not": {"Variable": "$.a", "IsPresent": true}}], "Next": "D"},
			{"Variable": "$.t", "TimestampGreaterThanEqualsPath": "$.u", "Next": "D"}], "Default": "D"},
			"D": {"Type": "Succeed"}}}`},
		{"Map with legacy Iterator and ProcessorConfig", `{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
			"Iterator": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}}`},
		{"Task with every timing field", `{"StartAt": "T", "Version": "1.0", "TimeoutSeconds": 60, "States": {"T": {"Type": "Task",
			"Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 10, "HeartbeatSeconds": 5, "Credentials": {"RoleArn": "r"}, "End": true}}}`},
		{"a loop with no End", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Wait", "Seconds": 1, "Next": "A"}}}`},
		{"explicit JSONPath", `{"QueryLanguage": "JSONPath", "StartAt": "A", "States": {"A": {"Type": "Succeed", "QueryLanguage": "JSONPath"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.def)); err != nil {
				t.Errorf("Parse(%s) error: %v", tt.def, err)
			}
		})
	}
}
