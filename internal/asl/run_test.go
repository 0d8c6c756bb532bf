package asl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRunRejectsMalformedInput(t *testing.T) {
	sm := mustParse(t, `{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}`)
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"truncated", `{"a": 1`, "execution input: invalid JSON at offset 7: unexpected end of JSON input"},
		{"bad character", `{"a": 1,, "b": 2}`, "execution input: invalid JSON at offset 9: invalid character ',' looking for beginning of object key string"},
		{"trailing data", `{"a": 1} {"b": 2}`, "execution input: invalid JSON at offset 9: invalid character after top-level value"},
		{"bare word", `hello`, "execution input: invalid JSON at offset 1: invalid character 'h' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, err := Run(context.Background(), sm, []byte(tt.input), Options{})
			if err == nil {
				t.Fatalf("Run(%s) = %s, want an error", tt.input, ex.Status)
			}
			if err.Error() != tt.want {
				t.Errorf("Run(%s) error = %q, want %q", tt.input, err, tt.want)
			}
			var se *JSONSyntaxError
			if !errors.As(err, &se) {
				t.Errorf("Run(%s) error is %T, want it to wrap *JSONSyntaxError", tt.input, err)
			}
		})
	}
}

func TestRunEmptyInputIsAnEmptyObject(t *testing.T) {
	ex := mustRun(t, `{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}`, "", Options{})
	if string(ex.Output) != `{}` {
		t.Errorf("Run(\"\") output = %s, want {}", ex.Output)
	}
}

func TestRunNilStateMachine(t *testing.T) {
	if _, err := Run(context.Background(), nil, nil, Options{}); err == nil {
		t.Error("Run(nil) error = nil, want an error")
	}
}

