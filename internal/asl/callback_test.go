package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// approvalDef waits for a person to approve, as the deploy machine's
// production approval does: it publishes the token to SNS and waits.
const approvalDef = `{
	"StartAt": "Approve",
	"States": {
		"Approve": {
			"Type": "Task",
			"Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
			"Parameters": {"TopicArn": "arn:aws:sns:us-east-1:000000000000:approvals", "Message": {"token.$": "$$.Task.Token", "version.$": "$.version"}},
			%s
			"ResultPath": "$.approval",
			"Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.rejection", "Next": "Rejected"}],
			"Next": "Deploy"
		},
		"Deploy": {"Type": "Pass", "End": true},
		"Rejected": {"Type": "Fail", "Error": "Rejected", "CausePath": "$.rejection.Cause"}
	}
}`

// snsPublish is a stub SNS publish that records the messages it sends.
type snsPublish struct {
	mu       sync.Mutex
	messages []string
}

func (p *snsPublish) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.messages = append(p.messages, string(payload))
	return []byte(`{"MessageId": "m-1"}`), nil
}

// approve runs approvalDef and completes its token with complete, from
// another goroutine, once the Task is waiting.
func approve(t *testing.T, timeouts string, complete func(cb *Callbacks, p PendingTask) error) (*Execution, *snsPublish) {
	t.Helper()
	pub := &snsPublish{}
	cb := &Callbacks{}
	pending := make(chan PendingTask, 1)
	cb.OnPending = func(p PendingTask) { pending <- p }
	done := make(chan error, 1)
	go func() {
		select {
		case p := <-pending:
			done <- complete(cb, p)
		case <-time.After(10 * time.Second):
			done <- errors.New("no task started waiting")
		}
	}()
	ex := mustRun(t, fmt.Sprintf(approvalDef, timeouts), `{"version": "v2"}`, Options{
		Resolver:  Handlers{"arn:aws:states:::sns:publish": pub},
		Callbacks: cb,
	})
	if err := <-done; err != nil {
		t.Fatalf("complete the token: %v", err)
	}
	if n := len(cb.Pending()); n != 0 {
		t.Errorf("Pending() after the run has %d tasks, want 0", n)
	}
	return ex, pub
}

func TestCallbackSuccess(t *testing.T) {
	var seen PendingTask
	ex, pub := approve(t, "", func(cb *Callbacks, p PendingTask) error {
		seen = p
		if got := cb.Pending(); len(got) != 1 || got[0].Token != p.Token {
			return fmt.Errorf("Pending() = %v, want the one task", got)
		}
		return cb.SendTaskSuccess(p.Token, []byte(`{"approved_by": "ana"}`))
	})
	if ex.Status != StatusSucceeded {
		t.Fatalf("Run() = %s %s: %s, want SUCCEEDED", ex.Status, ex.Error, ex.Cause)
	}
	if want := `{"approval":{"approved_by":"ana"},"version":"v2"}`; string(ex.Output) != want {
		t.Errorf("Run() output = %s, want %s", ex.Output, want)
	}
	if seen.StateName != "Approve" || seen.ExecutionName != "test-execution" || len(seen.Token) < 40 {
		t.Errorf("pending task = %+v, want state Approve of test-execution with a token", seen)
	}
	var msg struct {
		Message struct{ Token, Version string }
	}
	if len(pub.messages) != 1 || json.Unmarshal([]byte(pub.messages[0]), &msg) != nil || msg.Message.Token != seen.Token {
		t.Errorf("SNS got %v, want one message carrying the token %s", pub.messages, seen.Token)
	}
	if !strings.Contains(string(seen.Input), seen.Token) {
		t.Errorf("pending task input %s does not carry the token", seen.Input)
	}
	want := []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded",
		"TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"}
	if diff := cmp.Diff(want, eventTypes(ex.History)); diff != "" {
		t.Errorf("event types mismatch (-want +got):\n%s", diff)
	}
	if sub := ex.History[4].TaskSubmittedEventDetails; sub == nil || sub.Output != `{"MessageId":"m-1"}` || sub.Resource != "publish.waitForTaskToken" {
		t.Errorf("TaskSubmitted details = %+v, want the SNS response", sub)
	}
}

func TestCallbackFailureIsCaught(t *testing.T) {
	ex, _ := approve(t, "", func(cb *Callbacks, p PendingTask) error {
		return cb.SendTaskFailure(p.Token, "Rejected", "not during the freeze")
	})
	if ex.Status != StatusFailed || ex.Error != "Rejected" || ex.Cause != "not during the freeze" {
		t.Fatalf("Run() = %s %s: %s, want FAILED Rejected: not during the freeze (through the Catch)", ex.Status, ex.Error, ex.Cause)
	}
	want := []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskFailed",
		"TaskStateExited", "FailStateEntered", "ExecutionFailed"}
	if diff := cmp.Diff(want, eventTypes(ex.History)); diff != "" {
		t.Errorf("event types mismatch (-want +got):\n%s", diff)
	}
}

