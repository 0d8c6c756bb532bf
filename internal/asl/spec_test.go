package asl

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// jsonFunc is a handler on decoded JSON values, for tests.
func jsonFunc(fn func(in any) (any, error)) Handler {
	return HandlerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		var in any
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
		out, err := fn(in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	})
}

// sumHandler adds up the numbers it is given, as an array or as the values
// of an object.
var sumHandler = jsonFunc(func(in any) (any, error) {
	var sum float64
	switch v := in.(type) {
	case []any:
		for _, e := range v {
			sum += e.(float64)
		}
	case map[string]any:
		for _, e := range v {
			sum += e.(float64)
		}
	}
	return sum, nil
})

// echoHandler returns its input.
var echoHandler = jsonFunc(func(in any) (any, error) { return in, nil })

// decode parses JSON text for comparisons, failing the test on bad JSON.
func decode(t *testing.T, text string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("decode(%s): %v", text, err)
	}
	return v
}

// specCase is a worked example from the Amazon States Language
// specification (https://states-language.net/spec.html), named after the
// section it comes from.
type specCase struct {
	name     string
	def      string
	input    string
	handlers Handlers
	want     string // the execution's output, when it succeeds
	wantErr  string // the execution's Error, when it fails
}

func runSpecCases(t *testing.T, cases []specCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			ex := mustRun(t, tt.def, tt.input, Options{Resolver: tt.handlers})
			if tt.wantErr != "" {
				if ex.Status != StatusFailed || ex.Error != tt.wantErr {
					t.Fatalf("Run(%s) = %s %q (%s), want FAILED %q", tt.input, ex.Status, ex.Error, ex.Cause, tt.wantErr)
				}
				return
			}
			if ex.Status != StatusSucceeded {
				t.Fatalf("Run(%s) = %s %s: %s, want SUCCEEDED", tt.input, ex.Status, ex.Error, ex.Cause)
			}
			if diff := cmp.Diff(decode(t, tt.want), decode(t, string(ex.Output))); diff != "" {
				t.Errorf("Run(%s) output mismatch (-want +got):\n%s", tt.input, diff)
			}
		})
	}
}

