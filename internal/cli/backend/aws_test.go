package backend

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
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/ledgertest"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

const (
	deployARN = "arn:aws:states:eu-west-1:111111111111:stateMachine:slipway-shop-deploy"
	execName  = "staging-v2-20261126T090000Z-abcd"
	execARN   = "arn:aws:states:eu-west-1:111111111111:execution:slipway-shop-deploy:" + execName
)

var start = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func epoch(sec float64) float64 { return float64(start.Unix()) + sec }

// fakeSFN speaks the Step Functions JSON 1.0 protocol: an execution that
// runs for two DescribeExecution calls, a history in pages, task tokens.
type fakeSFN struct {
	mu        sync.Mutex
	ops       []string
	bodies    map[string]map[string]any
	describes int
	// onDescribe runs before DescribeExecution number n answers.
	onDescribe func(n int)
}

func event(id int64, sec float64, typ, state string) map[string]any {
	ev := map[string]any{"id": id, "previousEventId": id - 1, "timestamp": epoch(sec), "type": typ}
	if state != "" && strings.HasSuffix(typ, "StateEntered") {
		ev["stateEnteredEventDetails"] = map[string]any{"name": state, "input": "{}"}
	}
	if state != "" && strings.HasSuffix(typ, "StateExited") {
		ev["stateExitedEventDetails"] = map[string]any{"name": state, "output": "{}"}
	}
	return ev
}

// history is the execution's events: preflight 0-2s, lock 2-3s, rollout
// 3-10s, record 10-11s, the end at 11s.
var history = []map[string]any{
	event(1, 0, "ExecutionStarted", ""),
	event(2, 0, "TaskStateEntered", "Preflight"),
	event(3, 2, "TaskStateExited", "Preflight"),
	event(4, 2, "TaskStateEntered", "AcquireLock"),
	event(5, 3, "TaskStateExited", "AcquireLock"),
	event(6, 3, "TaskStateEntered", "DeployWave"),
	event(7, 5, "WaitStateEntered", "WaitForWave"),
	event(8, 6, "TaskStateEntered", "CheckWave"),
	event(9, 8, "TaskStateEntered", "ProbeWave"),
	event(10, 10, "TaskStateEntered", "Record"),
	event(11, 11, "ExecutionSucceeded", ""),
}

func (f *fakeSFN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	json.Unmarshal(raw, &body)
	f.ops = append(f.ops, op)
	if f.bodies == nil {
		f.bodies = map[string]map[string]any{}
	}
	f.bodies[op] = body
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch op {
	case "StartExecution":
		fmt.Fprintf(w, `{"executionArn":%q,"startDate":%f}`, execARN, epoch(0))
	case "DescribeExecution":
		f.describes++
		if f.onDescribe != nil {
			f.onDescribe(f.describes)
		}
		status, stop := "RUNNING", ""
		if f.describes > 1 {
			status, stop = "SUCCEEDED", fmt.Sprintf(`,"stopDate":%f`, epoch(11))
		}
		fmt.Fprintf(w, `{"executionArn":%q,"stateMachineArn":%q,"name":%q,"status":%q,"startDate":%f%s}`, execARN, deployARN, execName, status, epoch(0), stop)
	case "GetExecutionHistory":
		// While running, the history so far; then all of it, in two pages.
		events := history[:6]
		if f.describes > 1 {
			events = history
		}
		page, next := events, ""
		if tok, _ := body["nextToken"].(string); tok == "" && len(events) > 4 {
			page, next = events[:4], "page-2"
		} else if tok == "page-2" {
			page = events[4:]
		}
		out := map[string]any{"events": page}
		if next != "" {
			out["nextToken"] = next
		}
		json.NewEncoder(w).Encode(out)
	case "SendTaskSuccess", "SendTaskFailure":
		if body["taskToken"] == "expired" {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"__type":"com.amazonaws.swf.service.v2.model#TaskTimedOut","message":"Task Timed Out"}`)
			return
		}
		fmt.Fprint(w, `{}`)
	default:
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":%q}`, op)
	}
}

func testCreds() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")
}

func quick() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 2; o.MaxBackoff = time.Millisecond })
}

type awsFixture struct {
	b      *AWS
	sfn    *fakeSFN
	dynamo *ledgertest.DynamoFake
	events *[]map[string]any
	stsHit *int
}