// TestHistory checks the whole history of a small machine: event types,
// ids, previous ids, details and virtual timestamps.
func TestHistory(t *testing.T) {
	def := `{"StartAt": "Start", "States": {
		"Start": {"Type": "Pass", "Result": {"n": 1}, "Next": "Work"},
		"Work": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "TimeoutSeconds": 30, "Next": "Check"},
		"Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 2, "Next": "Pause"}], "Default": "Oops"},
		"Pause": {"Type": "Wait", "Seconds": 60, "Next": "Done"},
		"Oops": {"Type": "Fail", "Error": "Oops"},
		"Done": {"Type": "Succeed"}}}`
	work := jsonFunc(func(in any) (any, error) {
		return map[string]any{"n": in.(map[string]any)["n"].(float64) + 1}, nil
	})
	ex := mustRun(t, def, `{}`, Options{Resolver: Handlers{"arn:aws:lambda:us-east-1:123456789012:function:work": work}})
	data := func() *DataDetails { return &DataDetails{} }
	thirty := int64(30)
	later := epoch.Add(time.Minute)
	want := []HistoryEvent{
		{ID: 1, PreviousEventID: 0, Timestamp: epoch, Type: "ExecutionStarted", ExecutionStartedEventDetails: &ExecutionStartedEventDetails{
			Input: `{}`, InputDetails: data(), RoleARN: "arn:aws:iam::000000000000:role/service-role/StepFunctions-StateMachine-role"}},
		{ID: 2, PreviousEventID: 0, Timestamp: epoch, Type: "PassStateEntered", StateEnteredEventDetails: &StateEnteredEventDetails{Name: "Start", Input: `{}`, InputDetails: data()}},
		{ID: 3, PreviousEventID: 2, Timestamp: epoch, Type: "PassStateExited", StateExitedEventDetails: &StateExitedEventDetails{Name: "Start", Output: `{"n":1}`, OutputDetails: data()}},
		{ID: 4, PreviousEventID: 3, Timestamp: epoch, Type: "TaskStateEntered", StateEnteredEventDetails: &StateEnteredEventDetails{Name: "Work", Input: `{"n":1}`, InputDetails: data()}},
		{ID: 5, PreviousEventID: 4, Timestamp: epoch, Type: "LambdaFunctionScheduled", LambdaFunctionScheduledEventDetails: &LambdaFunctionScheduledEventDetails{
			Resource: "arn:aws:lambda:us-east-1:123456789012:function:work", Input: `{"n":1}`, InputDetails: data(), TimeoutInSeconds: &thirty}},
		{ID: 6, PreviousEventID: 5, Timestamp: epoch, Type: "LambdaFunctionStarted"},
		{ID: 7, PreviousEventID: 6, Timestamp: epoch, Type: "LambdaFunctionSucceeded", LambdaFunctionSucceededEventDetails: &OutputEventDetails{Output: `{"n":2}`, OutputDetails: data()}},
		{ID: 8, PreviousEventID: 7, Timestamp: epoch, Type: "TaskStateExited", StateExitedEventDetails: &StateExitedEventDetails{Name: "Work", Output: `{"n":2}`, OutputDetails: data()}},
		{ID: 9, PreviousEventID: 8, Timestamp: epoch, Type: "ChoiceStateEntered", StateEnteredEventDetails: &StateEnteredEventDetails{Name: "Check", Input: `{"n":2}`, InputDetails: data()}},
		{ID: 10, PreviousEventID: 9, Timestamp: epoch, Type: "ChoiceStateExited", StateExitedEventDetails: &StateExitedEventDetails{Name: "Check", Output: `{"n":2}`, OutputDetails: data()}},
		{ID: 11, PreviousEventID: 10, Timestamp: epoch, Type: "WaitStateEntered", StateEnteredEventDetails: &StateEnteredEventDetails{Name: "Pause", Input: `{"n":2}`, InputDetails: data()}},
		{ID: 12, PreviousEventID: 11, Timestamp: later, Type: "WaitStateExited", StateExitedEventDetails: &StateExitedEventDetails{Name: "Pause", Output: `{"n":2}`, OutputDetails: data()}},
		{ID: 13, PreviousEventID: 12, Timestamp: later, Type: "SucceedStateEntered", StateEnteredEventDetails: &StateEnteredEventDetails{Name: "Done", Input: `{"n":2}`, InputDetails: data()}},
		{ID: 14, PreviousEventID: 13, Timestamp: later, Type: "SucceedStateExited", StateExitedEventDetails: &StateExitedEventDetails{Name: "Done", Output: `{"n":2}`, OutputDetails: data()}},
		{ID: 15, PreviousEventID: 14, Timestamp: later, Type: "ExecutionSucceeded", ExecutionSucceededEventDetails: &ExecutionSucceededEventDetails{Output: `{"n":2}`, OutputDetails: data()}},
	}
	if diff := cmp.Diff(want, ex.History); diff != "" {
		t.Errorf("history mismatch (-want +got):\n%s", diff)
	}
	if !ex.StartDate.Equal(epoch) || !ex.StopDate.Equal(later) {
		t.Errorf("StartDate, StopDate = %v, %v, want %v, %v", ex.StartDate, ex.StopDate, epoch, later)
	}
	if want := "arn:aws:states:us-east-1:000000000000:execution:StateMachine:test-execution"; ex.ExecutionARN != want {
		t.Errorf("ExecutionARN = %q, want %q", ex.ExecutionARN, want)
	}
}

// eventTypes lists the types of a history's events.
func eventTypes(h []HistoryEvent) []string {
	out := make([]string, len(h))
	for i, e := range h {
		out[i] = e.Type
	}
	return out
}