func TestSpecInputAndOutputProcessing(t *testing.T) {
	adder := Handlers{"arn:aws:lambda:us-east-1:123456789012:function:Add": sumHandler}
	const numbers = `{"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}}`
	runSpecCases(t, []specCase{
		{
			name: "Using InputPath, ResultPath and OutputPath/ResultPath $.sum",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Task",
				"Resource": "arn:aws:lambda:us-east-1:123456789012:function:Add",
				"InputPath": "$.numbers", "ResultPath": "$.sum", "End": true}}}`,
			input: numbers, handlers: adder,
			want: `{"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}, "sum": 7}`,
		},
		{
			name: "Using InputPath, ResultPath and OutputPath/OutputPath $.sum",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Task",
				"Resource": "arn:aws:lambda:us-east-1:123456789012:function:Add",
				"InputPath": "$.numbers", "ResultPath": "$.sum", "OutputPath": "$.sum", "End": true}}}`,
			input: numbers, handlers: adder,
			want: `7`,
		},
		{
			name: "Using InputPath, ResultPath and OutputPath/ResultPath $.numbers.sum",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Task",
				"Resource": "arn:aws:lambda:us-east-1:123456789012:function:Add",
				"InputPath": "$.numbers", "ResultPath": "$.numbers.sum", "End": true}}}`,
			input: numbers, handlers: adder,
			want: `{"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4, "sum": 7}}`,
		},
		{
			name: "Using InputPath, ResultPath and OutputPath/defaults pass the result on",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Task",
				"Resource": "arn:aws:lambda:us-east-1:123456789012:function:Add",
				"InputPath": "$.numbers", "End": true}}}`,
			input: numbers, handlers: adder,
			want: `7`,
		},
		{
			name: "Using InputPath, ResultPath and OutputPath/ResultPath null discards the result",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Task",
				"Resource": "arn:aws:lambda:us-east-1:123456789012:function:Add",
				"InputPath": "$.numbers", "ResultPath": null, "End": true}}}`,
			input: numbers, handlers: adder,
			want: numbers,
		},
		{
			name: "Using InputPath, ResultPath and OutputPath/InputPath and OutputPath null give {}",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Pass", "InputPath": null, "Next": "Y"},
				"Y": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "OutputPath": null, "End": true}}}`,
			input: numbers,
			want:  `{}`,
		},
		{
			name: "Parameters/payload template with paths",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Pass",
				"Parameters": {"flagged": true, "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-3:]"}},
				"End": true}}}`,
			input: `{"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]}`,
			want:  `{"flagged": true, "parts": {"first": 0, "last3": [30, 40, 50]}}`,
		},
		{
			name: "Parameters/context object",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Pass",
				"Parameters": {"name.$": "$$.Execution.Name", "state.$": "$$.State.Name", "machine.$": "$$.StateMachine.Name"},
				"End": true}}}`,
			input: `{}`,
			want:  `{"name": "test-execution", "state": "X", "machine": "StateMachine"}`,
		},
		{
			name: "ResultSelector/select from the task result",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Task",
				"Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
				"ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
				"ResultPath": "$.EMROutput", "End": true}}}`,
			input: `{"cluster": "c1"}`,
			handlers: Handlers{"arn:aws:states:::elasticmapreduce:createCluster.sync": jsonFunc(func(any) (any, error) {
				return map[string]any{
					"resourceType": "elasticmapreduce",
					"resource":     "createCluster.sync",
					"output": map[string]any{
						"SdkHttpMetadata":     map[string]any{"HttpStatusCode": 200},
						"SdkResponseMetadata": map[string]any{"RequestId": "1234-5678-9012"},
						"ClusterId":           "AKIAIOSFODNN7EXAMPLE",
					},
				}, nil
			})},
			want: `{"cluster": "c1", "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}}`,
		},
		{
			name: "ResultPath/replace a node of the input",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Task",
				"Resource": "arn:aws:lambda:us-east-1:123456789012:function:Add",
				"InputPath": "$.master.detail", "ResultPath": "$.master.detail", "End": true}}}`,
			input: `{"master": {"detail": [1, 2, 3]}}`, handlers: adder,
			want: `{"master": {"detail": 6}}`,
		},
		{
			name: "ResultPath/create missing objects on the way",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Pass", "Result": "done",
				"ResultPath": "$.a.b.c", "End": true}}}`,
			input: `{"keep": 1}`,
			want:  `{"keep": 1, "a": {"b": {"c": "done"}}}`,
		},
		{
			name: "ResultPath/States.ResultPathMatchFailure when the input cannot hold the result",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Pass", "Result": 6,
				"ResultPath": "$.master.detail", "End": true}}}`,
			input:   `{"master": [1, 2, 3]}`,
			wantErr: StatesResultPathMatchFailure,
		},
		{
			name: "Reference paths/array index and bracket notation",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Pass",
				"Parameters": {"second.$": "$.a[1]", "odd.$": "$['odd key']", "last.$": "$.a[-1]"}, "End": true}}}`,
			input: `{"a": [1, 2, 3], "odd key": "x"}`,
			want:  `{"second": 2, "odd": "x", "last": 3}`,
		},
		{
			name: "Paths/wildcards, slices and filters",
			def: `{"StartAt": "X", "States": {"X": {"Type": "Pass",
				"Parameters": {
					"names.$": "$.items[*].name",
					"firstTwo.$": "$.items[0:2].name",
					"big.$": "$.items[?(@.n > 1)].name",
					"deep.$": "$..n"
				}, "End": true}}}`,
			input: `{"items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}, {"name": "c", "n": 3}]}`,
			want:  `{"names": ["a", "b", "c"], "firstTwo": ["a", "b"], "big": ["b", "c"], "deep": [1, 2, 3]}`,
		},
	})
}

