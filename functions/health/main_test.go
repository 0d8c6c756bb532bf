package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/lambdaenv/lambdaenvtest"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// TestOperations runs the function's handler, as main wires it, through
// every scenario and one of its own (a failing smoke check whose answer
// carries secret values: they are read from SSM and Secrets Manager and
// redacted) and checks the AWS calls it makes against its operations
// file (go test -update rewrites it), which the infra module checks
// against the function's IAM role.
func TestOperations(t *testing.T) {
	redacted := lambdaenvtest.Scenario{Name: "a smoke answer's secret values are redacted", Run: func(ctx context.Context, t *testing.T, w *lambdaenvtest.World, invoke func([]byte) ([]byte, error)) {
		led := w.Ledger(t)
		const id = "smoke-redaction"
		if err := led.PutDeployment(ctx, ledger.Deployment{ID: id, App: lambdaenvtest.App, Environment: "staging", Version: "v3", Kind: contract.KindDeploy,
			Status: contract.StatusRunning, StartedAt: time.Now(), SchemaBefore: -1, SchemaAfter: -1}); err != nil {
			t.Fatal(err)
		}
		in := contract.HealthInput{Action: contract.HealthSmoke, DeploymentID: id, App: lambdaenvtest.App, Environment: "staging", Endpoint: w.AppURL(),
			Health: contract.HealthSpec{Path: "/healthz", ExpectStatus: 200,
				Smoke:  []contract.SmokeCheck{{Name: "who am I", Method: "GET", Path: "/whoami", ExpectStatus: 200, BodyContains: `"user":"admin"`, MaxLatencyMS: 5000}},
				Redact: []string{"secret:demo/staging/api#token", "ssm:/demo/staging/greeting"}}}
		payload, _ := json.Marshal(in)
		out, invokeErr := invoke(payload)
		if invokeErr == nil || !strings.Contains(invokeErr.Error(), "who am I") {
			t.Fatalf("health smoke = %s, %v; want the check failed", out, invokeErr)
		}
		steps, err := led.Steps(ctx, id)
		if err != nil || len(steps) == 0 {
			t.Fatalf("steps = %v, %v", steps, err)
		}
		b, _ := json.Marshal(steps)
		rec := string(b) + invokeErr.Error()
		for _, secret := range []string{"t-staging", "hello staging"} {
			if strings.Contains(rec, secret) {
				t.Errorf("the ledger shows a secret value %q: %s", secret, rec)
			}
		}
		if !strings.Contains(rec, "deploy-bot") || !strings.Contains(rec, "[redacted") {
			t.Errorf("the step does not show the answer with its secrets redacted: %s", rec)
		}
	}}
	lambdaenvtest.Operations(t, "health", func(env *lambdaenv.Env) (any, error) {
		h, err := handler(env)
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	}, redacted)
}
