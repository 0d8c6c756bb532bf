package asl

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const mockConfig = `{
	"StateMachines": {
		"Deploy": {"TestCases": {
			"RetryThenOK": {"Preflight": "ThrottledTwice", "Notify": "Published", "Approve": "Approved"},
			"Broken": {"Preflight": "Gap"}
		}},
		"Other": {"TestCases": {"Only": {"Preflight": "Published"}}}
	},
	"MockedResponses": {
		"ThrottledTwice": {
			"0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
			"2": {"Return": {"app": "shop"}}
		},
		"Published": {"0": {"Return": {"MessageId": "m-1"}}},
		"Approved": {"0": {"Return": {"by": "ana"}}},
		"Gap": {"1": {"Return": {}}}
	}
}`

const mockedDef = `{"StartAt": "Preflight", "States": {
	"Preflight": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:preflight", "ResultPath": "$.preflight",
		"Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 30, "MaxAttempts": 3}], "Next": "Notify"},
	"Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Parameters": {"Message": "hi"}, "ResultPath": "$.notify", "Next": "Approve"},
	"Approve": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
		"Parameters": {"Message": {"token.$": "$$.Task.Token"}}, "ResultPath": "$.approval", "End": true}}}`

func TestMockedRun(t *testing.T) {
	mc, err := ParseMockConfig([]byte(mockConfig))
	if err != nil {
		t.Fatalf("ParseMockConfig() error: %v", err)
	}
	tc, err := mc.TestCase("Deploy", "RetryThenOK")
	if err != nil {
		t.Fatalf("TestCase() error: %v", err)
	}
	if diff := cmp.Diff([]string{"Approve", "Notify", "Preflight"}, tc.States()); diff != "" {
		t.Errorf("States() mismatch (-want +got):\n%s", diff)
	}
	// No resolver and no Callbacks: the mocks answer every Task.
	ex := mustRun(t, mockedDef, `{}`, Options{Mocks: tc})
	if ex.Status != StatusSucceeded {
		t.Fatalf("Run() = %s %s: %s, want SUCCEEDED", ex.Status, ex.Error, ex.Cause)
	}
	if want := `{"approval":{"by":"ana"},"notify":{"MessageId":"m-1"},"preflight":{"app":"shop"}}`; string(ex.Output) != want {
		t.Errorf("Run() output = %s, want %s", ex.Output, want)
	}
	want := []string{"ExecutionStarted", "TaskStateEntered",
		"LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",
		"LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",
		"LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
		"TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited",
		"TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded", "TaskStateExited",
		"ExecutionSucceeded"}
	if diff := cmp.Diff(want, eventTypes(ex.History)); diff != "" {
		t.Errorf("event types mismatch (-want +got):\n%s", diff)
	}
	// Two retries of 30 s and 60 s on the virtual clock.
	if d := ex.StopDate.Sub(ex.StartDate); d.Seconds() != 90 {
		t.Errorf("the run took %v of virtual time, want 1m30s", d)
	}
}

func TestMockConfigErrors(t *testing.T) {
	mc, err := ParseMockConfig([]byte(mockConfig))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, machine, testCase, want string
	}{
		{"unknown test case", "Deploy", "Nope", `find mock test case "Nope": state machine "Deploy" has no such test case`},
		{"found by name alone", "", "Only", ""},
		{"nowhere", "", "Nope", `find mock test case "Nope": no state machine in the mock config has it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mc.TestCase(tt.machine, tt.testCase)
			if got := errText(err); got != tt.want {
				t.Errorf("TestCase(%q, %q) error = %q, want %q", tt.machine, tt.testCase, got, tt.want)
			}
		})
	}
	// A response missing for an invocation fails the run, naming it.
	tc, err := mc.TestCase("Deploy", "Broken")
	if err != nil {
		t.Fatal(err)
	}
	ex := mustRun(t, mockedDef, `{}`, Options{Mocks: tc})
	if ex.Status != StatusFailed || !strings.Contains(ex.Cause, "define no response for invocation 0") {
		t.Errorf("Run() = %s %s: %s, want a failure naming invocation 0", ex.Status, ex.Error, ex.Cause)
	}
	for _, bad := range []string{
		`{"MockedResponses": {"R": {"0": {}}}}`,
		`{"MockedResponses": {"R": {"x": {"Return": 1}}}}`,
		`{"Unknown": 1}`,
	} {
		mc, err := ParseMockConfig([]byte(bad))
		if err == nil {
			mc.StateMachines = map[string]MockStateMachine{"S": {TestCases: map[string]map[string]string{"T": {"A": "R"}}}}
			_, err = mc.TestCase("S", "T")
		}
		if err == nil {
			t.Errorf("mock config %s: no error, want one", bad)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestActivity(t *testing.T) {
	const arn = "arn:aws:states:us-east-1:000000000000:activity:approve"
	def := `{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "` + arn + `", "TimeoutSeconds": 60, "End": true}}}`
	worker := HandlerFunc(func(_ context.Context, payload []byte) ([]byte, error) { return payload, nil })
	ex := mustRun(t, def, `{"v": 1}`, Options{Resolver: Handlers{arn: worker}})
	if ex.Status != StatusSucceeded || string(ex.Output) != `{"v":1}` {
		t.Fatalf("Run() = %s %s %s: %s, want SUCCEEDED with the input", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
	want := []string{"ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted", "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"}
	if diff := cmp.Diff(want, eventTypes(ex.History)); diff != "" {
		t.Errorf("event types mismatch (-want +got):\n%s", diff)
	}
	ex = mustRun(t, def, `{}`, Options{})
	if want := "An error occurred while executing the state 'A' (entered at the event id #2). The activity " + arn + " does not exist."; ex.Error != StatesRuntime || ex.Cause != want {
		t.Errorf("Run() without a worker = %s: %s, want States.Runtime: %s", ex.Error, ex.Cause, want)
	}
}
