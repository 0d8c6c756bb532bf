package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/github"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/lambdaenv/lambdaenvtest"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

// TestOperations runs the function's handler, as main wires it, through
// every scenario (for a function behind a Function URL: the requests
// under events/github, each delivered twice) and checks the AWS calls it
// makes against its operations file (go test -update rewrites it), which
// the infra module checks against the function's IAM role. Its own
// scenario checks what reached EventBridge: the sample push, once, and
// that the push router deploys that event.
func TestOperations(t *testing.T) {
	lambdaenvtest.Operations(t, "github-webhook", func(env *lambdaenv.Env) (any, error) {
		h, err := handler(env)
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	}, lambdaenvtest.Scenario{Name: "one push reaches the push router", Run: func(ctx context.Context, t *testing.T, w *lambdaenvtest.World, invoke func([]byte) ([]byte, error)) {
		put := w.PutEvents()
		if len(put) != 2 {
			t.Fatalf("%d events put on EventBridge, want 2: push.json and push-base64.json, once each (%v)", len(put), put)
		}
		for _, e := range put {
			var d trigger.GitPush
			if err := json.Unmarshal([]byte(e["Detail"].(string)), &d); err != nil {
				t.Fatal(err)
			}
			want := trigger.GitPush{Repository: "demo", Branch: "main", Commit: lambdaenvtest.PushCommit, Pusher: "ada", App: lambdaenvtest.App,
				CommittedAt: time.Date(2026, 11, 26, 1, 24, 41, 0, time.UTC)}
			if diff := cmp.Diff(want, d); diff != "" || e["Source"] != "slipway.git" || e["DetailType"] != "Git Push" {
				t.Errorf("event %v: detail (-want +got):\n%s", e, diff)
			}
		}
		// The ping answers 200 through the Lambda runtime's encoding.
		b, err := os.ReadFile(filepath.Join(lambdaenvtest.RepoRoot(t), "events", "github", "ping.json"))
		if err != nil {
			t.Fatal(err)
		}
		out, err := invoke(b)
		var resp events.LambdaFunctionURLResponse
		if err != nil || json.Unmarshal(out, &resp) != nil || resp.StatusCode != 200 {
			t.Errorf("ping: %s, %v; want status 200", out, err)
		}
	}}, lambdaenvtest.Scenario{Name: "a push EventBridge refuses is forwarded on redelivery", Run: func(ctx context.Context, t *testing.T, w *lambdaenvtest.World, invoke func([]byte) ([]byte, error)) {
		body := `{"ref":"refs/heads/main","after":"` + lambdaenvtest.PushCommit + `","repository":{"name":"demo","full_name":"acme/demo"},"pusher":{"name":"ada"}}`
		req, _ := json.Marshal(events.LambdaFunctionURLRequest{Body: body, Headers: map[string]string{
			"content-type": "application/json", "x-github-event": "push", "x-github-delivery": "c0ffee00-ab8f-11f1-8000-000000000001",
			"x-hub-signature-256": github.Sign([]byte(lambdaenvtest.GitHubWebhookSecret), []byte(body))}})
		before := len(w.PutEvents())
		w.FailPutEvents(1)
		var statuses []int
		for range 2 {
			out, err := invoke(req)
			var resp events.LambdaFunctionURLResponse
			if err != nil || json.Unmarshal(out, &resp) != nil {
				t.Fatalf("invoke: %s, %v", out, err)
			}
			statuses = append(statuses, resp.StatusCode)
		}
		if diff := cmp.Diff([]int{502, 202}, statuses); diff != "" {
			t.Errorf("the delivery, then its redelivery: statuses (-want +got):\n%s", diff)
		}
		if got := len(w.PutEvents()) - before; got != 1 {
			t.Errorf("%d events put, want 1", got)
		}
	}})
}