func TestHistoryEventTypes(t *testing.T) {
	failing := HandlerFunc(func(context.Context, []byte) ([]byte, error) { return nil, &FooError{Reason: "nope"} })
	handlers := Handlers{
		"arn:aws:lambda:us-east-1:000000000000:function:fail": failing,
		"arn:aws:states:::sqs:sendMessage":                    echoHandler,
	}
	tests := []struct {
		name string
		def  string
		want []string
	}{
		{
			name: "lambda:invoke failure caught",
			def: `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
				"Parameters": {"FunctionName": "fail", "Payload.$": "$"},
				"Catch": [{"ErrorEquals": ["FooError"], "Next": "Caught"}], "End": true},
				"Caught": {"Type": "Pass", "End": true}}}`,
			want: []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskFailed",
				"TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"},
		},
		{
			name: "lambda function failure retried then uncaught",
			def: `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:fail",
				"Retry": [{"ErrorEquals": ["FooError"], "MaxAttempts": 1}], "End": true}}}`,
			want: []string{"ExecutionStarted", "TaskStateEntered",
				"LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",
				"LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed", "ExecutionFailed"},
		},
		{
			name: "service integration",
			def: `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
				"Parameters": {"MessageBody": "hi"}, "End": true}}}`,
			want: []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"},
		},
		{
			name: "parallel",
			def: `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
				{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]}}}`,
			want: []string{"ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted", "PassStateEntered", "PassStateExited",
				"ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"},
		},
		{
			name: "parallel failure caught",
			def: `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "Next": "C", "Branches": [
				{"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "E"}}}],
				"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
				"C": {"Type": "Succeed"}}}`,
			want: []string{"ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted", "FailStateEntered",
				"ParallelStateFailed", "ParallelStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"},
		},
		{
			name: "map",
			def: `{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
				"ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}}`,
			want: []string{"ExecutionStarted", "MapStateEntered", "MapStateStarted",
				"MapIterationStarted", "PassStateEntered", "PassStateExited", "MapIterationSucceeded",
				"MapIterationStarted", "PassStateEntered", "PassStateExited", "MapIterationSucceeded",
				"MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"},
		},
		{
			name: "map failure",
			def: `{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
				"ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "E", "Cause": "C"}}}}}}`,
			want: []string{"ExecutionStarted", "MapStateEntered", "MapStateStarted",
				"MapIterationStarted", "FailStateEntered", "MapIterationFailed", "MapStateFailed", "ExecutionFailed"},
		},
		{
			name: "input path failure",
			def:  `{"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": true}}}`,
			want: []string{"ExecutionStarted", "PassStateEntered", "ExecutionFailed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := mustRun(t, tt.def, `[1, 2]`, Options{Resolver: handlers})
			if diff := cmp.Diff(tt.want, eventTypes(ex.History)); diff != "" {
				t.Errorf("event types mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTaskFailedEventDetails(t *testing.T) {
	failing := HandlerFunc(func(context.Context, []byte) ([]byte, error) { return nil, &FooError{Reason: "nope"} })
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
		"Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:fail"}, "End": true}}}`
	ex := mustRun(t, def, `{}`, Options{Resolver: Handlers{"fail": failing}})
	var got *TaskEventDetails
	for _, e := range ex.History {
		if e.Type == EventTaskFailed {
			got = e.TaskFailedEventDetails
		}
	}
	want := &TaskEventDetails{ResourceType: "lambda", Resource: "invoke", Error: "FooError",
		Cause: `{"errorMessage":"foo: nope","errorType":"FooError"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TaskFailed details mismatch (-want +got):\n%s", diff)
	}
	if ex.Error != "FooError" || ex.Cause != want.Cause {
		t.Errorf("Run() error, cause = %q, %q, want %q, %q", ex.Error, ex.Cause, "FooError", want.Cause)
	}
}

// FooError is a handler error whose Go type name is its error name.
type FooError struct{ Reason string }

func (e *FooError) Error() string { return "foo: " + e.Reason }

type valueError struct{}

func (valueError) Error() string { return "value error" }

