package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/lambdaenv/lambdaenvtest"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

// TestOperations runs the function's handler, as main wires it, through
// every scenario and checks the AWS calls it makes against its operations
// file (go test -update rewrites it), which the infra module checks
// against the function's IAM role. The handler polls and heartbeats at
// every wait here; in the extra scenario the launched instance's agent
// registers late, so the handler waits for it and sends the heartbeats
// its role must allow.
func TestOperations(t *testing.T) {
	var lc *pipeline.Lifecycle
	launch := func(t *testing.T) []byte {
		payload, err := os.ReadFile(filepath.Join(lambdaenvtest.RepoRoot(t), "events", "autoscaling", "launch-staging.json"))
		if err != nil {
			t.Fatal(err)
		}
		return payload
	}
	lambdaenvtest.Operations(t, "lifecycle", func(env *lambdaenv.Env) (any, error) {
		h, err := handler(env)
		if err != nil {
			return nil, err
		}
		h.Poll, h.Heartbeat = 10*time.Millisecond, time.Nanosecond
		lc = h
		return h.Handle, nil
	}, lambdaenvtest.Scenario{Name: "agent registers late", Run: func(ctx context.Context, t *testing.T, w *lambdaenvtest.World, invoke func([]byte) ([]byte, error)) {
		payload := launch(t)
		before := len(w.Completed())
		w.Launching("i-00000000000000001", 3)
		out, err := invoke(payload)
		if err != nil || !strings.Contains(string(out), `"action":"CONTINUE"`) {
			t.Fatalf("lifecycle = %s, %v; want CONTINUE once the agent registers", out, err)
		}
		if got := w.Completed()[before:]; !slices.Equal(got, []string{"i-00000000000000001 CONTINUE"}) {
			t.Errorf("completed %q, want the launch continued once", got)
		}
	}}, lambdaenvtest.Scenario{Name: "launch in production", Run: func(ctx context.Context, t *testing.T, w *lambdaenvtest.World, invoke func([]byte) ([]byte, error)) {
		// The production group's launch gets production's release (v1:
		// the rollback after bg3 switched back to blue, kept warm on v1;
		// bg2 was switched back too), once its agent registers.
		w.Launching("i-00000000000000004", 2)
		payload := strings.NewReplacer("demo-staging", "demo-production", "i-00000000000000001", "i-00000000000000004").Replace(string(launch(t)))
		before := len(w.Completed())
		out, err := invoke([]byte(payload))
		if err != nil || !strings.Contains(string(out), `"action":"CONTINUE"`) || !strings.Contains(string(out), `"version":"v1"`) {
			t.Fatalf("lifecycle = %s, %v; want CONTINUE on v1", out, err)
		}
		if got := w.Completed()[before:]; !slices.Equal(got, []string{"i-00000000000000004 CONTINUE"}) {
			t.Errorf("completed %q, want the launch continued once", got)
		}
	}}, lambdaenvtest.Scenario{Name: "launch during a deployment", Run: func(ctx context.Context, t *testing.T, w *lambdaenvtest.World, invoke func([]byte) ([]byte, error)) {
		// A deployment of v2 (whose health check fails) has begun its
		// waves: the new instance joins it on v2, its result is recorded
		// with the deployment's, and, unhealthy, it is abandoned.
		id := w.Abandon(t, "staging", "deploy")
		lc.Wait = 2 * time.Second
		before := len(w.Completed())
		out, err := invoke(launch(t))
		if err != nil || !strings.Contains(string(out), `"action":"ABANDON"`) {
			t.Fatalf("lifecycle = %s, %v; want ABANDON (v2 is not healthy)", out, err)
		}
		if got := w.Completed()[before:]; !slices.Equal(got, []string{"i-00000000000000001 ABANDON"}) {
			t.Errorf("completed %q, want the launch abandoned once", got)
		}
		rs, err := w.Ledger(t).InstanceResults(ctx, id)
		if err != nil || !slices.ContainsFunc(rs, func(r ledger.InstanceResult) bool { return r.Wave == -1 && r.InstanceID == "i-00000000000000001" }) {
			t.Errorf("instance results of %s = %+v, %v; want the launched instance's activation", id, rs, err)
		}
	}})
}