func TestSpecStateTypes(t *testing.T) {
	runSpecCases(t, []specCase{
		{
			name: "Pass State/Result and ResultPath",
			def: `{"StartAt": "No-op", "States": {"No-op": {"Type": "Pass",
				"Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355}, "ResultPath": "$.coords", "End": true}}}`,
			input: `{"georefOf": "Home"}`,
			want:  `{"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}}`,
		},
		{
			name: "Pass State/Result is literal, .$ keys are not evaluated",
			def: `{"StartAt": "P", "States": {"P": {"Type": "Pass",
				"Result": {"unsupported.$": "$.jsonpath"}, "End": true}}}`,
			input: `{"jsonpath": 1}`,
			want:  `{"unsupported.$": "$.jsonpath"}`,
		},
		{
			name:  "Succeed State/InputPath and OutputPath",
			def:   `{"StartAt": "S", "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}}`,
			input: `{"a": {"b": 1}}`,
			want:  `1`,
		},
		{
			name:    "Fail State/Error and Cause",
			def:     `{"StartAt": "FailState", "States": {"FailState": {"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}}}`,
			input:   `{}`,
			wantErr: "ErrorA",
		},
		{
			name: "Fail State/ErrorPath and CausePath",
			def: `{"StartAt": "FailState", "States": {"FailState": {"Type": "Fail",
				"ErrorPath": "$.Error", "CausePath": "States.Format('This is a custom error message for {}, caused by {}.', $.Error, $.Cause)"}}}`,
			input:   `{"Error": "error string", "Cause": "cause string"}`,
			wantErr: "error string",
		},
		{
			name: "Wait State/Seconds",
			def: `{"StartAt": "wait_ten_seconds", "States": {"wait_ten_seconds": {"Type": "Wait", "Seconds": 10, "Next": "T"},
				"T": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": true}}}`,
			input: `{}`,
			want:  `{"entered": "2024-01-01T00:00:10.000Z"}`,
		},
		{
			name: "Wait State/Timestamp",
			def: `{"StartAt": "wait_until", "States": {"wait_until": {"Type": "Wait", "Timestamp": "2024-03-14T01:59:00Z", "Next": "T"},
				"T": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": true}}}`,
			input: `{}`,
			want:  `{"entered": "2024-03-14T01:59:00.000Z"}`,
		},
		{
			name: "Wait State/TimestampPath",
			def: `{"StartAt": "wait_until", "States": {"wait_until": {"Type": "Wait", "TimestampPath": "$.expirydate", "Next": "T"},
				"T": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": true}}}`,
			input: `{"expirydate": "2024-01-02T00:00:00.5Z"}`,
			want:  `{"entered": "2024-01-02T00:00:00.500Z"}`,
		},
		{
			name: "Wait State/SecondsPath",
			def: `{"StartAt": "wait", "States": {"wait": {"Type": "Wait", "SecondsPath": "$.expiryseconds", "Next": "T"},
				"T": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": true}}}`,
			input: `{"expiryseconds": 300}`,
			want:  `{"entered": "2024-01-01T00:05:00.000Z"}`,
		},
		{
			name:    "Wait State/SecondsPath must not be negative",
			def:     `{"StartAt": "wait", "States": {"wait": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}`,
			input:   `{"s": -1}`,
			wantErr: StatesRuntime,
		},
		{
			name: "Parallel State/LookupAddress and LookupPhone",
			def: `{"StartAt": "LookupCustomerInfo", "States": {"LookupCustomerInfo": {"Type": "Parallel", "End": true,
				"Branches": [
					{"StartAt": "LookupAddress", "States": {"LookupAddress": {"Type": "Task",
						"Resource": "arn:aws:lambda:us-east-1:123456789012:function:AddressFinder", "End": true}}},
					{"StartAt": "LookupPhone", "States": {"LookupPhone": {"Type": "Task",
						"Resource": "arn:aws:lambda:us-east-1:123456789012:function:PhoneFinder", "End": true}}}
				]}}}`,
			input: `{"customer": "alice"}`,
			handlers: Handlers{
				"arn:aws:lambda:us-east-1:123456789012:function:AddressFinder": jsonFunc(func(in any) (any, error) {
					return map[string]any{"address": "1 Main St", "for": in.(map[string]any)["customer"]}, nil
				}),
				"arn:aws:lambda:us-east-1:123456789012:function:PhoneFinder": jsonFunc(func(any) (any, error) {
					return "555-0100", nil
				}),
			},
			want: `[{"address": "1 Main St", "for": "alice"}, "555-0100"]`,
		},
		{
			name: "Map State/ItemsPath, ItemSelector and ResultPath",
			def: `{"StartAt": "Validate-All", "States": {"Validate-All": {"Type": "Map",
				"InputPath": "$.detail", "ItemsPath": "$.shipped", "MaxConcurrency": 0,
				"ItemSelector": {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.delivery-partner", "index.$": "$$.Map.Item.Index"},
				"ItemProcessor": {"StartAt": "Validate", "States": {"Validate": {"Type": "Task",
					"Resource": "arn:aws:lambda:us-east-1:123456789012:function:ship-val", "End": true}}},
				"ResultPath": "$.detail.shipped", "End": true}}}`,
			input: `{"ship-date": "2016-03-14T01:59:00Z", "detail": {"delivery-partner": "UQS", "shipped": [
				{"prod": "R31", "dest-code": 9511, "quantity": 1344},
				{"prod": "S39", "dest-code": 9511, "quantity": 40}]}}`,
			handlers: Handlers{"arn:aws:lambda:us-east-1:123456789012:function:ship-val": jsonFunc(func(in any) (any, error) {
				m := in.(map[string]any)
				parcel := m["parcel"].(map[string]any)
				return map[string]any{"prod": parcel["prod"], "courier": m["courier"], "index": m["index"], "valid": parcel["quantity"].(float64) > 100}, nil
			})},
			want: `{"ship-date": "2016-03-14T01:59:00Z", "detail": {"delivery-partner": "UQS", "shipped": [
				{"prod": "R31", "courier": "UQS", "index": 0, "valid": true},
				{"prod": "S39", "courier": "UQS", "index": 1, "valid": false}]}}`,
		},
		{
			name: "Map State/legacy Iterator and Parameters",
			def: `{"StartAt": "M", "States": {"M": {"Type": "Map",
				"Parameters": {"v.$": "$$.Map.Item.Value"},
				"Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}`,
			input: `[1, 2]`,
			want:  `[{"v": 1}, {"v": 2}]`,
		},
		{
			name: "Map State/no items",
			def: `{"StartAt": "M", "States": {"M": {"Type": "Map",
				"ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}`,
			input: `[]`,
			want:  `[]`,
		},
	})
}