func TestErrorName(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"pointer type", &FooError{}, "FooError"},
		{"value type", valueError{}, "valueError"},
		{"errors.New", errors.New("x"), "errorString"},
		{"fmt.Errorf with %w", fmt.Errorf("wrap: %w", &FooError{}), "wrapError"},
		{"InvokeResponse_Error", messages.InvokeResponse_Error{Type: "Custom", Message: "m"}, "Custom"},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorName(tt.err); got != tt.want {
				t.Errorf("ErrorName(%#v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

type deployInput struct {
	Version string `json:"version"`
}

type deployOutput struct {
	Deployed string `json:"deployed"`
}

// TestLambdaHandler runs handlers built by aws-lambda-go's lambda.NewHandler,
// as Slipway's functions are.
func TestLambdaHandler(t *testing.T) {
	deploy := lambda.NewHandler(func(ctx context.Context, in deployInput) (deployOutput, error) {
		if in.Version == "bad" {
			return deployOutput{}, &FooError{Reason: "bad version"}
		}
		return deployOutput{Deployed: in.Version}, nil
	})
	const arn = "arn:aws:lambda:us-east-1:123456789012:function:deploy"
	def := `{"StartAt": "Deploy", "States": {"Deploy": {"Type": "Task", "Resource": "` + arn + `",
		"Catch": [{"ErrorEquals": ["FooError"], "ResultPath": "$.error", "Next": "Failed"}], "End": true},
		"Failed": {"Type": "Pass", "End": true}}}`
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"success", `{"version": "v2"}`, `{"deployed": "v2"}`},
		{"error type name", `{"version": "bad"}`, `{"version": "bad", "error": {"Error": "FooError", "Cause": "{\"errorMessage\":\"foo: bad version\",\"errorType\":\"FooError\"}"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := mustRun(t, def, tt.input, Options{Resolver: Handlers{arn: deploy}})
			if ex.Status != StatusSucceeded {
				t.Fatalf("Run(%s) = %s %s: %s", tt.input, ex.Status, ex.Error, ex.Cause)
			}
			if diff := cmp.Diff(decode(t, tt.want), decode(t, string(ex.Output))); diff != "" {
				t.Errorf("Run(%s) output mismatch (-want +got):\n%s", tt.input, diff)
			}
		})
	}
}

func TestHandlerPanicIsAnError(t *testing.T) {
	boom := HandlerFunc(func(context.Context, []byte) ([]byte, error) { panic("boom") })
	ex := mustRun(t, `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "boom", "End": true}}}`, `{}`,
		Options{Resolver: Handlers{"boom": boom}})
	want := `{"errorMessage":"boom","errorType":"string"}`
	if ex.Status != StatusFailed || ex.Error != "string" || ex.Cause != want {
		t.Errorf("Run() = %s %q %q, want FAILED %q %q", ex.Status, ex.Error, ex.Cause, "string", want)
	}
}

func TestUnknownResource(t *testing.T) {
	tests := []struct {
		name      string
		resource  string
		params    string
		wantError string
		wantCause string
	}{
		{
			name:      "lambda function",
			resource:  "arn:aws:lambda:us-east-1:123456789012:function:missing",
			wantError: "Lambda.ResourceNotFoundException",
			wantCause: "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing (no handler is registered for it in the embedded engine)",
		},
		{
			name:      "lambda invoke",
			resource:  "arn:aws:states:::lambda:invoke",
			params:    `, "Parameters": {"FunctionName": "missing"}`,
			wantError: "Lambda.ResourceNotFoundException",
			wantCause: "Function not found: missing (no handler is registered for it in the embedded engine)",
		},
		{
			name:      "placeholder left unfilled",
			resource:  "${PreflightFunctionArn}",
			wantError: StatesRuntime,
			wantCause: "An error occurred while executing the state 'T' (entered at the event id #2). No handler is registered for the resource '${PreflightFunctionArn}' in the embedded engine.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "` + tt.resource + `"` + tt.params + `, "End": true}}}`
			for _, r := range []Resolver{nil, Handlers{}} {
				ex := mustRun(t, def, `{}`, Options{Resolver: r})
				if ex.Status != StatusFailed || ex.Error != tt.wantError || ex.Cause != tt.wantCause {
					t.Errorf("Run() with resolver %v = %s %q %q, want FAILED %q %q", r, ex.Status, ex.Error, ex.Cause, tt.wantError, tt.wantCause)
				}
			}
		})
	}
}