func TestCallbackTimeouts(t *testing.T) {
	tests := []struct {
		name      string
		timeouts  string
		heartbeat bool
		wantError string
	}{
		{name: "TimeoutSeconds", timeouts: `"TimeoutSeconds": 1,`, wantError: StatesTimeout},
		{name: "HeartbeatSeconds", timeouts: `"TimeoutSeconds": 30, "HeartbeatSeconds": 1,`, wantError: StatesHeartbeatTimeout},
		{name: "heartbeats keep it alive until the timeout", timeouts: `"TimeoutSeconds": 2, "HeartbeatSeconds": 1,`, heartbeat: true, wantError: StatesTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			ex, _ := approve(t, tt.timeouts, func(cb *Callbacks, p PendingTask) error {
				if !tt.heartbeat {
					return nil
				}
				for range 4 {
					time.Sleep(600 * time.Millisecond)
					if err := cb.SendTaskHeartbeat(p.Token); err != nil {
						return nil // timed out: the token is gone
					}
				}
				return nil
			})
			if ex.Status != StatusFailed || ex.Error != tt.wantError {
				t.Fatalf("Run() = %s %s: %s, want FAILED %s", ex.Status, ex.Error, ex.Cause, tt.wantError)
			}
			// The timeouts run on the wall clock, though the run is on a
			// virtual one.
			if d := time.Since(start); d < 900*time.Millisecond {
				t.Errorf("the run took %v, want the real second the timeout takes", d)
			}
			types := eventTypes(ex.History)
			if got := types[len(types)-2]; got != EventTaskTimedOut {
				t.Errorf("event before the last = %s, want TaskTimedOut", got)
			}
		})
	}
}

func TestCallbackErrors(t *testing.T) {
	cb := &Callbacks{}
	if err := cb.SendTaskSuccess("nope", []byte(`{}`)); !errors.Is(err, ErrTaskDoesNotExist) {
		t.Errorf("SendTaskSuccess(unknown) error = %v, want ErrTaskDoesNotExist", err)
	}
	if err := cb.SendTaskSuccess("nope", []byte(`{`)); !errors.Is(err, ErrInvalidOutput) {
		t.Errorf("SendTaskSuccess(bad JSON) error = %v, want ErrInvalidOutput", err)
	}
	if err := cb.SendTaskFailure("nope", "E", "c"); !errors.Is(err, ErrTaskDoesNotExist) {
		t.Errorf("SendTaskFailure(unknown) error = %v, want ErrTaskDoesNotExist", err)
	}
	if err := cb.SendTaskHeartbeat("nope"); !errors.Is(err, ErrTaskDoesNotExist) {
		t.Errorf("SendTaskHeartbeat(unknown) error = %v, want ErrTaskDoesNotExist", err)
	}

	// Without Callbacks nothing could complete the token: the Task fails.
	ex := mustRun(t, fmt.Sprintf(approvalDef, ""), `{"version": "v2"}`, Options{Resolver: Handlers{"arn:aws:states:::sns:publish": &snsPublish{}}})
	if ex.Status != StatusFailed || ex.Error != StatesRuntime || !strings.Contains(ex.Cause, "Callbacks") {
		t.Errorf("Run() without Callbacks = %s %s: %s, want FAILED States.Runtime naming Callbacks", ex.Status, ex.Error, ex.Cause)
	}
}

// TestCallbackCompletedByTheHandler: a handler may complete the token
// before it even returns; the engine is already listening.
func TestCallbackCompletedByTheHandler(t *testing.T) {
	cb := &Callbacks{}
	h := HandlerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		var in struct{ Message struct{ Token string } }
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
		return []byte(`{}`), cb.SendTaskSuccess(in.Message.Token, []byte(`"ok"`))
	})
	// The full resource is resolved before its base.
	ex := mustRun(t, fmt.Sprintf(approvalDef, ""), `{"version": "v2"}`, Options{
		Resolver: Handlers{
			"arn:aws:states:::sns:publish.waitForTaskToken": h,
			"arn:aws:states:::sns:publish":                  HandlerFunc(func(context.Context, []byte) ([]byte, error) { return nil, errors.New("wrong handler") }),
		},
		Callbacks: cb,
	})
	if ex.Status != StatusSucceeded || string(ex.Output) != `{"approval":"ok","version":"v2"}` {
		t.Errorf("Run() = %s %s %s: %s, want SUCCEEDED with approval ok", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
}

// TestSNSPublish: arn:aws:states:::sns:publish without a callback is an
// ordinary request-response Task.
func TestSNSPublish(t *testing.T) {
	pub := &snsPublish{}
	ex := mustRun(t, `{"StartAt": "Notify", "States": {"Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
		"Parameters": {"TopicArn": "arn:aws:sns:us-east-1:000000000000:deploys", "Message.$": "$.text"}, "End": true}}}`,
		`{"text": "v2 is live"}`, Options{Resolver: Handlers{"arn:aws:states:::sns:publish": pub}})
	if ex.Status != StatusSucceeded || string(ex.Output) != `{"MessageId":"m-1"}` {
		t.Fatalf("Run() = %s %s %s: %s, want SUCCEEDED with the MessageId", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
	want := []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"}
	if diff := cmp.Diff(want, eventTypes(ex.History)); diff != "" {
		t.Errorf("event types mismatch (-want +got):\n%s", diff)
	}
	if len(pub.messages) != 1 || !strings.Contains(pub.messages[0], "v2 is live") {
		t.Errorf("SNS got %v, want the message", pub.messages)
	}
}
