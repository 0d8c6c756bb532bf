package execution

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

const deployARN = "arn:aws:states:eu-west-1:111111111111:stateMachine:slipway-demo-deploy"

// fakeSFN speaks the Step Functions JSON 1.0 protocol for the operations
// Slipway uses, with real response and error shapes.
type fakeSFN struct {
	mu        sync.Mutex
	calls     []call
	started   map[string]string // name -> input
	throttled bool
	tokens    map[string]string // token -> outcome
}

type call struct {
	Op   string
	Body map[string]any
}

func sfnError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(400)
	fmt.Fprintf(w, `{"__type":"com.amazonaws.swf.service.v2.model#%s","message":%q}`, code, msg)
}

func (f *fakeSFN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	json.Unmarshal(raw, &body)
	f.calls = append(f.calls, call{op, body})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch op {
	case "StartExecution":
		if !f.throttled {
			f.throttled = true
			sfnError(w, "ThrottlingException", "Rate exceeded")
			return
		}
		name := body["name"].(string)
		if _, ok := f.started[name]; ok {
			sfnError(w, "ExecutionAlreadyExists", "Execution Already Exists: 'arn:aws:states:eu-west-1:111111111111:execution:slipway-demo-deploy:"+name+"'")
			return
		}
		f.started[name] = body["input"].(string)
		fmt.Fprintf(w, `{"executionArn":"arn:aws:states:eu-west-1:111111111111:execution:slipway-demo-deploy:%s","startDate":1.795482300123E9}`, name)
	case "DescribeExecution":
		arn := body["executionArn"].(string)
		if strings.HasSuffix(arn, ":missing") {
			sfnError(w, "ExecutionDoesNotExist", "Execution Does Not Exist: '"+arn+"'")
			return
		}
		if strings.HasSuffix(arn, ":running") {
			fmt.Fprintf(w, `{"executionArn":%q,"stateMachineArn":%q,"name":"running","status":"RUNNING","startDate":1.7954823E9,"input":"{}"}`, arn, deployARN)
			return
		}
		fmt.Fprintf(w, `{"executionArn":%q,"stateMachineArn":%q,"name":"push-staging-abc","status":"FAILED","startDate":1.7954823E9,"stopDate":1.7954824E9,"input":"{}","error":"HealthCheckFailed","cause":"wave 1: v3 failed"}`, arn, deployARN)
	case "GetExecutionHistory":
		next, _ := body["nextToken"].(string)
		switch next {
		case "":
			io.WriteString(w, `{"events":[{"id":1,"previousEventId":0,"timestamp":1.7954823E9,"type":"ExecutionStarted","executionStartedEventDetails":{"input":"{}","roleArn":"arn:aws:iam::111111111111:role/sfn"}},{"id":2,"previousEventId":1,"timestamp":1.7954823E9,"type":"PassStateEntered","stateEnteredEventDetails":{"name":"Init","input":"{}"}}],"nextToken":"p2"}`)
		case "p2":
			io.WriteString(w, `{"events":[{"id":3,"previousEventId":2,"timestamp":1.7954823E9,"type":"PassStateExited","stateExitedEventDetails":{"name":"Init","output":"{}"}}],"nextToken":"p3"}`)
		default:
			io.WriteString(w, `{"events":[{"id":4,"previousEventId":3,"timestamp":1.7954824E9,"type":"ExecutionFailed","executionFailedEventDetails":{"error":"HealthCheckFailed","cause":"wave 1"}}]}`)
		}
	case "SendTaskSuccess", "SendTaskFailure":
		tok := body["taskToken"].(string)
		if tok == "expired" {
			sfnError(w, "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
			return
		}
		f.tokens[tok] = op
		io.WriteString(w, `{}`)
	default:
		sfnError(w, "UnknownOperationException", op)
	}
}

func newSFN(t *testing.T) (*SFN, *fakeSFN) {
	t.Helper()
	fake := &fakeSFN{started: map[string]string{}, tokens: map[string]string{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := sfn.New(sfn.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:     retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 5 * time.Millisecond })})
	return &SFN{Client: client, Machines: map[string]string{"deploy": deployARN}}, fake
}