func TestTaskTimeout(t *testing.T) {
	sawDeadline := make(chan bool, 1)
	slow := HandlerFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
		_, ok := ctx.Deadline()
		sawDeadline <- ok
		<-ctx.Done()
		return nil, ctx.Err()
	})
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "slow", "TimeoutSecondsPath": "$.timeout",
		"Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "TimedOut"}], "End": true},
		"TimedOut": {"Type": "Pass", "End": true}}}`
	start := time.Now()
	ex := mustRun(t, def, `{"timeout": 1}`, Options{Resolver: Handlers{"slow": slow}})
	if elapsed := time.Since(start); elapsed < time.Second || elapsed > 10*time.Second {
		t.Errorf("the run took %v, want about 1s", elapsed)
	}
	if !<-sawDeadline {
		t.Error("the handler's context had no deadline")
	}
	want := `{"timeout": 1, "error": {"Error": "States.Timeout", "Cause": ""}}`
	if diff := cmp.Diff(decode(t, want), decode(t, string(ex.Output))); diff != "" {
		t.Errorf("Run() output mismatch (-want +got):\n%s", diff)
	}
	if got := eventTypes(ex.History)[4]; got != EventTaskTimedOut {
		t.Errorf("event 5 = %s, want %s", got, EventTaskTimedOut)
	}
}

func TestMapMaxConcurrency(t *testing.T) {
	tests := []struct {
		name           string
		maxConcurrency int
		items          int
		want           int
	}{
		{"one at a time", 1, 6, 1},
		{"three at a time", 3, 9, 3},
		{"no limit", 0, 8, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			inFlight, peak := 0, 0
			limit := tt.want
			h := HandlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
				mu.Lock()
				inFlight++
				peak = max(peak, inFlight)
				mu.Unlock()
				// Hold on until the expected number run at once, so that a
				// limit that is not honoured shows.
				deadline := time.Now().Add(2 * time.Second)
				for time.Now().Before(deadline) {
					mu.Lock()
					n := inFlight
					mu.Unlock()
					if n >= limit {
						break
					}
					time.Sleep(time.Millisecond)
				}
				time.Sleep(5 * time.Millisecond)
				mu.Lock()
				inFlight--
				mu.Unlock()
				return payload, nil
			})
			items := make([]string, tt.items)
			for i := range items {
				items[i] = fmt.Sprint(i)
			}
			def := fmt.Sprintf(`{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": %d, "End": true,
				"ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "h", "End": true}}}}}}`, tt.maxConcurrency)
			ex := mustRun(t, def, "["+strings.Join(items, ",")+"]", Options{Resolver: Handlers{"h": h}})
			if ex.Status != StatusSucceeded {
				t.Fatalf("Run() = %s %s: %s", ex.Status, ex.Error, ex.Cause)
			}
			if want := "[" + strings.Join(items, ",") + "]"; string(ex.Output) != want {
				t.Errorf("Run() output = %s, want %s", ex.Output, want)
			}
			if peak != tt.want {
				t.Errorf("peak concurrent invocations = %d, want %d", peak, tt.want)
			}
		})
	}
}

func TestParallelKeepsBranchOrder(t *testing.T) {
	slow := HandlerFunc(func(context.Context, []byte) ([]byte, error) {
		time.Sleep(30 * time.Millisecond)
		return []byte(`"slow"`), nil
	})
	def := `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
		{"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": "slow", "End": true}}},
		{"StartAt": "Fast", "States": {"Fast": {"Type": "Pass", "Result": "fast", "End": true}}},
		{"StartAt": "Waits", "States": {"Waits": {"Type": "Wait", "Seconds": 5, "Next": "Late"}, "Late": {"Type": "Pass", "Result": "late", "End": true}}}]}}}`
	ex := mustRun(t, def, `{}`, Options{Resolver: Handlers{"slow": slow}})
	if want := `["slow","fast","late"]`; string(ex.Output) != want {
		t.Errorf("Run() output = %s, want %s", ex.Output, want)
	}
}

func TestParallelBranchFailureStopsTheOthers(t *testing.T) {
	started, stopped := make(chan struct{}), make(chan struct{})
	blocking := HandlerFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
		close(started)
		<-ctx.Done()
		close(stopped)
		return nil, ctx.Err()
	})
	boom := HandlerFunc(func(context.Context, []byte) ([]byte, error) {
		<-started
		return nil, &FooError{Reason: "branch 2"}
	})
	def := `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
		{"StartAt": "Block", "States": {"Block": {"Type": "Task", "Resource": "block", "End": true}}},
		{"StartAt": "Boom", "States": {"Boom": {"Type": "Task", "Resource": "boom", "End": true}}}]}}}`
	ex := mustRun(t, def, `{}`, Options{Resolver: Handlers{"block": blocking, "boom": boom}})
	if ex.Status != StatusFailed || ex.Error != "FooError" {
		t.Errorf("Run() = %s %q %q, want FAILED FooError", ex.Status, ex.Error, ex.Cause)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Error("the blocked branch was not cancelled")
	}
}

