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
	}, redacted, canaryMetrics)
}

// canaryMetrics runs a canary analysis of one sample on the manifest's
// CloudWatch metrics: StartCanary and CheckCanary read them per instance
// (GetMetricData), and the ledger records the sample.
var canaryMetrics = lambdaenvtest.Scenario{Name: "a canary analysis reads CloudWatch metrics per instance", Run: func(ctx context.Context, t *testing.T, w *lambdaenvtest.World, invoke func([]byte) ([]byte, error)) {
	led := w.Ledger(t)
	const id = "canary-metrics"
	if err := led.PutDeployment(ctx, ledger.Deployment{ID: id, App: lambdaenvtest.App, Environment: "staging", Version: "v3", Kind: contract.KindDeploy,
		Status: contract.StatusRunning, StartedAt: time.Now(), SchemaBefore: -1, SchemaAfter: -1}); err != nil {
		t.Fatal(err)
	}
	spec := contract.CanarySpec{BakeSeconds: 1, IntervalSeconds: 1, Samples: 1, Confidence: 0.99, MinRequests: 50, Latency: true, LatencyIncrease: 0.2, LatencyMarginMS: 5,
		Metrics: &contract.CanaryMetrics{Namespace: "Demo", Dimension: "InstanceId", Requests: "Requests", Errors: "Errors5xx", Latency: "LatencyMs"}, Source: "CloudWatch Demo"}
	in := contract.HealthInput{Action: contract.HealthCanary, DeploymentID: id, App: lambdaenvtest.App, Environment: "staging",
		Waves: [][]string{{"i-00000000000000001"}, {"i-00000000000000002", "i-00000000000000003"}}, Canary: &spec}
	for range 2 {
		payload, _ := json.Marshal(in)
		b, err := invoke(payload)
		if err != nil {
			t.Fatalf("health canary: %v", err)
		}
		var out contract.HealthOutput
		if err := json.Unmarshal(b, &out); err != nil || out.Canary == nil {
			t.Fatalf("health canary answered %s (%v), want a cursor", b, err)
		}
		in.Previous = &out
	}
	if !in.Previous.Done {
		t.Errorf("after its one sample the analysis is not done: %+v", in.Previous)
	}
	steps, err := led.Steps(ctx, id)
	if err != nil || len(steps) != 2 {
		t.Fatalf("steps = %v, %v; want the start and the sample", steps, err)
	}
	if d, ok := contract.ParseCanaryDetail(steps[1].Detail); !ok || !d.Done {
		t.Errorf("the sample's step has no canary detail: %s", steps[1].Detail)
	}
}}