func TestSpecChoiceState(t *testing.T) {
	def := `{"StartAt": "ChoiceStateX", "States": {
		"ChoiceStateX": {"Type": "Choice", "Choices": [
			{"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
			{"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
			{"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"}
		], "Default": "RecordEvent"},
		"Public": {"Type": "Pass", "Result": "Public", "End": true},
		"ValueIsZero": {"Type": "Pass", "Result": "ValueIsZero", "End": true},
		"ValueInTwenties": {"Type": "Pass", "Result": "ValueInTwenties", "End": true},
		"RecordEvent": {"Type": "Pass", "Result": "RecordEvent", "End": true}}}`
	runSpecCases(t, []specCase{
		{name: "Choice State/Not", def: def, input: `{"type": "Public"}`, want: `"Public"`},
		{name: "Choice State/NumericEquals", def: def, input: `{"type": "Private", "value": 0}`, want: `"ValueIsZero"`},
		{name: "Choice State/And", def: def, input: `{"type": "Private", "value": 25}`, want: `"ValueInTwenties"`},
		{name: "Choice State/Default", def: def, input: `{"type": "Private", "value": 35}`, want: `"RecordEvent"`},
		{
			name:    "Choice State/no match and no Default",
			def:     `{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "BooleanEquals": true, "Next": "T"}]}, "T": {"Type": "Succeed"}}}`,
			input:   `{"a": false}`,
			wantErr: StatesNoChoiceMatched,
		},
		{
			name: "Choice State/StringMatches with escapes",
			def: `{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
				{"Variable": "$.f", "StringMatches": "log-*.txt", "Next": "Log"},
				{"Variable": "$.f", "StringMatches": "star\\*-\\\\*", "Next": "Star"}], "Default": "Other"},
				"Log": {"Type": "Pass", "Result": "Log", "End": true},
				"Star": {"Type": "Pass", "Result": "Star", "End": true},
				"Other": {"Type": "Pass", "Result": "Other", "End": true}}}`,
			input: `{"f": "star*-\\anything"}`,
			want:  `"Star"`,
		},
		{
			name: "Choice State/TimestampLessThanPath",
			def: `{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
				{"Variable": "$.a", "TimestampLessThanPath": "$.b", "Next": "Before"}], "Default": "After"},
				"Before": {"Type": "Pass", "Result": "Before", "End": true},
				"After": {"Type": "Pass", "Result": "After", "End": true}}}`,
			input: `{"a": "2016-03-14T01:59:00Z", "b": "2016-03-14T02:00:00+00:30"}`,
			want:  `"After"`,
		},
		{
			name: "Choice State/a missing Variable is a States.Runtime error",
			def: `{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
				{"Variable": "$.missing", "IsNull": true, "Next": "T"}], "Default": "T"}, "T": {"Type": "Succeed"}}}`,
			input:   `{}`,
			wantErr: StatesRuntime,
		},
	})
}

