package github

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/ledgertest"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

// sampleSecret is the secret events/github/*.json are signed with (the
// operations scenarios' world holds it too:
// internal/lambdaenv/lambdaenvtest).
const sampleSecret = "slipway-sample-webhook-secret"

// sentinel stands for a secret value that must never be shown.
const sentinel = "S3NT1NEL-webhook-secret-value"

const sampleCommit = "3f9a1c2d4e5f60718293a4b5c6d7e8f901234567"

var testConfig = &config.Config{App: "demo", Triggers: config.Triggers{
	Repositories: []string{"demo"},
	Branches:     map[string]string{"main": "staging"},
}}

// awsOptions are what every client of these tests is built with: the
// server as endpoint, static credentials, quick retries.
func awsOptions(url string) (string, aws.CredentialsProvider, aws.Retryer) {
	return url, credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 5 * time.Millisecond })
}

// jsonService is a JSON 1.1 AWS service on the wire: it records each
// request (its X-Amz-Target and body) and answers with answer.
type jsonService struct {
	mu       sync.Mutex
	requests []jsonRequest
	answer   func(n int, r jsonRequest) (int, string)
}

type jsonRequest struct {
	Target string
	Body   map[string]any
}

func (f *jsonService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := jsonRequest{Target: r.Header.Get("X-Amz-Target")}
	json.Unmarshal(raw, &req.Body)
	f.mu.Lock()
	f.requests = append(f.requests, req)
	n := len(f.requests)
	f.mu.Unlock()
	code, out := f.answer(n, req)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(code)
	fmt.Fprint(w, out)
}