func TestStart(t *testing.T) {
	s, fake := newSFN(t)
	ctx := context.Background()
	arn, err := s.Start(ctx, "deploy", "push-staging-abc", []byte(`{"app":"demo"}`))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if want := "arn:aws:states:eu-west-1:111111111111:execution:slipway-demo-deploy:push-staging-abc"; arn != want || s.ExecutionARN("deploy", "push-staging-abc") != want {
		t.Errorf("Start() = %s, ExecutionARN = %s; want %s", arn, s.ExecutionARN("deploy", "push-staging-abc"), want)
	}
	if len(fake.calls) != 2 || fake.calls[1].Body["stateMachineArn"] != deployARN || fake.calls[1].Body["input"] != `{"app":"demo"}` {
		t.Errorf("calls = %+v, want a throttled StartExecution retried with the ARN and input", fake.calls)
	}
	if _, err := s.Start(ctx, "deploy", "push-staging-abc", []byte(`{}`)); !errors.Is(err, trigger.ErrAlreadyStarted) {
		t.Errorf("Start(same name) error = %v, want ErrAlreadyStarted", err)
	}
	if _, err := s.Start(ctx, "rollback", "x", nil); err == nil || !strings.Contains(err.Error(), "SLIPWAY_ROLLBACK_STATE_MACHINE") {
		t.Errorf("Start(unconfigured machine) error = %v, want it to name the setting", err)
	}
}

func TestDescribeAndHistory(t *testing.T) {
	s, fake := newSFN(t)
	ctx := context.Background()
	st, err := s.Describe(ctx, "arn:aws:states:eu-west-1:111111111111:execution:slipway-demo-deploy:push-staging-abc")
	if err != nil || st.Status != "FAILED" || st.Error != "HealthCheckFailed" || st.StopDate.IsZero() {
		t.Errorf("Describe = %+v, %v; want FAILED HealthCheckFailed with dates", st, err)
	}
	if _, err := s.Describe(ctx, "arn:x:missing"); err == nil || !strings.Contains(err.Error(), "no such execution") {
		t.Errorf("Describe(missing) error = %v, want no such execution", err)
	}
	evs, err := s.History(ctx, "arn:exec", 1)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, string(e.Type))
	}
	if strings.Join(types, ",") != "PassStateEntered,PassStateExited,ExecutionFailed" {
		t.Errorf("History(after 1) types = %v, want the three events after id 1 across three pages", types)
	}
	pages := 0
	for _, c := range fake.calls {
		if c.Op == "GetExecutionHistory" {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("GetExecutionHistory calls = %d, want 3 pages", pages)
	}
}

func TestApproveReject(t *testing.T) {
	s, fake := newSFN(t)
	ctx := context.Background()
	if err := s.Approve(ctx, "tok-1", `{"approved_by":"ada"}`); err != nil {
		t.Fatal(err)
	}
	if err := s.Reject(ctx, "tok-2", "Rejected", "not during the sale"); err != nil {
		t.Fatal(err)
	}
	if fake.tokens["tok-1"] != "SendTaskSuccess" || fake.tokens["tok-2"] != "SendTaskFailure" {
		t.Errorf("tokens = %v", fake.tokens)
	}
	last := fake.calls[len(fake.calls)-1].Body
	if last["error"] != "Rejected" || last["cause"] != "not during the sale" {
		t.Errorf("SendTaskFailure body = %v", last)
	}
	if err := s.Approve(ctx, "expired", "{}"); err == nil || !strings.Contains(err.Error(), "no longer waiting") {
		t.Errorf("Approve(expired) error = %v, want it to say the approval is no longer waiting", err)
	}
}

// TestAlive checks the liveness AcquireLock asks before it takes over a
// lease: only a RUNNING execution keeps it.
func TestAlive(t *testing.T) {
	s, _ := newSFN(t)
	for _, tt := range []struct {
		arn  string
		want bool
	}{
		{"arn:aws:states:eu-west-1:111111111111:execution:slipway-demo-deploy:running", true},
		{"arn:aws:states:eu-west-1:111111111111:execution:slipway-demo-deploy:push-staging-abc", false},
		{"arn:aws:states:eu-west-1:111111111111:execution:slipway-demo-deploy:missing", false},
		{"", false},
	} {
		got, err := s.Alive(context.Background(), ledger.Deployment{ID: "d", ExecutionID: tt.arn})
		if err != nil || got != tt.want {
			t.Errorf("Alive(%q) = %t, %v; want %t", tt.arn, got, err, tt.want)
		}
	}
}
