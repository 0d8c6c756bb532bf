package fleet_test

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
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/fleet"
)

// ssmCall is one request the test server received.
type ssmCall struct {
	Op   string
	Body map[string]any
}

// ssmReply answers the n-th (from 1) request for op; status 0 means 200.
type ssmReply func(op string, n int, body map[string]any) (status int, response string)

// ssmServer speaks the SSM JSON protocol (X-Amz-Target AmazonSSM.<Op>,
// application/x-amz-json-1.1) and records what it receives.
type ssmServer struct {
	t     testing.TB
	reply ssmReply
	url   string

	mu    sync.Mutex
	calls []ssmCall
	count map[string]int
}

func newSSMServer(t testing.TB, reply ssmReply) *ssmServer {
	t.Helper()
	s := &ssmServer{t: t, reply: reply, count: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *ssmServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKID/") {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"bad target %q or content type or signature"}`, r.Header.Get("X-Amz-Target"))
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"SerializationException","message":%q}`, err.Error())
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, ssmCall{Op: op, Body: body})
	s.count[op]++
	n := s.count[op]
	s.mu.Unlock()
	status, resp := s.reply(op, n, body)
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, resp)
}

func (s *ssmServer) Calls() []ssmCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ssmCall(nil), s.calls...)
}

func (s *ssmServer) Ops() []string {
	var ops []string
	for _, c := range s.Calls() {
		ops = append(ops, c.Op)
	}
	return ops
}

// client returns a real SDK client pointed at the server.
func (s *ssmServer) client() *ssm.Client {
	return ssm.New(ssm.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: aws.String(s.url),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = 10 * time.Millisecond
		}),
	})
}

func (s *ssmServer) fleet() *fleet.SSM {
	return &fleet.SSM{Client: s.client(), DocumentName: "Slipway-Host", HealthPort: 8080}
}

const (
	throttled      = `{"__type":"ThrottlingException","message":"Rate exceeded"}`
	invalidCommand = `{"__type":"InvalidCommandId"}`
)

// jsonOf marshals v for canned responses.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Not tested against moto: moto 5.2.1 answers DescribeInstanceInformation
// (Instances, Lookup) and ListCommandInvocations (Status) with HTTP 500,
// not implemented, and has no SSM managed nodes for GetCommandInvocation.
// Checked against moto_server 5.2.1 with the SDK's client. Only Send runs
// against moto (TestSSMSendOnMoto); for the rest these wire tests, on real
// response and error shapes, are the adapter's only oracle; see
// docs/aws.md, "Tested against moto".
func TestSSMInstances(t *testing.T) {
	ctx := context.Background()
	page1 := `{"InstanceInformationList":[
		{"InstanceId":"i-0bbb","PingStatus":"Online","IPAddress":"10.0.1.12","PlatformType":"Linux","AgentVersion":"3.3.1142.0","ResourceType":"EC2Instance"},
		{"InstanceId":"i-0ccc","PingStatus":"ConnectionLost","IPAddress":"10.0.1.13","LastPingDateTime":1.7419e9}],
		"NextToken":"page-2"}`
	page2 := `{"InstanceInformationList":[{"InstanceId":"i-0aaa","PingStatus":"Online","IPAddress":"10.0.1.11"}]}`
	tags := map[string]string{"env": "production", "app": "shop"}
	tests := []struct {
		name       string
		healthPort int
		tags       map[string]string
		reply      ssmReply
		want       []fleet.Instance
		wantErr    string
		wantCalls  int
		check      func(t *testing.T, calls []ssmCall)
	}{
		{
			name:       "filters by tag and follows pages",
			healthPort: 8080,
			tags:       tags,
			reply: func(op string, n int, body map[string]any) (int, string) {
				if n == 1 {
					return 0, page1
				}
				return 0, page2
			},
			want: []fleet.Instance{
				{ID: "i-0aaa", Address: "10.0.1.11:8080", Tags: tags, Online: true},
				{ID: "i-0bbb", Address: "10.0.1.12:8080", Tags: tags, Online: true},
				{ID: "i-0ccc", Address: "10.0.1.13:8080", Tags: tags, Online: false},
			},
			wantCalls: 2,
			check: func(t *testing.T, calls []ssmCall) {
				want := map[string]any{
					"Filters": []any{
						map[string]any{"Key": "tag:app", "Values": []any{"shop"}},
						map[string]any{"Key": "tag:env", "Values": []any{"production"}},
					},
					"MaxResults": 50.0,
				}
				if diff := cmp.Diff(want, calls[0].Body); diff != "" {
					t.Errorf("first request mismatch (-want +got):\n%s", diff)
				}
				if got := calls[1].Body["NextToken"]; got != "page-2" {
					t.Errorf("second request NextToken = %v, want page-2", got)
				}
			},
		},
		{
			name: "no health port leaves the bare IP",
			tags: map[string]string{"app": "shop"},
			reply: func(string, int, map[string]any) (int, string) {
				return 0, page2
			},
			want:      []fleet.Instance{{ID: "i-0aaa", Address: "10.0.1.11", Tags: map[string]string{"app": "shop"}, Online: true}},
			wantCalls: 1,
		},
		{
			name: "throttled once, then answered",
			tags: map[string]string{"app": "shop"},
			reply: func(op string, n int, _ map[string]any) (int, string) {
				if n == 1 {
					return 400, throttled
				}
				return 0, page2
			},
			want:      []fleet.Instance{{ID: "i-0aaa", Address: "10.0.1.11", Tags: map[string]string{"app": "shop"}, Online: true}},
			wantCalls: 2,
		},
		{
			name:      "no tags selects nothing",
			reply:     func(string, int, map[string]any) (int, string) { return 0, page2 },
			wantErr:   "no tags",
			wantCalls: 0,
		},
		{
			name:      "throttled for good",
			tags:      map[string]string{"app": "shop"},
			reply:     func(string, int, map[string]any) (int, string) { return 400, throttled },
			wantErr:   "list instances of production: operation error SSM: DescribeInstanceInformation",
			wantCalls: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSSMServer(t, tt.reply)
			f := srv.fleet()
			f.HealthPort = tt.healthPort
			got, err := f.Instances(ctx, "production", tt.tags)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Instances() = %v, want error containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Instances() = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Instances() mismatch (-want +got):\n%s", diff)
			}
			calls := srv.Calls()
			if len(calls) != tt.wantCalls {
				t.Errorf("requests = %d (%v), want %d", len(calls), srv.Ops(), tt.wantCalls)
			}
			if tt.check != nil {
				tt.check(t, calls)
			}
		})
	}
}

func TestSSMLookup(t *testing.T) {
	var ids []string
	for i := range 120 {
		ids = append(ids, fmt.Sprintf("i-%03d", i))
	}
	ids = append(ids, "i-005") // a repeat is looked up once
	srv := newSSMServer(t, func(op string, n int, body map[string]any) (int, string) {
		// Answer for every third instance asked about, in reverse.
		var list []map[string]any
		vals := body["Filters"].([]any)[0].(map[string]any)["Values"].([]any)
		for i := len(vals) - 1; i >= 0; i-- {
			id := vals[i].(string)
			if strings.HasSuffix(id, "0") || strings.HasSuffix(id, "5") {
				list = append(list, map[string]any{"InstanceId": id, "PingStatus": "Online", "IPAddress": "10.0.0." + id[2:]})
			}
		}
		return 0, jsonOf(t, map[string]any{"InstanceInformationList": list})
	})
	got, err := srv.fleet().Lookup(context.Background(), "production", []string{"i-115", "i-005", "i-001", "i-050"})
	if err != nil {
		t.Fatalf("Lookup() = %v", err)
	}
	want := []fleet.Instance{
		{ID: "i-115", Address: "10.0.0.115:8080", Online: true},
		{ID: "i-005", Address: "10.0.0.005:8080", Online: true},
		{ID: "i-050", Address: "10.0.0.050:8080", Online: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lookup() mismatch (-want +got):\n%s", diff)
	}

	srv = newSSMServer(t, func(string, int, map[string]any) (int, string) { return 0, `{"InstanceInformationList":[]}` })
	if _, err := srv.fleet().Lookup(context.Background(), "production", ids); err != nil {
		t.Fatalf("Lookup(121 IDs) = %v", err)
	}
	var sizes []int
	for _, c := range srv.Calls() {
		f := c.Body["Filters"].([]any)[0].(map[string]any)
		if f["Key"] != "InstanceIds" {
			t.Errorf("filter key = %v, want InstanceIds", f["Key"])
		}
		sizes = append(sizes, len(f["Values"].([]any)))
	}
	if diff := cmp.Diff([]int{50, 50, 20}, sizes); diff != "" {
		t.Errorf("Lookup chunk sizes mismatch (-want +got):\n%s", diff)
	}
}

func TestSSMSend(t *testing.T) {
	ctx := context.Background()
	activate := fleet.Command{DeploymentID: "dep-42", Action: fleet.ActionActivate, Version: "v7",
		ArtifactURI: "s3://slipway-artifacts/shop/v7.tar.gz", SHA256: strings.Repeat("ab", 32)}
	withIDs := func(c fleet.Command, ids ...string) fleet.Command {
		c.InstanceIDs = ids
		return c
	}
	many := func(n int) []string {
		var ids []string
		for i := range n {
			ids = append(ids, fmt.Sprintf("i-%04d", i))
		}
		return ids
	}
	commandID := func(n int) string { return fmt.Sprintf("c0ffee00-0000-4000-8000-%012d", n) }
	ok := func(op string, n int, _ map[string]any) (int, string) {
		return 0, fmt.Sprintf(`{"Command":{"CommandId":"%s","DocumentName":"Slipway-Host","Status":"Pending","MaxErrors":"0","MaxConcurrency":"100%%","TargetCount":3,"RequestedDateTime":1.7419e9}}`, commandID(n))
	}
	tests := []struct {
		name      string
		configure func(f *fleet.SSM)
		cmd       fleet.Command
		reply     ssmReply
		wantID    string
		wantErr   func(t *testing.T, err error)
		wantOps   []string
		check     func(t *testing.T, calls []ssmCall)
	}{
		{
			name: "activate with every setting",
			configure: func(f *fleet.SSM) {
				f.OutputBucket, f.OutputPrefix, f.LogGroup, f.TimeoutSeconds = "slipway-output", "runs/", "/slipway/commands", 600
			},
			cmd:     withIDs(activate, "i-1", "i-2", "i-3"),
			reply:   ok,
			wantID:  commandID(1),
			wantOps: []string{"SendCommand"},
			check: func(t *testing.T, calls []ssmCall) {
				want := map[string]any{
					"DocumentName":   "Slipway-Host",
					"InstanceIds":    []any{"i-1", "i-2", "i-3"},
					"MaxErrors":      "0",
					"MaxConcurrency": "100%",
					"TimeoutSeconds": 600.0,
					"Comment":        "slipway dep-42 activate v7",
					"Parameters": map[string]any{
						"action": []any{"activate"}, "version": []any{"v7"}, "artifactKey": []any{"shop/v7.tar.gz"},
						"sha256": []any{strings.Repeat("ab", 32)}, "deploymentId": []any{"dep-42"}, "executionTimeout": []any{"600"},
					},
					"OutputS3BucketName":     "slipway-output",
					"OutputS3KeyPrefix":      "runs/",
					"CloudWatchOutputConfig": map[string]any{"CloudWatchOutputEnabled": true, "CloudWatchLogGroupName": "/slipway/commands"},
				}
				if diff := cmp.Diff(want, calls[0].Body); diff != "" {
					t.Errorf("SendCommand request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:    "rollback without optional settings",
			cmd:     fleet.Command{DeploymentID: "dep-43", Action: fleet.ActionRollback, InstanceIDs: []string{"i-1"}},
			reply:   ok,
			wantID:  commandID(1),
			wantOps: []string{"SendCommand"},
			check: func(t *testing.T, calls []ssmCall) {
				want := map[string]any{
					"DocumentName": "Slipway-Host", "InstanceIds": []any{"i-1"}, "MaxErrors": "0", "MaxConcurrency": "100%",
					"Comment":    "slipway dep-43 rollback",
					"Parameters": map[string]any{"action": []any{"rollback"}, "deploymentId": []any{"dep-43"}},
				}
				if diff := cmp.Diff(want, calls[0].Body); diff != "" {
					t.Errorf("SendCommand request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "activate and rollback with a configuration: its fingerprint and environment, never a value",
			cmd: func() fleet.Command {
				c := withIDs(activate, "i-1")
				c.ConfigFingerprint, c.ConfigEnv = "hmac-sha256:0123456789abcdef0123456789abcdef", "staging"
				return c
			}(),
			reply:   ok,
			wantID:  commandID(1),
			wantOps: []string{"SendCommand"},
			check: func(t *testing.T, calls []ssmCall) {
				want := map[string]any{
					"action": []any{"activate"}, "version": []any{"v7"}, "artifactKey": []any{"shop/v7.tar.gz"},
					"sha256": []any{strings.Repeat("ab", 32)}, "deploymentId": []any{"dep-42"},
					"configFingerprint": []any{"hmac-sha256:0123456789abcdef0123456789abcdef"}, "configEnv": []any{"staging"},
					"resolver": []any{"download"},
				}
				if diff := cmp.Diff(want, calls[0].Body["Parameters"]); diff != "" {
					t.Errorf("SendCommand parameters (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:    "a traffic hook of the current release",
			cmd:     fleet.Command{DeploymentID: "dep-44", Action: fleet.ActionHook, Hook: "before_traffic", Version: "v7", InstanceIDs: []string{"i-1", "i-2"}},
			reply:   ok,
			wantID:  commandID(1),
			wantOps: []string{"SendCommand"},
			check: func(t *testing.T, calls []ssmCall) {
				want := map[string]any{
					"DocumentName": "Slipway-Host", "InstanceIds": []any{"i-1", "i-2"}, "MaxErrors": "0", "MaxConcurrency": "100%",
					"Comment":    "slipway dep-44 hook v7",
					"Parameters": map[string]any{"action": []any{"hook"}, "hook": []any{"before_traffic"}, "version": []any{"v7"}, "deploymentId": []any{"dep-44"}},
				}
				if diff := cmp.Diff(want, calls[0].Body); diff != "" {
					t.Errorf("SendCommand request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:  "a hook the hook action does not run",
			cmd:   fleet.Command{Action: fleet.ActionHook, Hook: "validate", Version: "v7", InstanceIDs: []string{"i-1"}},
			reply: ok,
			wantErr: func(t *testing.T, err error) {
				if !errors.Is(err, fleet.ErrInvalidCommand) {
					t.Errorf("Send() error = %v, want ErrInvalidCommand", err)
				}
			},
		},
		{
			name: "a fingerprint the document would refuse",
			cmd: func() fleet.Command {
				c := withIDs(activate, "i-1")
				c.ConfigFingerprint, c.ConfigEnv = "x'; reboot", "staging"
				return c
			}(),
			reply: ok,
			wantErr: func(t *testing.T, err error) {
				if !errors.Is(err, fleet.ErrInvalidCommand) {
					t.Errorf("Send() error = %v, want ErrInvalidCommand", err)
				}
			},
		},
		{
			name:      "a short timeout is raised to SSM's minimum for delivery only",
			configure: func(f *fleet.SSM) { f.TimeoutSeconds = 10 },
			cmd:       fleet.Command{Action: fleet.ActionPrune, Keep: 3, InstanceIDs: []string{"i-1"}},
			reply:     ok,
			wantID:    commandID(1),
			wantOps:   []string{"SendCommand"},
			check: func(t *testing.T, calls []ssmCall) {
				got := map[string]any{"timeout": calls[0].Body["TimeoutSeconds"], "params": calls[0].Body["Parameters"]}
				want := map[string]any{"timeout": 30.0, "params": map[string]any{
					"action": []any{"prune"}, "keep": []any{"3"}, "executionTimeout": []any{"10"}}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("SendCommand request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:    "a wave of more than 50 is split",
			cmd:     withIDs(activate, many(75)...),
			reply:   ok,
			wantID:  commandID(1) + "," + commandID(2),
			wantOps: []string{"SendCommand", "SendCommand"},
			check: func(t *testing.T, calls []ssmCall) {
				want := [][]string{many(75)[:50], many(75)[50:]}
				for i, c := range calls {
					var got []string
					for _, id := range c.Body["InstanceIds"].([]any) {
						got = append(got, id.(string))
					}
					if diff := cmp.Diff(want[i], got); diff != "" {
						t.Errorf("SendCommand %d InstanceIds mismatch (-want +got):\n%s", i+1, diff)
					}
				}
			},
		},
		{
			name: "throttled once, then sent",
			cmd:  withIDs(activate, "i-1"),
			reply: func(op string, n int, b map[string]any) (int, string) {
				if n == 1 {
					return 400, throttled
				}
				return ok(op, n-1, b)
			},
			wantID:  commandID(1),
			wantOps: []string{"SendCommand", "SendCommand"},
		},
		{
			name: "InvalidInstanceId names the instances at fault",
			cmd:  withIDs(activate, "i-1", "i-2", "i-3"),
			reply: func(op string, n int, _ map[string]any) (int, string) {
				if op == "SendCommand" {
					return 400, `{"__type":"InvalidInstanceId"}`
				}
				return 0, `{"InstanceInformationList":[
					{"InstanceId":"i-1","PingStatus":"Online","IPAddress":"10.0.0.1"},
					{"InstanceId":"i-2","PingStatus":"ConnectionLost","IPAddress":"10.0.0.2"}]}`
			},
			wantErr: func(t *testing.T, err error) {
				var unavailable *fleet.UnavailableInstancesError
				if !errors.As(err, &unavailable) {
					t.Fatalf("Send() = %v, want *UnavailableInstancesError", err)
				}
				if diff := cmp.Diff([]string{"i-2", "i-3"}, unavailable.InstanceIDs); diff != "" {
					t.Errorf("InstanceIDs mismatch (-want +got):\n%s", diff)
				}
				var sdk *types.InvalidInstanceId
				if !errors.Is(err, fleet.ErrUnknownInstance) || !errors.As(err, &sdk) {
					t.Errorf("Send() = %v, want it to match ErrUnknownInstance and *types.InvalidInstanceId", err)
				}
				if !strings.Contains(err.Error(), "i-2, i-3") {
					t.Errorf("Send() = %q, want it to name i-2, i-3", err)
				}
			},
			wantOps: []string{"SendCommand", "DescribeInstanceInformation"},
		},
		{
			name: "a missing document says to deploy the stack",
			cmd:  withIDs(activate, "i-1"),
			reply: func(string, int, map[string]any) (int, string) {
				return 400, `{"__type":"InvalidDocument","Message":"Document with name Slipway-Host does not exist."}`
			},
			wantErr: func(t *testing.T, err error) {
				var sdk *types.InvalidDocument
				if !errors.As(err, &sdk) || !strings.Contains(err.Error(), "deploy the Slipway stack") || !strings.Contains(err.Error(), `"Slipway-Host"`) {
					t.Errorf("Send() = %v, want an InvalidDocument error naming the document and the stack", err)
				}
			},
			wantOps: []string{"SendCommand"},
		},
		{
			name: "a refusal after a first part returns the part sent",
			cmd:  withIDs(activate, many(60)...),
			reply: func(op string, n int, b map[string]any) (int, string) {
				if n == 2 {
					return 400, `{"__type":"InvalidParameters","Message":"document parameters are not valid"}`
				}
				return ok(op, n, b)
			},
			wantID: commandID(1),
			wantErr: func(t *testing.T, err error) {
				var sdk *types.InvalidParameters
				if !errors.As(err, &sdk) || !strings.Contains(err.Error(), commandID(1)) {
					t.Errorf("Send() = %v, want InvalidParameters naming the command already sent", err)
				}
			},
			wantOps: []string{"SendCommand", "SendCommand"},
		},
		{
			name:    "a file artifact is refused before sending",
			cmd:     fleet.Command{Action: fleet.ActionActivate, Version: "v7", ArtifactURI: "file:///tmp/v7.tar.gz", SHA256: "ab", InstanceIDs: []string{"i-1"}},
			reply:   ok,
			wantErr: func(t *testing.T, err error) { requireIs(t, err, fleet.ErrInvalidCommand) },
		},
		{
			name:    "an instance twice is refused",
			cmd:     withIDs(activate, "i-1", "i-1"),
			reply:   ok,
			wantErr: func(t *testing.T, err error) { requireIs(t, err, fleet.ErrInvalidCommand) },
		},
		{
			name:    "no instances is refused",
			cmd:     activate,
			reply:   ok,
			wantErr: func(t *testing.T, err error) { requireIs(t, err, fleet.ErrInvalidCommand) },
		},
		{
			name:    "an unknown action is refused",
			cmd:     fleet.Command{Action: "reboot", InstanceIDs: []string{"i-1"}},
			reply:   ok,
			wantErr: func(t *testing.T, err error) { requireIs(t, err, fleet.ErrInvalidCommand) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSSMServer(t, tt.reply)
			f := srv.fleet()
			if tt.configure != nil {
				tt.configure(f)
			}
			id, err := f.Send(ctx, "production", tt.cmd)
			if tt.wantErr != nil {
				tt.wantErr(t, err)
			} else if err != nil {
				t.Fatalf("Send() = %v", err)
			}
			if id != tt.wantID {
				t.Errorf("Send() ID = %q, want %q", id, tt.wantID)
			}
			if diff := cmp.Diff(tt.wantOps, srv.Ops()); diff != "" {
				t.Errorf("operations mismatch (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, srv.Calls())
			}
		})
	}
}

func requireIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("error = %v, want %v", err, target)
	}
}

// Times on the wire are epoch seconds.
var (
	tStart = time.Date(2025, 3, 14, 9, 26, 53, 500_000_000, time.UTC)
	tEnd   = tStart.Add(42 * time.Second)
)

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// invocationJSON is a CommandInvocation with Details, as SSM returns it.
func invocationJSON(commandID, instance, status, details string, plugins ...map[string]any) map[string]any {
	inv := map[string]any{
		"CommandId": commandID, "InstanceId": instance, "InstanceName": "", "DocumentName": "Slipway-Host", "DocumentVersion": "$DEFAULT",
		"Comment": "slipway dep-42 activate v7", "RequestedDateTime": epoch(tStart.Add(-time.Second)),
		"Status": status, "StatusDetails": details, "ServiceRole": "", "StandardOutputUrl": "", "StandardErrorUrl": "",
		"CommandPlugins": plugins, "NotificationConfig": map[string]any{"NotificationArn": "", "NotificationEvents": []any{}, "NotificationType": ""},
		"CloudWatchOutputConfig": map[string]any{"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false},
	}
	if plugins == nil {
		inv["CommandPlugins"] = []any{}
	}
	return inv
}

// pluginJSON is a CommandPlugin; code < 0 means it did not run.
func pluginJSON(status string, code int, output string) map[string]any {
	p := map[string]any{"Name": "runHostScript", "Status": status, "StatusDetails": status, "ResponseCode": code, "Output": output,
		"OutputS3BucketName": "", "OutputS3KeyPrefix": "", "StandardOutputUrl": "", "StandardErrorUrl": ""}
	if code >= 0 {
		p["ResponseStartDateTime"], p["ResponseFinishDateTime"] = epoch(tStart), epoch(tEnd)
	}
	return p
}

// commandJSON is a ListCommands answer for a command on ids.
func commandJSON(commandID, status string, ids ...string) string {
	b, _ := json.Marshal(map[string]any{"Commands": []any{map[string]any{
		"CommandId": commandID, "DocumentName": "Slipway-Host", "InstanceIds": ids, "Status": status, "StatusDetails": status,
		"MaxErrors": "0", "MaxConcurrency": "100%", "TargetCount": len(ids), "CompletedCount": 0, "ErrorCount": 0,
		"DeliveryTimedOutCount": 0, "RequestedDateTime": epoch(tStart),
	}}})
	return string(b)
}

const ssmReport = `{"action":"activate","version":"v7","previous":"v6","current":"v7","changed":true}`

func TestSSMStatus(t *testing.T) {
	ctx := context.Background()
	const c1, c2 = "c1c1c1c1-0000-4000-8000-000000000001", "c2c2c2c2-0000-4000-8000-000000000002"
	ok := func(id string) map[string]any {
		return invocationJSON(c1, id, "Success", "Success", pluginJSON("Success", 0, "activated v7\n"+ssmReport+"\n"))
	}
	success := func(id string) fleet.Invocation {
		return fleet.Invocation{InstanceID: id, Status: fleet.StatusSuccess, ExitCode: 0, Output: "activated v7\n" + ssmReport + "\n",
			StartedAt: tStart, FinishedAt: tEnd}
	}
	pages := func(t *testing.T, command string, pages ...[]map[string]any) ssmReply {
		return func(op string, n int, body map[string]any) (int, string) {
			switch op {
			case "ListCommands":
				return 0, command
			case "ListCommandInvocations":
				resp := map[string]any{"CommandInvocations": pages[n-1]}
				if n < len(pages) {
					resp["NextToken"] = fmt.Sprintf("token-%d", n+1)
				}
				return 0, jsonOf(t, resp)
			}
			return 400, `{"__type":"InvalidAction","message":"unexpected ` + op + `"}`
		}
	}
	healthFailed := "health check failed\n" + `{"action":"activate","version":"v7","error":"health","exit_code":6}` + "\n"
	tests := []struct {
		name      string
		commandID string
		reply     func(t *testing.T) ssmReply
		want      fleet.CommandResult
		wantErr   error
		wantOps   []string
		check     func(t *testing.T, calls []ssmCall)
	}{
		{
			name:      "three pages, every kind of status",
			commandID: c1,
			reply: func(t *testing.T) ssmReply {
				return pages(t, commandJSON(c1, "InProgress", "i-1", "i-2", "i-3", "i-4", "i-5", "i-6", "i-7"),
					[]map[string]any{ok("i-1"),
						invocationJSON(c1, "i-2", "Failed", "Failed", pluginJSON("Failed", 6, healthFailed))},
					[]map[string]any{
						invocationJSON(c1, "i-3", "TimedOut", "Delivery Timed Out", pluginJSON("Pending", -1, "")),
						invocationJSON(c1, "i-4", "TimedOut", "Execution Timed Out", pluginJSON("TimedOut", -1, "unpacking\n"))},
					[]map[string]any{
						invocationJSON(c1, "i-5", "Failed", "Undeliverable"),
						invocationJSON(c1, "i-7", "InProgress", "In Progress", pluginJSON("InProgress", -1, "")),
						invocationJSON(c1, "i-6", "Pending", "Pending")},
				)
			},
			want: fleet.CommandResult{CommandID: c1, Status: fleet.StatusInProgress, Invocations: []fleet.Invocation{
				success("i-1"),
				{InstanceID: "i-2", Status: fleet.StatusFailed, ExitCode: 6, Output: healthFailed, StartedAt: tStart, FinishedAt: tEnd},
				{InstanceID: "i-3", Status: fleet.StatusDeliveryTimedOut, ExitCode: -1},
				{InstanceID: "i-4", Status: fleet.StatusTimedOut, ExitCode: -1, Output: "unpacking\n"},
				{InstanceID: "i-5", Status: fleet.StatusUndeliverable, ExitCode: -1},
				{InstanceID: "i-6", Status: fleet.StatusPending, ExitCode: -1},
				{InstanceID: "i-7", Status: fleet.StatusInProgress, ExitCode: -1},
			}},
			wantOps: []string{"ListCommands", "ListCommandInvocations", "ListCommandInvocations", "ListCommandInvocations"},
			check: func(t *testing.T, calls []ssmCall) {
				if diff := cmp.Diff(map[string]any{"CommandId": c1}, calls[0].Body); diff != "" {
					t.Errorf("ListCommands request mismatch (-want +got):\n%s", diff)
				}
				for i, want := range []map[string]any{
					{"CommandId": c1, "Details": true, "MaxResults": 50.0},
					{"CommandId": c1, "Details": true, "MaxResults": 50.0, "NextToken": "token-2"},
					{"CommandId": c1, "Details": true, "MaxResults": 50.0, "NextToken": "token-3"},
				} {
					if diff := cmp.Diff(want, calls[i+1].Body); diff != "" {
						t.Errorf("ListCommandInvocations request %d mismatch (-want +got):\n%s", i+1, diff)
					}
				}
			},
		},
		{
			name:      "DeliveryTimedOut fails the command even though SSM does not count it",
			commandID: c1,
			reply: func(t *testing.T) ssmReply {
				return pages(t, commandJSON(c1, "Success", "i-1", "i-2"), []map[string]any{ok("i-1"),
					invocationJSON(c1, "i-2", "TimedOut", "Delivery Timed Out", pluginJSON("Pending", -1, ""))})
			},
			want: fleet.CommandResult{CommandID: c1, Status: fleet.StatusFailed, Invocations: []fleet.Invocation{
				success("i-1"), {InstanceID: "i-2", Status: fleet.StatusDeliveryTimedOut, ExitCode: -1},
			}},
			wantOps: []string{"ListCommands", "ListCommandInvocations"},
		},
		{
			name:      "every instance succeeded",
			commandID: c1,
			reply: func(t *testing.T) ssmReply {
				return pages(t, commandJSON(c1, "Success", "i-2", "i-1"), []map[string]any{ok("i-1"), ok("i-2")})
			},
			want: fleet.CommandResult{CommandID: c1, Status: fleet.StatusSuccess, Invocations: []fleet.Invocation{
				success("i-2"), success("i-1"), // the command's order
			}},
			wantOps: []string{"ListCommands", "ListCommandInvocations"},
		},
		{
			name:      "Success with a step that exited non-zero is a failure",
			commandID: c1,
			reply: func(t *testing.T) ssmReply {
				return pages(t, commandJSON(c1, "Success", "i-1"),
					[]map[string]any{invocationJSON(c1, "i-1", "Success", "Success", pluginJSON("Success", 3, "checksum\n"))})
			},
			want: fleet.CommandResult{CommandID: c1, Status: fleet.StatusFailed, Invocations: []fleet.Invocation{
				{InstanceID: "i-1", Status: fleet.StatusFailed, ExitCode: 3, Output: "checksum\n", StartedAt: tStart, FinishedAt: tEnd},
			}},
			wantOps: []string{"ListCommands", "ListCommandInvocations"},
		},
		{
			name:      "an invocation not listed yet is pending",
			commandID: c1,
			reply: func(t *testing.T) ssmReply {
				return pages(t, commandJSON(c1, "InProgress", "i-1", "i-2"), []map[string]any{ok("i-1")})
			},
			want: fleet.CommandResult{CommandID: c1, Status: fleet.StatusInProgress, Invocations: []fleet.Invocation{
				success("i-1"), {InstanceID: "i-2", Status: fleet.StatusPending, ExitCode: -1},
			}},
			wantOps: []string{"ListCommands", "ListCommandInvocations"},
		},
		{
			name:      "an invocation missing from a finished command is undeliverable",
			commandID: c1,
			reply: func(t *testing.T) ssmReply {
				return pages(t, commandJSON(c1, "Failed", "i-1", "i-2"), []map[string]any{ok("i-1")})
			},
			want: fleet.CommandResult{CommandID: c1, Status: fleet.StatusFailed, Invocations: []fleet.Invocation{
				success("i-1"), {InstanceID: "i-2", Status: fleet.StatusUndeliverable, ExitCode: -1,
					Output: "ssm: command " + c1 + " ended Failed without an invocation on this instance\n"},
			}},
			wantOps: []string{"ListCommands", "ListCommandInvocations"},
		},
		{
			name:      "a composite ID reads every part",
			commandID: c1 + "," + c2,
			reply: func(t *testing.T) ssmReply {
				return func(op string, n int, body map[string]any) (int, string) {
					if op == "ListCommands" {
						if body["CommandId"] == c1 {
							return 0, commandJSON(c1, "Success", "i-1")
						}
						return 0, commandJSON(c2, "Success", "i-2")
					}
					inv := ok("i-1")
					if body["CommandId"] == c2 {
						inv = invocationJSON(c2, "i-2", "Cancelled", "Cancelled", pluginJSON("Cancelled", -1, ""))
					}
					return 0, jsonOf(t, map[string]any{"CommandInvocations": []any{inv}})
				}
			},
			want: fleet.CommandResult{CommandID: c1 + "," + c2, Status: fleet.StatusFailed, Invocations: []fleet.Invocation{
				success("i-1"), {InstanceID: "i-2", Status: fleet.StatusCancelled, ExitCode: -1},
			}},
			wantOps: []string{"ListCommands", "ListCommandInvocations", "ListCommands", "ListCommandInvocations"},
		},
		{
			name:      "throttled once, then answered",
			commandID: c1,
			reply: func(t *testing.T) ssmReply {
				inner := pages(t, commandJSON(c1, "Success", "i-1"), []map[string]any{ok("i-1")})
				return func(op string, n int, body map[string]any) (int, string) {
					if op == "ListCommandInvocations" && n == 1 {
						return 400, throttled
					}
					if op == "ListCommandInvocations" {
						n--
					}
					return inner(op, n, body)
				}
			},
			want:    fleet.CommandResult{CommandID: c1, Status: fleet.StatusSuccess, Invocations: []fleet.Invocation{success("i-1")}},
			wantOps: []string{"ListCommands", "ListCommandInvocations", "ListCommandInvocations"},
		},
		{
			name:      "an unknown command",
			commandID: c1,
			reply: func(t *testing.T) ssmReply {
				return func(string, int, map[string]any) (int, string) { return 400, invalidCommand }
			},
			wantErr: fleet.ErrUnknownCommand,
			wantOps: []string{"ListCommands"},
		},
		{
			name:      "an empty part of an ID",
			commandID: c1 + ",",
			reply: func(t *testing.T) ssmReply {
				return pages(t, commandJSON(c1, "Success", "i-1"), []map[string]any{ok("i-1")})
			},
			wantErr: fleet.ErrUnknownCommand,
			wantOps: []string{"ListCommands", "ListCommandInvocations"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSSMServer(t, tt.reply(t))
			got, err := srv.fleet().Status(ctx, tt.commandID)
			if tt.wantErr != nil {
				requireIs(t, err, tt.wantErr)
			} else if err != nil {
				t.Fatalf("Status() = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Status() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOps, srv.Ops()); diff != "" {
				t.Errorf("operations mismatch (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, srv.Calls())
			}
		})
	}
}

func TestSSMStatusTruncatedOutput(t *testing.T) {
	ctx := context.Background()
	const cmdID = "c1c1c1c1-0000-4000-8000-000000000001"
	head := strings.Repeat("x", 2500-len("\n---Output truncated---"))
	cut := head + "\n---Output truncated---"
	full := head + strings.Repeat("y", 3000) + "\n" + ssmReport + "\n"
	tests := []struct {
		name       string
		getReply   func(n int) (int, string)
		wantOutput string // exact, or
		wantPrefix string // with wantSuffix, the parts around an SDK error text
		wantSuffix string
		wantGets   int
	}{
		{
			name: "the full output is read once",
			getReply: func(int) (int, string) {
				return 0, jsonOf(t, map[string]any{"CommandId": cmdID, "InstanceId": "i-1", "PluginName": "runHostScript",
					"ResponseCode": 0, "Status": "Success", "StatusDetails": "Success",
					"StandardOutputContent": full, "StandardErrorContent": "warning: slow disk\n"})
			},
			wantOutput: full + "\n----------ERROR-------\nwarning: slow disk\n",
			wantGets:   1,
		},
		{
			name:       "a failed read keeps the cut output and says where the rest is",
			getReply:   func(int) (int, string) { return 400, `{"__type":"InvocationDoesNotExist"}` },
			wantPrefix: cut + "\nslipway: output incomplete (read full output: get invocation of " + cmdID + " on i-1: operation error SSM: GetCommandInvocation",
			wantSuffix: "InvocationDoesNotExist: ); all of it is under s3://slipway-output/runs/\n",
			wantGets:   2, // not cached: the next Status tries again
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSSMServer(t, func(op string, n int, body map[string]any) (int, string) {
				switch op {
				case "ListCommands":
					return 0, commandJSON(cmdID, "Success", "i-1")
				case "ListCommandInvocations":
					return 0, jsonOf(t, map[string]any{"CommandInvocations": []any{
						invocationJSON(cmdID, "i-1", "Success", "Success", pluginJSON("Success", 0, cut))}})
				case "GetCommandInvocation":
					want := map[string]any{"CommandId": cmdID, "InstanceId": "i-1", "PluginName": "runHostScript"}
					if diff := cmp.Diff(want, body); diff != "" {
						t.Errorf("GetCommandInvocation request mismatch (-want +got):\n%s", diff)
					}
					return tt.getReply(n)
				}
				return 400, `{"__type":"InvalidAction"}`
			})
			f := srv.fleet()
			f.OutputBucket, f.OutputPrefix = "slipway-output", "runs/"
			for range 2 {
				got, err := f.Status(ctx, cmdID)
				if err != nil {
					t.Fatalf("Status() = %v", err)
				}
				out := got.Invocations[0].Output
				if tt.wantPrefix != "" {
					if !strings.HasPrefix(out, tt.wantPrefix) || !strings.HasSuffix(out, tt.wantSuffix) {
						t.Errorf("Status() output = %q, want %q ... %q", out, tt.wantPrefix, tt.wantSuffix)
					}
				} else if diff := cmp.Diff(tt.wantOutput, out); diff != "" {
					t.Errorf("Status() output mismatch (-want +got):\n%s", diff)
				}
			}
			gets := 0
			for _, op := range srv.Ops() {
				if op == "GetCommandInvocation" {
					gets++
				}
			}
			if gets != tt.wantGets {
				t.Errorf("GetCommandInvocation calls = %d, want %d", gets, tt.wantGets)
			}
		})
	}
}

// BenchmarkSSMStatus1000 reads a 1,000-instance command, 50 invocations a
// page, through the SDK and the test server.
func BenchmarkSSMStatus1000(b *testing.B) {
	const cmdID = "c1c1c1c1-0000-4000-8000-000000000001"
	const instances, pageSize = 1000, 50
	ids := make([]string, instances)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-%017x", i)
	}
	command := commandJSON(cmdID, "Success", ids...)
	var pages []string
	for start := 0; start < instances; start += pageSize {
		var invs []any
		for _, id := range ids[start : start+pageSize] {
			invs = append(invs, invocationJSON(cmdID, id, "Success", "Success", pluginJSON("Success", 0, "activated v7\n"+ssmReport+"\n")))
		}
		resp := map[string]any{"CommandInvocations": invs}
		if start+pageSize < instances {
			resp["NextToken"] = fmt.Sprint("token-", start+pageSize)
		}
		pages = append(pages, jsonOf(b, resp))
	}
	page := map[string]string{"": pages[0]}
	for i := 1; i < len(pages); i++ {
		page[fmt.Sprint("token-", i*pageSize)] = pages[i]
	}
	srv := newSSMServer(b, func(op string, n int, body map[string]any) (int, string) {
		if op == "ListCommands" {
			return 0, command
		}
		token, _ := body["NextToken"].(string)
		return 0, page[token]
	})
	f := srv.fleet()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := f.Status(ctx, cmdID)
		if err != nil || len(res.Invocations) != instances || res.Status != fleet.StatusSuccess {
			b.Fatalf("Status() = %d invocations, %s, %v", len(res.Invocations), res.Status, err)
		}
	}
}