func (f *jsonService) calls() []jsonRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]jsonRequest(nil), f.requests...)
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// secretsOnTheWire is Secrets Manager holding value under name.
func secretsOnTheWire(t *testing.T, name, value string) (*secret.Manager, *jsonService) {
	t.Helper()
	f := &jsonService{answer: func(n int, r jsonRequest) (int, string) {
		if r.Body["SecretId"] != name {
			return 400, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`
		}
		b, _ := json.Marshal(map[string]any{"ARN": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:" + name + "-AbCdEf",
			"Name": name, "SecretString": value, "VersionId": "v-1", "VersionStages": []string{"AWSCURRENT"}})
		return 200, string(b)
	}}
	url, creds, retryer := awsOptions(serve(t, f))
	return &secret.Manager{Client: secretsmanager.New(secretsmanager.Options{Region: "eu-west-1", BaseEndpoint: aws.String(url), Credentials: creds, Retryer: retryer})}, f
}

// busOnTheWire is EventBridge answering PutEvents with answer.
func busOnTheWire(t *testing.T, answer func(n int, r jsonRequest) (int, string)) (*EventBus, *jsonService) {
	t.Helper()
	f := &jsonService{answer: answer}
	url, creds, retryer := awsOptions(serve(t, f))
	return &EventBus{Client: eventbridge.New(eventbridge.Options{Region: "eu-west-1", BaseEndpoint: aws.String(url), Credentials: creds, Retryer: retryer})}, f
}

func putOK(n int, r jsonRequest) (int, string) {
	return 200, fmt.Sprintf(`{"FailedEntryCount":0,"Entries":[{"EventId":"e-%d"}]}`, n)
}

// sample reads a request under events/github.
func sample(t *testing.T, name string) events.LambdaFunctionURLRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "github", name))
	if err != nil {
		t.Fatal(err)
	}
	var req events.LambdaFunctionURLRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("events/github/%s: %v", name, err)
	}
	return req
}

// world is a receiver on the real adapters, each on its service's wire.
type world struct {
	r       *Receiver
	secrets *jsonService
	bus     *jsonService
	dynamo  *ledgertest.DynamoFake
	logs    *bytes.Buffer
}

func newWorld(t *testing.T, secretValue string, put func(n int, r jsonRequest) (int, string)) *world {
	t.Helper()
	sm, secrets := secretsOnTheWire(t, SecretName("demo"), secretValue)
	bus, busWire := busOnTheWire(t, put)
	dynamo := ledgertest.NewDynamoFake(t, "slipway-demo-ledger")
	logs := &bytes.Buffer{}
	r := &Receiver{Config: testConfig, Secrets: sm, SecretName: SecretName("demo"),
		Deliveries: &ledger.Dynamo{Client: dynamo.Client(), Table: "slipway-demo-ledger"}, Bus: bus,
		Now: func() time.Time { return time.Date(2026, 11, 26, 1, 25, 3, 0, time.UTC) }, Log: slog.New(slog.NewJSONHandler(logs, nil))}
	return &world{r: r, secrets: secrets, bus: busWire, dynamo: dynamo, logs: logs}
}

// pushed are the details of the events put on the bus.
func (w *world) pushed(t *testing.T) []trigger.GitPush {
	t.Helper()
	var out []trigger.GitPush
	for _, c := range w.bus.calls() {
		for _, e := range c.Body["Entries"].([]any) {
			var p trigger.GitPush
			if err := json.Unmarshal([]byte(e.(map[string]any)["Detail"].(string)), &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

func decodeAnswer(t *testing.T, resp events.LambdaFunctionURLResponse) Answer {
	t.Helper()
	var a Answer
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	if resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", resp.Headers["Content-Type"])
	}
	return a
}

var mainPush = trigger.GitPush{Repository: "demo", Branch: "main", Commit: sampleCommit, Pusher: "ada", App: "demo",
	CommittedAt: time.Date(2026, 11, 26, 1, 24, 41, 0, time.UTC)}

// TestSampleDeliveries delivers every sample under events/github, twice
// (GitHub redelivers), to a receiver on Secrets Manager, DynamoDB and
// EventBridge on the wire.
func TestSampleDeliveries(t *testing.T) {
	tests := []struct {
		file         string
		status       int
		action       string
		again        string // the action of the second delivery
		want         []trigger.GitPush
		secretReads  int // Secrets Manager calls (the value is cached)
		ledgerWrites int
		message      string
	}{
		{file: "push.json", status: 202, action: "forwarded", again: "duplicate", want: []trigger.GitPush{mainPush}, secretReads: 1, ledgerWrites: 2,
			message: "push of 3f9a1c2d4e5f to main of demo forwarded: the push router deploys it to staging once its release is published"},
		{file: "push-base64.json", status: 202, action: "forwarded", again: "duplicate", want: []trigger.GitPush{mainPush}, secretReads: 1, ledgerWrites: 2},
		{file: "ping.json", status: 200, action: "pong", again: "pong", secretReads: 1},
		{file: "push-tag.json", status: 202, action: "ignored", again: "ignored", secretReads: 1,
			message: "push of refs/tags/v2.0.0 ignored: releases deploy from branches, not tags"},
		{file: "push-other-branch.json", status: 202, action: "ignored", again: "ignored", secretReads: 1,
			message: "push to branch feature/login of demo ignored: no environment is mapped to it (triggers.branches)"},
		{file: "push-branch-deleted.json", status: 202, action: "ignored", again: "ignored", secretReads: 1,
			message: "branch main was deleted: nothing to deploy"},
		{file: "push-bad-signature.json", status: 401, action: "unauthorized", again: "unauthorized", secretReads: 1,
			message: "X-Hub-Signature-256 does not match the body: the webhook's secret is not the one in Secrets Manager slipway/demo/github-webhook"},
		{file: "push-unsigned.json", status: 401, action: "unauthorized", again: "unauthorized", secretReads: 0,
			message: "no X-Hub-Signature-256 header: give the webhook the secret in Secrets Manager slipway/demo/github-webhook"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			w := newWorld(t, sampleSecret, putOK)
			req := sample(t, tt.file)
			var actions []string
			for i := range 2 {
				resp, err := w.r.Handle(context.Background(), req)
				if err != nil {
					t.Fatalf("Handle(%s) error = %v, want none (every outcome is an HTTP answer)", tt.file, err)
				}
				a := decodeAnswer(t, resp)
				actions = append(actions, a.Action)
				if i == 0 {
					if resp.StatusCode != tt.status {
						t.Errorf("Handle(%s) status = %d, want %d (%s)", tt.file, resp.StatusCode, tt.status, resp.Body)
					}
					if tt.message != "" && a.Message != tt.message {
						t.Errorf("Handle(%s) message = %q, want %q", tt.file, a.Message, tt.message)
					}
				} else if a.Action == "duplicate" && resp.StatusCode != 200 {
					t.Errorf("Handle(%s) again: status = %d, want 200", tt.file, resp.StatusCode)
				}
			}
			if diff := cmp.Diff([]string{tt.action, tt.again}, actions); diff != "" {
				t.Errorf("Handle(%s) twice: actions (-want +got):\n%s", tt.file, diff)
			}
			if diff := cmp.Diff(tt.want, w.pushed(t)); diff != "" {
				t.Errorf("Handle(%s): events put (-want +got):\n%s", tt.file, diff)
			}
			if got := len(w.secrets.calls()); got != tt.secretReads {
				t.Errorf("Handle(%s): %d Secrets Manager calls, want %d", tt.file, got, tt.secretReads)
			}
			// Only a forwarded push is recorded: its delivery, claimed
			// (the redelivery's claim fails its condition).
			if got := len(w.dynamo.Calls()); got != tt.ledgerWrites {
				t.Errorf("Handle(%s): %d DynamoDB calls (%v), want %d", tt.file, got, w.dynamo.Ops(), tt.ledgerWrites)
			}
		})
	}
}

// TestPutEventsRequest checks the event the bus receives: the push
// router's source and detail type on the default bus.
func TestPutEventsRequest(t *testing.T) {
	w := newWorld(t, sampleSecret, putOK)
	if _, err := w.r.Handle(context.Background(), sample(t, "push.json")); err != nil {
		t.Fatal(err)
	}
	calls := w.bus.calls()
	if len(calls) != 1 {
		t.Fatalf("%d PutEvents calls, want 1", len(calls))
	}
	entry := calls[0].Body["Entries"].([]any)[0].(map[string]any)
	delete(entry, "Detail") // checked by TestSampleDeliveries
	want := map[string]any{"Source": "slipway.git", "DetailType": "Git Push", "EventBusName": "default"}
	if calls[0].Target != "AWSEvents.PutEvents" {
		t.Errorf("target = %q, want AWSEvents.PutEvents", calls[0].Target)
	}
	if diff := cmp.Diff(want, entry); diff != "" {
		t.Errorf("PutEvents entry (-want +got):\n%s", diff)
	}
}

// TestBusFailures: when EventBridge refuses or fails, the answer is an
// error GitHub shows, and the delivery is released so that its
// redelivery is forwarded.
func TestBusFailures(t *testing.T) {
	tests := []struct {
		name    string
		put     func(n int, r jsonRequest) (int, string)
		wantLog string
		puts    int
	}{
		{name: "failed entry", put: func(int, jsonRequest) (int, string) {
			return 200, `{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}`
		}, wantLog: "EventBridge refused it: InternalFailure: try again", puts: 1},
		{name: "throttled throughout", put: func(int, jsonRequest) (int, string) {
			return 400, `{"__type":"ThrottlingException","message":"Rate exceeded"}`
		}, wantLog: "ThrottlingException", puts: 3},
		{name: "no such bus", put: func(int, jsonRequest) (int, string) {
			return 400, `{"__type":"ResourceNotFoundException","message":"Event bus default does not exist."}`
		}, wantLog: `event bus \"default\" does not exist`, puts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, sampleSecret, tt.put)
			resp, err := w.r.Handle(context.Background(), sample(t, "push.json"))
			if err != nil {
				t.Fatal(err)
			}
			if a := decodeAnswer(t, resp); resp.StatusCode != http.StatusBadGateway || a.Action != "error" {
				t.Errorf("Handle() = %d %s, want 502 error", resp.StatusCode, resp.Body)
			}
			if !strings.Contains(w.logs.String(), tt.wantLog) {
				t.Errorf("log %s does not say %q", w.logs, tt.wantLog)
			}
			if got := len(w.bus.calls()); got != tt.puts {
				t.Errorf("%d PutEvents calls, want %d", got, tt.puts)
			}
			// Released: GitHub's redelivery goes through.
			if ops := w.dynamo.Ops(); !cmp.Equal(ops, []string{"PutItem", "DeleteItem"}) {
				t.Errorf("DynamoDB calls = %v, want the claim, then its release", ops)
			}
			bus, _ := busOnTheWire(t, putOK)
			w.r.Bus = bus
			resp, _ = w.r.Handle(context.Background(), sample(t, "push.json"))
			if a := decodeAnswer(t, resp); a.Action != "forwarded" {
				t.Errorf("redelivery after the failure: %s, want forwarded", resp.Body)
			}
		})
	}
}