func newAWS(t *testing.T, s AWSSettings) *awsFixture {
	t.Helper()
	fx := &awsFixture{sfn: &fakeSFN{}, dynamo: ledgertest.NewDynamoFake(t, "slipway-shop"), events: &[]map[string]any{}, stsHit: new(int)}
	sfnSrv := httptest.NewServer(fx.sfn)
	t.Cleanup(sfnSrv.Close)
	stsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		*fx.stsHit++
		if r.Form.Get("Action") != "GetCallerIdentity" {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
			`<Arn>arn:aws:iam::111111111111:user/ada</Arn><UserId>AIDA</UserId><Account>111111111111</Account>`+
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
	}))
	t.Cleanup(stsSrv.Close)
	ebSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(raw, &body)
		body["target"] = r.Header.Get("X-Amz-Target")
		*fx.events = append(*fx.events, body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprint(w, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`)
	}))
	t.Cleanup(ebSrv.Close)
	if s.Config == nil {
		s.Config = &config.Config{App: "shop", Environments: map[string]config.Environment{"staging": {}}}
	}
	if s.Table == "" {
		s.Table = "slipway-shop"
	}
	s.Region = "eu-west-1"
	b, err := NewAWS(s, AWSClients{
		SFN:    sfn.New(sfn.Options{Region: "eu-west-1", Credentials: testCreds(), BaseEndpoint: aws.String(sfnSrv.URL), Retryer: quick()}),
		Dynamo: fx.dynamo.Client(),
		STS:    sts.New(sts.Options{Region: "eu-west-1", Credentials: testCreds(), BaseEndpoint: aws.String(stsSrv.URL), Retryer: quick()}),
		Events: eventbridge.New(eventbridge.Options{Region: "eu-west-1", Credentials: testCreds(), BaseEndpoint: aws.String(ebSrv.URL), Retryer: quick()}),
	})
	if err != nil {
		t.Fatal(err)
	}
	fx.b = b
	return fx
}

// TestAWSStartFollowsTheExecution starts a deployment on Step Functions
// and follows it: DescribeExecution, GetExecutionHistory (paged, resumed
// after the last event seen) and the ledger's steps in DynamoDB.
func TestAWSStartFollowsTheExecution(t *testing.T) {
	fx := newAWS(t, AWSSettings{DeployMachine: deployARN})
	ctx := context.Background()
	at := func(sec float64) time.Time { return start.Add(time.Duration(sec * float64(time.Second))) }
	// The steps written by the time of the first poll, then the rest.
	add := func(steps ...ledger.Step) {
		for _, st := range steps {
			if err := fx.b.Ledger().AddStep(ctx, st); err != nil {
				t.Error(err)
			}
		}
	}
	add(ledger.Step{DeploymentID: execName, Stage: "preflight", Status: "ok", Message: "deploy v2 to staging", At: at(1.5)},
		ledger.Step{DeploymentID: execName, Stage: "lock", Status: "ok", Message: "lease taken", At: at(2.5)})
	fx.sfn.onDescribe = func(n int) {
		if n == 2 {
			add(ledger.Step{DeploymentID: execName, Stage: "rollout", Status: "ok", Message: "wave 1: v2 active", At: at(7)},
				ledger.Step{DeploymentID: execName, Stage: "health", Status: "ok", Message: "wave 1 healthy", At: at(9)},
				ledger.Step{DeploymentID: execName, Stage: "record", Status: "ok", Message: "SUCCEEDED", At: at(10.5)})
		}
	}
	var got []string
	ex, err := fx.b.Start(ctx, MachineDeploy, execName, []byte(`{"app":"shop","environment":"staging","version":"v2"}`), StartOptions{
		Wait: true, Poll: time.Millisecond,
		Progress: func(e Event) {
			switch e.Kind {
			case EventStage:
				got = append(got, fmt.Sprintf("stage %s %s %s", e.Stage, e.Status, e.Duration))
			case EventStageStarted:
				got = append(got, "start "+e.Stage)
			default:
				got = append(got, fmt.Sprintf("step %s %s", e.Stage, e.Message))
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != "SUCCEEDED" || ex.ARN != execARN || !ex.StopDate.Equal(at(11)) {
		t.Errorf("Start() = %+v, want SUCCEEDED at 11s", ex)
	}
	want := []string{
		"start preflight", "step preflight deploy v2 to staging", "stage preflight ok 2s",
		"start lock", "step lock lease taken", "stage lock ok 1s",
		"start rollout", "step rollout wave 1: v2 active", "step health wave 1 healthy", "stage rollout ok 7s",
		"start record", "step record SUCCEEDED", "stage record ok 1s",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress mismatch (-want +got):\n%s", diff)
	}
	start := fx.sfn.bodies["StartExecution"]
	if start["stateMachineArn"] != deployARN || start["name"] != execName || !strings.Contains(start["input"].(string), `"version":"v2"`) {
		t.Errorf("StartExecution body = %v", start)
	}
	if n := strings.Count(strings.Join(fx.sfn.ops, " "), "GetExecutionHistory"); n < 3 {
		t.Errorf("operations %v: want the history read in pages on every poll", fx.sfn.ops)
	}
}

func TestAWSStartWithoutWaitReturnsAtOnce(t *testing.T) {
	fx := newAWS(t, AWSSettings{DeployMachine: deployARN})
	ex, err := fx.b.Start(context.Background(), MachineDeploy, execName, []byte(`{}`), StartOptions{})
	if err != nil || ex.Status != "RUNNING" || ex.ARN != execARN {
		t.Errorf("Start(no wait) = %+v, %v; want RUNNING with the ARN", ex, err)
	}
	if diff := cmp.Diff([]string{"StartExecution"}, fx.sfn.ops); diff != "" {
		t.Errorf("operations mismatch (-want +got):\n%s", diff)
	}
}

func TestAWSResumeCompletesTheTaskToken(t *testing.T) {
	fx := newAWS(t, AWSSettings{DeployMachine: deployARN})
	ctx := context.Background()
	if err := fx.b.Resume(ctx, ledger.Approval{Token: "tok-1", Decision: ledger.ApprovalApproved, DecidedBy: "grace", Reason: "plan checked"}); err != nil {
		t.Fatal(err)
	}
	body := fx.sfn.bodies["SendTaskSuccess"]
	var out map[string]string
	json.Unmarshal([]byte(body["output"].(string)), &out)
	if body["taskToken"] != "tok-1" || out["approved_by"] != "grace" || out["reason"] != "plan checked" {
		t.Errorf("SendTaskSuccess body = %v", body)
	}
	if err := fx.b.Resume(ctx, ledger.Approval{Token: "tok-2", Decision: ledger.ApprovalRejected, DecidedBy: "grace", Reason: "not during the sale"}); err != nil {
		t.Fatal(err)
	}
	body = fx.sfn.bodies["SendTaskFailure"]
	if body["taskToken"] != "tok-2" || body["error"] != "Rejected" || body["cause"] != "rejected by grace: not during the sale" {
		t.Errorf("SendTaskFailure body = %v", body)
	}
	err := fx.b.Resume(ctx, ledger.Approval{Token: "expired", Decision: ledger.ApprovalApproved})
	if err == nil || !strings.Contains(err.Error(), "no longer waiting") {
		t.Errorf("Resume(an expired token) = %v, want it to say the approval no longer waits", err)
	}
}

func TestAWSIdentityAndPushEvent(t *testing.T) {
	fx := newAWS(t, AWSSettings{})
	ctx := context.Background()
	id, err := fx.b.Identity(ctx)
	if err != nil || id != "arn:aws:iam::111111111111:user/ada" {
		t.Errorf("Identity() = %q, %v", id, err)
	}
	if err := fx.b.PutPushEvent(ctx, trigger.GitPush{Repository: "github.com/acme/shop", Branch: "main", Commit: "3f9a", Pusher: "ada", App: "shop"}); err != nil {
		t.Fatal(err)
	}
	if len(*fx.events) != 1 {
		t.Fatalf("PutEvents calls = %d, want 1", len(*fx.events))
	}
	call := (*fx.events)[0]
	entries := call["Entries"].([]any)
	e := entries[0].(map[string]any)
	var detail trigger.GitPush
	json.Unmarshal([]byte(e["Detail"].(string)), &detail)
	if call["target"] != "AWSEvents.PutEvents" || e["Source"] != "slipway.git" || e["DetailType"] != "Git Push" || e["EventBusName"] != "default" ||
		detail.Commit != "3f9a" || detail.Branch != "main" {
		t.Errorf("PutEvents = %v", call)
	}
}

func TestAWSTimingsFromTheHistory(t *testing.T) {
	fx := newAWS(t, AWSSettings{DeployMachine: deployARN})
	fx.sfn.describes = 2 // finished: the whole history
	got, err := fx.b.Timings(context.Background(), ledger.Deployment{ExecutionID: execARN})
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, s := range got {
		stages = append(stages, fmt.Sprintf("%s %.0fs", s.Stage, s.Seconds))
	}
	if diff := cmp.Diff([]string{"preflight 2s", "lock 1s", "rollout 7s", "record 1s"}, stages); diff != "" {
		t.Errorf("Timings() mismatch (-want +got):\n%s", diff)
	}
}

func TestAWSMissingSettings(t *testing.T) {
	fx := newAWS(t, AWSSettings{})
	_, err := fx.b.Start(context.Background(), MachineRollback, "x", nil, StartOptions{})
	var m *MissingSettingError
	if !errors.As(err, &m) || m.Name != EnvRollbackMachine || !strings.Contains(m.Hint(), "RollbackStateMachineArn") {
		t.Errorf("Start(rollback) without its ARN = %v, want a missing %s naming the stack output", err, EnvRollbackMachine)
	}
	if _, err := fx.b.Artifacts(); !errors.As(err, &m) || m.Name != EnvArtifactBucket {
		t.Errorf("Artifacts() without a bucket = %v, want a missing %s", err, EnvArtifactBucket)
	}
	if _, err := NewAWS(AWSSettings{Config: &config.Config{App: "shop"}}, AWSClients{}); !errors.As(err, &m) || m.Name != EnvTable {
		t.Errorf("NewAWS() without a table = %v, want a missing %s", err, EnvTable)
	}
}

// TestAWSLedgerAccessDenied checks that DynamoDB's AccessDeniedException
// reaches the commands as the SDK's modelled error, which outcome turns
// into the auth exit code.
func TestAWSLedgerAccessDenied(t *testing.T) {
	fx := newAWS(t, AWSSettings{})
	fx.dynamo.Intercept(func(c ledgertest.FakeCall) *ledgertest.FakeReply {
		return ledgertest.DynamoError("AccessDeniedException", "User: arn:aws:iam::111111111111:user/ada is not authorized to perform: dynamodb:Query")
	})
	_, err := fx.b.Ledger().ListDeployments(context.Background(), "shop", "staging", 10)
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("ListDeployments() = %v, want AccessDeniedException", err)
	}
}

// TestAWSStartFollowsTheWaves follows an execution with StartOptions.Waves:
// the instance results are read from DynamoDB on each poll while the
// rollout runs, and once more at the end.
func TestAWSStartFollowsTheWaves(t *testing.T) {
	fx := newAWS(t, AWSSettings{DeployMachine: deployARN})
	ctx := context.Background()
	results := func(status string) []ledger.InstanceResult {
		var out []ledger.InstanceResult
		for _, id := range []string{"i-1", "i-2"} {
			out = append(out, ledger.InstanceResult{DeploymentID: execName, CommandID: "cmd-1", Wave: 0, InstanceID: id, Action: "activate", Version: "v2", Status: status})
		}
		return out
	}
	if err := fx.b.ledger.PutInstanceResults(ctx, results("InProgress")); err != nil {
		t.Fatal(err)
	}
	fx.sfn.onDescribe = func(n int) {
		if n == 2 {
			if err := fx.b.ledger.PutInstanceResults(ctx, results("Success")); err != nil {
				t.Error(err)
			}
		}
	}
	var got []WaveProgress
	_, err := fx.b.Start(ctx, MachineDeploy, execName, []byte(`{}`), StartOptions{Wait: true, Waves: true, Poll: time.Millisecond,
		Progress: func(e Event) {
			if e.Kind == EventWave {
				got = append(got, *e.Wave)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := []WaveProgress{
		{Action: "activate", Wave: 1, Instances: 2},
		{Action: "activate", Wave: 1, Instances: 2, Done: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wave events (-want +got):\n%s", diff)
	}
}