func TestCancelledContextAborts(t *testing.T) {
	sm := mustParse(t, `{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	ex, err := Run(ctx, sm, []byte(`{}`), Options{Clock: RealClock()})
	if err != nil {
		t.Fatal(err)
	}
	types := eventTypes(ex.History)
	if ex.Status != StatusAborted || types[len(types)-1] != EventExecutionAborted {
		t.Errorf("Run() = %s ending with %s, want ABORTED ending with %s", ex.Status, types[len(types)-1], EventExecutionAborted)
	}
}

func TestExecutionTimeoutSeconds(t *testing.T) {
	clock := NewVirtualClock(epoch)
	ex := mustRun(t, `{"StartAt": "W", "TimeoutSeconds": 60, "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}`, `{}`,
		Options{Clock: clock})
	if ex.Status != StatusTimedOut || ex.Error != StatesTimeout {
		t.Errorf("Run() = %s %q, want TIMED_OUT %q", ex.Status, ex.Error, StatesTimeout)
	}
	if got := clock.Now().Sub(epoch); got != time.Minute {
		t.Errorf("virtual time = %v, want 1m0s", got)
	}
}

func TestExecutionTimeoutStopsARunningTask(t *testing.T) {
	block := HandlerFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	start := time.Now()
	ex := mustRun(t, `{"StartAt": "T", "TimeoutSeconds": 1, "States": {"T": {"Type": "Task", "Resource": "block", "End": true}}}`, `{}`,
		Options{Clock: RealClock(), Resolver: Handlers{"block": block}})
	if ex.Status != StatusTimedOut {
		t.Errorf("Run() = %s %q, want TIMED_OUT", ex.Status, ex.Error)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("the run took %v, want about 1s", elapsed)
	}
	types := eventTypes(ex.History)
	if types[len(types)-1] != EventExecutionTimedOut {
		t.Errorf("last event = %s, want %s", types[len(types)-1], EventExecutionTimedOut)
	}
}

func TestVirtualClockWaitsAtOnce(t *testing.T) {
	def := `{"StartAt": "W", "States": {
		"W": {"Type": "Wait", "Seconds": 300, "Next": "P"},
		"P": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime", "started.$": "$$.Execution.StartTime"}, "End": true}}}`
	start := time.Now()
	ex := mustRun(t, def, `{}`, Options{})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("a 5-minute Wait on the virtual clock took %v", elapsed)
	}
	want := `{"entered":"2024-01-01T00:05:00.000Z","started":"2024-01-01T00:00:00.000Z"}`
	if string(ex.Output) != want {
		t.Errorf("Run() output = %s, want %s", ex.Output, want)
	}
	if got := ex.History[len(ex.History)-1].Timestamp; !got.Equal(epoch.Add(5 * time.Minute)) {
		t.Errorf("last event at %v, want %v", got, epoch.Add(5*time.Minute))
	}
}

func TestVirtualClockParallelWaitsOverlap(t *testing.T) {
	clock := NewVirtualClock(epoch)
	def := `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
		{"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 60, "End": true}}},
		{"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 60, "End": true}}}]}}}`
	mustRun(t, def, `{}`, Options{Clock: clock})
	if got := clock.Now().Sub(epoch); got != time.Minute {
		t.Errorf("two parallel 1-minute waits took %v of virtual time, want 1m0s", got)
	}
}

func TestContextObject(t *testing.T) {
	calls := 0
	flaky := HandlerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		calls++
		if calls == 1 {
			return nil, &FooError{}
		}
		return payload, nil
	})
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "flaky",
		"Parameters": {"ctx.$": "$$"}, "Retry": [{"ErrorEquals": ["FooError"], "IntervalSeconds": 2}], "End": true}}}`
	ex := mustRun(t, def, `{"in": true}`, Options{Resolver: Handlers{"flaky": flaky},
		ExecutionName: "exec-1", StateMachineName: "deploy", Region: "eu-west-1", Account: "123456789012"})
	want := `{"ctx": {
		"Execution": {"Id": "arn:aws:states:eu-west-1:123456789012:execution:deploy:exec-1", "Input": {"in": true}, "Name": "exec-1",
			"RoleArn": "arn:aws:iam::123456789012:role/service-role/StepFunctions-deploy-role", "StartTime": "2024-01-01T00:00:00.000Z", "RedriveCount": 0},
		"State": {"Name": "T", "EnteredTime": "2024-01-01T00:00:00.000Z", "RetryCount": 1},
		"StateMachine": {"Id": "arn:aws:states:eu-west-1:123456789012:stateMachine:deploy", "Name": "deploy"}}}`
	if diff := cmp.Diff(decode(t, want), decode(t, string(ex.Output))); diff != "" {
		t.Errorf("context object mismatch (-want +got):\n%s", diff)
	}
}

func TestLambdaInvokeIntegration(t *testing.T) {
	const arn = "arn:aws:lambda:us-east-1:000000000000:function:greet"
	greet := jsonFunc(func(in any) (any, error) { return "hello " + in.(map[string]any)["who"].(string), nil })
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
		"Parameters": {"FunctionName": "greet:$LATEST", "Payload": {"who.$": "$.name"}},
		"ResultSelector": {"Payload.$": "$.Payload", "StatusCode.$": "$.StatusCode", "ExecutedVersion.$": "$.ExecutedVersion"}, "End": true}}}`
	ex := mustRun(t, def, `{"name": "ops"}`, Options{Resolver: Handlers{arn: greet}})
	want := `{"Payload": "hello ops", "StatusCode": 200, "ExecutedVersion": "$LATEST"}`
	if ex.Status != StatusSucceeded {
		t.Fatalf("Run() = %s %s: %s", ex.Status, ex.Error, ex.Cause)
	}
	if diff := cmp.Diff(decode(t, want), decode(t, string(ex.Output))); diff != "" {
		t.Errorf("Run() output mismatch (-want +got):\n%s", diff)
	}
}