// TestSecretNeverShown: with a secret that is the sentinel, no answer and
// no log line shows it, whatever happens: a verified push, a bad
// signature, a malformed payload, a bus failure, Secrets Manager failing.
func TestSecretNeverShown(t *testing.T) {
	signed := func(event, delivery, body string) events.LambdaFunctionURLRequest {
		return events.LambdaFunctionURLRequest{Body: body, Headers: map[string]string{
			"x-github-event": event, "x-github-delivery": delivery, "content-type": "application/json",
			"x-hub-signature-256": Sign([]byte(sentinel), []byte(body))}}
	}
	push := sample(t, "push.json")
	pushBody := push.Body
	failing := func(int, jsonRequest) (int, string) {
		return 400, `{"__type":"ValidationException","message":"bad"}`
	}
	tests := []struct {
		name   string
		req    events.LambdaFunctionURLRequest
		put    func(int, jsonRequest) (int, string)
		status int
	}{
		{name: "verified push", req: signed("push", "d-1", pushBody), put: putOK, status: 202},
		{name: "sample signature", req: push, put: putOK, status: 401},
		{name: "malformed payload", req: signed("push", "d-2", "{not json"), put: putOK, status: 400},
		{name: "bus failure", req: signed("push", "d-3", pushBody), put: failing, status: 502},
		{name: "form content type", req: func() events.LambdaFunctionURLRequest {
			r := signed("push", "d-4", pushBody)
			r.Headers["content-type"] = "application/x-www-form-urlencoded"
			return r
		}(), put: putOK, status: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, sentinel, tt.put)
			resp, err := w.r.Handle(context.Background(), tt.req)
			if err != nil || resp.StatusCode != tt.status {
				t.Errorf("Handle() = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, tt.status)
			}
			for what, s := range map[string]string{"answer": fmt.Sprint(resp), "log": w.logs.String()} {
				if strings.Contains(s, sentinel) {
					t.Errorf("the %s shows the secret: %s", what, s)
				}
			}
		})
	}
	t.Run("secrets manager fails", func(t *testing.T) {
		w := newWorld(t, sentinel, putOK)
		w.r.SecretName = "slipway/demo/missing"
		resp, _ := w.r.Handle(context.Background(), signed("push", "d-5", pushBody))
		if resp.StatusCode != 500 || !strings.Contains(w.logs.String(), `slipway/demo/missing`) {
			t.Errorf("Handle() = %d %s, log %s; want 500 and a log naming the secret", resp.StatusCode, resp.Body, w.logs)
		}
		if strings.Contains(resp.Body+w.logs.String(), sentinel) {
			t.Errorf("the secret is shown")
		}
		if len(w.dynamo.Calls()) != 0 || len(w.bus.calls()) != 0 {
			t.Errorf("an unverified delivery was acted on: DynamoDB %v, %d PutEvents", w.dynamo.Ops(), len(w.bus.calls()))
		}
	})
}