func TestSpecIntrinsicFunctions(t *testing.T) {
	fn := func(expr string) string {
		return `{"StartAt": "F", "States": {"F": {"Type": "Pass", "Parameters": {"r.$": ` + mustJSON(expr) + `}, "OutputPath": "$.r", "End": true}}}`
	}
	runSpecCases(t, []specCase{
		{name: "States.Format", def: fn(`States.Format('Welcome to {} {}\'s playlist.', $.firstName, $.lastName)`),
			input: `{"firstName": "John", "lastName": "Doe"}`, want: `"Welcome to John Doe's playlist."`},
		{name: "States.Format/Hello, my name is", def: fn(`States.Format('Hello, my name is {}.', $.name)`),
			input: `{"name": "Arnav"}`, want: `"Hello, my name is Arnav."`},
		{name: "States.Format/escaped braces", def: fn(`States.Format('\{{}\}', $.n)`),
			input: `{"n": 1}`, want: `"{1}"`},
		{name: "States.StringToJson", def: fn(`States.StringToJson($.someString)`),
			input: `{"someString": "{\"number\": 20}"}`, want: `{"number": 20}`},
		{name: "States.JsonToString", def: fn(`States.JsonToString($.someJson)`),
			input: `{"someJson": {"name": "Foo", "year": 2020}}`, want: `"{\"name\":\"Foo\",\"year\":2020}"`},
		{name: "States.Array", def: fn(`States.Array('Foo', 2020, $.someJson, null)`),
			input: `{"someJson": {"random": "abcdefg"}}`, want: `["Foo", 2020, {"random": "abcdefg"}, null]`},
		{name: "States.ArrayPartition", def: fn(`States.ArrayPartition($.inputArray, 4)`),
			input: `{"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}`, want: `[[1, 2, 3, 4], [5, 6, 7, 8], [9]]`},
		{name: "States.ArrayContains", def: fn(`States.ArrayContains($.inputArray, $.lookingFor)`),
			input: `{"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5}`, want: `true`},
		{name: "States.ArrayRange", def: fn(`States.ArrayRange(1, 9, 2)`), input: `{}`, want: `[1, 3, 5, 7, 9]`},
		{name: "States.ArrayGetItem", def: fn(`States.ArrayGetItem($.inputArray, $.index)`),
			input: `{"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}`, want: `6`},
		{name: "States.ArrayLength", def: fn(`States.ArrayLength($.inputArray)`),
			input: `{"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}`, want: `9`},
		{name: "States.ArrayUnique", def: fn(`States.ArrayUnique($.inputArray)`),
			input: `{"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}`, want: `[1, 2, 3, 4]`},
		{name: "States.Base64Encode", def: fn(`States.Base64Encode($.input)`),
			input: `{"input": "Data to encode"}`, want: `"RGF0YSB0byBlbmNvZGU="`},
		{name: "States.Base64Decode", def: fn(`States.Base64Decode($.base64)`),
			input: `{"base64": "RGF0YSB0byBlbmNvZGU="}`, want: `"Data to encode"`},
		{name: "States.Hash", def: fn(`States.Hash($.Data, $.Algorithm)`),
			input: `{"Data": "input data", "Algorithm": "SHA-1"}`, want: `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{name: "States.JsonMerge", def: fn(`States.JsonMerge($.json1, $.json2, false)`),
			input: `{"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}`,
			want:  `{"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}`},
		{name: "States.MathAdd", def: fn(`States.MathAdd($.value1, $.step)`),
			input: `{"value1": 111, "step": -1}`, want: `110`},
		{name: "States.StringSplit", def: fn(`States.StringSplit($.inputString, $.splitter)`),
			input: `{"inputString": "1,2,3,4,5", "splitter": ","}`, want: `["1", "2", "3", "4", "5"]`},
		{name: "States.StringSplit/several delimiters", def: fn(`States.StringSplit('This.is+a,test=string', '.+,=')`),
			input: `{}`, want: `["This", "is", "a", "test", "string"]`},
		{name: "nested calls", def: fn(`States.ArrayLength(States.StringSplit(States.Format('{},{}', $.a, $.b), ','))`),
			input: `{"a": "x", "b": "y"}`, want: `2`},
		{name: "States.ArrayGetItem/index out of range", def: fn(`States.ArrayGetItem($.a, 3)`),
			input: `{"a": [1]}`, wantErr: StatesIntrinsicFailure},
	})
}

func TestSpecIntrinsicRandomAndUUID(t *testing.T) {
	def := `{"StartAt": "F", "States": {"F": {"Type": "Pass", "Parameters": {
		"random.$": "States.MathRandom($.start, $.end)",
		"seeded.$": "States.MathRandom(0, 1000, 7)",
		"uuid.$": "States.UUID()"}, "End": true}}}`
	first := mustRun(t, def, `{"start": 1, "end": 999}`, Options{})
	second := mustRun(t, def, `{"start": 1, "end": 999}`, Options{})
	var a, b struct {
		Random, Seeded int
		UUID           string
	}
	if err := json.Unmarshal(first.Output, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(second.Output, &b); err != nil {
		t.Fatal(err)
	}
	if a.Random < 1 || a.Random >= 999 {
		t.Errorf("States.MathRandom(1, 999) = %d, want 1 <= n < 999", a.Random)
	}
	if a.Seeded != b.Seeded {
		t.Errorf("States.MathRandom(0, 1000, 7) = %d then %d, want the same number for the same seed", a.Seeded, b.Seeded)
	}
	if len(a.UUID) != 36 || a.UUID[14] != '4' || a.UUID == b.UUID {
		t.Errorf("States.UUID() = %q then %q, want two different version 4 UUIDs", a.UUID, b.UUID)
	}
}

func TestSpecErrors(t *testing.T) {
	failing := func(errs ...error) (Handler, *int) {
		calls := 0
		return HandlerFunc(func(context.Context, []byte) ([]byte, error) {
			calls++
			if calls <= len(errs) {
				return nil, errs[calls-1]
			}
			return []byte(`"ok"`), nil
		}), &calls
	}
	const resource = "arn:aws:lambda:us-east-1:123456789012:function:F"
	tests := []struct {
		name      string
		retry     string
		catch     string
		errs      []error
		wantCalls int
		wantSlept time.Duration
		want      string
		wantErr   string
	}{
		{
			name:      "Retrying after error/States.ALL retrier defaults: 3 retries after 1, 2 and 4 seconds",
			retry:     `[{"ErrorEquals": ["States.ALL"]}]`,
			errs:      []error{&ErrorA{}, &ErrorA{}, &ErrorA{}},
			wantCalls: 4, wantSlept: 7 * time.Second, want: `"ok"`,
		},
		{
			name:      "Retrying after error/MaxAttempts exhausted",
			retry:     `[{"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 2}, {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}]`,
			errs:      []error{&ErrorA{}, &ErrorB{}, &ErrorA{}},
			wantCalls: 3, wantSlept: 3 * time.Second, wantErr: "ErrorA",
		},
		{
			name:      "Retrying after error/each retrier counts its own attempts",
			retry:     `[{"ErrorEquals": ["ErrorA"], "IntervalSeconds": 1, "MaxAttempts": 1}, {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5, "MaxAttempts": 1}]`,
			errs:      []error{&ErrorA{}, &ErrorC{}},
			wantCalls: 3, wantSlept: 6 * time.Second, want: `"ok"`,
		},
		{
			name:      "Retrying after error/MaxAttempts 0 never retries",
			retry:     `[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}]`,
			errs:      []error{&ErrorA{}},
			wantCalls: 1, wantErr: "ErrorA",
		},
		{
			name:      "Retrying after error/MaxDelaySeconds caps the backoff",
			retry:     `[{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 4, "MaxDelaySeconds": 10}]`,
			errs:      []error{&ErrorA{}, &ErrorA{}, &ErrorA{}, &ErrorA{}},
			wantCalls: 5, wantSlept: (2 + 6 + 10 + 10) * time.Second, want: `"ok"`,
		},
		{
			name:      "Fallback states/the first matching catcher routes; its error output replaces the input by default",
			catch:     `[{"ErrorEquals": ["java.lang.Exception"], "ResultPath": "$.error-info", "Next": "RecoveryState"}, {"ErrorEquals": ["States.ALL"], "Next": "EndState"}]`,
			errs:      []error{&ErrorA{}},
			wantCalls: 1,
			want:      `{"route": "EndState", "Error": "ErrorA", "Cause": "{\"errorMessage\":\"error A\",\"errorType\":\"ErrorA\"}"}`,
		},
		{
			name:      "Fallback states/ResultPath of the catcher keeps the input",
			catch:     `[{"ErrorEquals": ["ErrorB"], "ResultPath": "$.error-info", "Next": "RecoveryState"}, {"ErrorEquals": ["States.ALL"], "Next": "EndState"}]`,
			errs:      []error{&ErrorB{}},
			wantCalls: 1,
			want:      `{"in": 1, "route": "RecoveryState", "error-info": {"Error": "ErrorB", "Cause": "{\"errorMessage\":\"error B\",\"errorType\":\"ErrorB\"}"}}`,
		},
		{
			name:      "Fallback states/retry first, then catch",
			retry:     `[{"ErrorEquals": ["ErrorA"], "MaxAttempts": 1}]`,
			catch:     `[{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "EndState"}]`,
			errs:      []error{&ErrorA{}, &ErrorA{}},
			wantCalls: 2, wantSlept: time.Second,
			want: `{"in": 1, "route": "EndState"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, calls := failing(tt.errs...)
			task := `"Type": "Task", "Resource": "` + resource + `", "End": true`
			if tt.retry != "" {
				task += `, "Retry": ` + tt.retry
			}
			if tt.catch != "" {
				task += `, "Catch": ` + tt.catch
			}
			def := `{"StartAt": "T", "States": {"T": {` + task + `}`
			for _, name := range []string{"RecoveryState", "EndState"} {
				if strings.Contains(tt.catch, name) {
					def += `, "` + name + `": {"Type": "Pass", "Result": "` + name + `", "ResultPath": "$.route", "End": true}`
				}
			}
			def += `}}`
			clock := NewVirtualClock(epoch)
			ex := mustRun(t, def, `{"in": 1}`, Options{Clock: clock, Resolver: Handlers{resource: h}})
			if *calls != tt.wantCalls {
				t.Errorf("handler calls = %d, want %d", *calls, tt.wantCalls)
			}
			if slept := clock.Now().Sub(epoch); slept != tt.wantSlept {
				t.Errorf("virtual time slept = %v, want %v", slept, tt.wantSlept)
			}
			if tt.wantErr != "" {
				if ex.Status != StatusFailed || ex.Error != tt.wantErr {
					t.Errorf("Run() = %s %q, want FAILED %q", ex.Status, ex.Error, tt.wantErr)
				}
				return
			}
			if ex.Status != StatusSucceeded {
				t.Fatalf("Run() = %s %s: %s, want SUCCEEDED", ex.Status, ex.Error, ex.Cause)
			}
			if diff := cmp.Diff(decode(t, tt.want), decode(t, string(ex.Output))); diff != "" {
				t.Errorf("Run() output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// ErrorA, ErrorB and ErrorC are errors whose Go type names are the error
// names Step Functions sees.
type (
	ErrorA struct{}
	ErrorB struct{}
	ErrorC struct{}
)

func (*ErrorA) Error() string { return "error A" }
func (*ErrorB) Error() string { return "error B" }
func (*ErrorC) Error() string { return "error C" }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