func TestOnEventSeesEveryEventInOrder(t *testing.T) {
	var seen []HistoryEvent
	ex := mustRun(t, `{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
		"ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}}`, `[1, 2, 3, 4]`,
		Options{OnEvent: func(e HistoryEvent) { seen = append(seen, e) }})
	if diff := cmp.Diff(ex.History, seen, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("OnEvent events differ from the history (-history +seen):\n%s", diff)
	}
	for i, e := range seen {
		if e.ID != int64(i+1) {
			t.Fatalf("event %d has id %d", i+1, e.ID)
		}
	}
}

func TestTaskResultOverPayloadLimit(t *testing.T) {
	big := HandlerFunc(func(context.Context, []byte) ([]byte, error) {
		return []byte(`"` + strings.Repeat("x", payloadLimit) + `"`), nil
	})
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "big", "End": true,
		"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]}, "C": {"Type": "Pass", "End": true}}}`
	ex := mustRun(t, def, `{}`, Options{Resolver: Handlers{"big": big}})
	if ex.Status != StatusSucceeded || !strings.Contains(string(ex.Output), StatesDataLimitExceeded) {
		t.Errorf("Run() = %s %s, want the catcher to get %s", ex.Status, ex.Output, StatesDataLimitExceeded)
	}
}

func TestRuntimeErrorsAreNotCaught(t *testing.T) {
	def := `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
		"Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.missing", "End": true}}}],
		"Retry": [{"ErrorEquals": ["States.ALL"]}],
		"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]}, "C": {"Type": "Succeed"}}}`
	ex := mustRun(t, def, `{}`, Options{})
	want := "An error occurred while executing the state 'A' (entered at the event id #4). Invalid path '$.missing' : No results for path: $['missing']"
	if ex.Status != StatusFailed || ex.Error != StatesRuntime || ex.Cause != want {
		t.Errorf("Run() = %s %q %q, want FAILED %q %q", ex.Status, ex.Error, ex.Cause, StatesRuntime, want)
	}
}

// TestLambdaHandlerInConcurrentMap runs one lambda.NewHandler handler from
// many Map iterations at once. aws-lambda-go hands back a pooled buffer that
// it reuses as soon as Invoke returns; the engine must not let concurrent
// invocations of one such handler overwrite each other's output (run with
// -race).
func TestLambdaHandlerInConcurrentMap(t *testing.T) {
	double := lambda.NewHandler(func(ctx context.Context, in int) (int, error) { return in * 2, nil })
	items := make([]string, 200)
	want := make([]string, 200)
	for i := range items {
		items[i] = fmt.Sprint(i)
		want[i] = fmt.Sprint(i * 2)
	}
	def := `{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
		"ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "double", "End": true}}}}}}`
	ex := mustRun(t, def, "["+strings.Join(items, ",")+"]", Options{Resolver: Handlers{"double": double}})
	if got, want := string(ex.Output), "["+strings.Join(want, ",")+"]"; got != want {
		t.Errorf("Run() output = %s, want %s", got, want)
	}
}