// TestRefusals are deliveries whose signature is right but that Slipway
// cannot use.
func TestRefusals(t *testing.T) {
	body := sample(t, "push.json").Body
	req := func(headers map[string]string, body string) events.LambdaFunctionURLRequest {
		h := map[string]string{"x-hub-signature-256": Sign([]byte(sampleSecret), []byte(body))}
		for k, v := range headers {
			h[k] = v
		}
		return events.LambdaFunctionURLRequest{Body: body, Headers: h}
	}
	tests := []struct {
		name    string
		req     events.LambdaFunctionURLRequest
		status  int
		action  string
		message string
	}{
		{name: "no delivery id", req: req(map[string]string{"x-github-event": "push"}, body), status: 400, action: "refused",
			message: "a delivery needs the X-GitHub-Event and X-GitHub-Delivery headers"},
		{name: "form-encoded", req: req(map[string]string{"x-github-event": "push", "x-github-delivery": "d", "content-type": "application/x-www-form-urlencoded"}, body),
			status: 415, action: "refused", message: "content type application/x-www-form-urlencoded: set the webhook's content type to application/json"},
		{name: "another event", req: req(map[string]string{"x-github-event": "pull_request", "x-github-delivery": "d"}, `{}`), status: 202, action: "ignored",
			message: "pull_request events are not used: Slipway deploys pushes (send just the push event)"},
		{name: "no ref", req: req(map[string]string{"x-github-event": "push", "x-github-delivery": "d"}, `{"after":"abc"}`), status: 400, action: "refused",
			message: "the push payload lacks ref, after or repository.name"},
		{name: "another repository", req: req(map[string]string{"x-github-event": "push", "x-github-delivery": "d"},
			`{"ref":"refs/heads/main","after":"`+sampleCommit+`","repository":{"name":"shop","full_name":"acme/shop"}}`), status: 202, action: "ignored",
			message: `push to main ignored: neither "shop" nor "acme/shop" is in triggers.repositories of the Slipway configuration`},
		{name: "mixed-case headers", req: req(map[string]string{"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d"}, `{}`), status: 200, action: "pong",
			message: "the webhook reaches Slipway and its secret matches"},
		{name: "bad base64", req: events.LambdaFunctionURLRequest{Body: "%%%", IsBase64Encoded: true}, status: 400, action: "refused",
			message: "the body is not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, sampleSecret, putOK)
			resp, err := w.r.Handle(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			a := decodeAnswer(t, resp)
			if resp.StatusCode != tt.status || a.Action != tt.action || a.Message != tt.message {
				t.Errorf("Handle() = %d %s %q, want %d %s %q", resp.StatusCode, a.Action, a.Message, tt.status, tt.action, tt.message)
			}
			if len(w.bus.calls()) != 0 || len(w.dynamo.Calls()) != 0 {
				t.Errorf("a refused delivery was acted on")
			}
		})
	}
}

func TestVerify(t *testing.T) {
	key, body := []byte("It's a Secret to Everybody"), []byte("Hello, World!")
	// GitHub's documented example (docs: "Validating webhook deliveries").
	const github = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	tests := []struct {
		name, sig string
		want      bool
	}{
		{"GitHub's example", github, true},
		{"upper-case hex", "sha256=" + strings.ToUpper(strings.TrimPrefix(github, "sha256=")), true},
		{"one digit off", github[:len(github)-1] + "8", false},
		{"truncated", github[:40], false},
		{"no prefix", strings.TrimPrefix(github, "sha256="), false},
		{"sha1", "sha1=" + strings.TrimPrefix(github, "sha256="), false},
		{"not hex", "sha256=zz", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(key, body, tt.sig); got != tt.want {
				t.Errorf("Verify(%q) = %v, want %v", tt.sig, got, tt.want)
			}
		})
	}
	if got := Sign(key, body); got != github {
		t.Errorf("Sign() = %s, want %s", got, github)
	}
}
