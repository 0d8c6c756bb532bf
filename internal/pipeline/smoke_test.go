package pipeline_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// TestSmokeChecks: once a wave is healthy its instances get the smoke
// checks; a failure is SmokeCheckFailed, and neither the error nor the
// ledger step holds a configuration secret the app leaked in its answer.
// The smoke action runs them through the load balancer's endpoint.
func TestSmokeChecks(t *testing.T) {
	const sentinel = "s3ntinel-smoke-7f1"
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer good.Close()
	leaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte(`{"status":"error","token":"` + sentinel + `"}`))
	}))
	defer leaky.Close()
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	file := &secret.File{Path: filepath.Join(t.TempDir(), "secrets.json")}
	if err := file.Put("demo/staging/token", sentinel); err != nil {
		t.Fatal(err)
	}
	spec := contract.HealthSpec{Path: "/healthz", ExpectStatus: 200, Successes: 1, MaxAttempts: 2,
		Smoke:  []contract.SmokeCheck{{Name: "orders", Method: "GET", Path: "/api/orders", ExpectStatus: 200, JSON: map[string]json.RawMessage{"status": json.RawMessage(`"ok"`)}, MaxLatencyMS: 2000}},
		Redact: []string{"secret:demo/staging/token"}}
	tests := []struct {
		name      string
		action    string
		endpoint  string
		where     string
		noStore   bool // no configuration store: the secrets are unknown
		wantErr   string
		wantInMsg []string
	}{
		{name: "every instance passes", action: contract.HealthProbe, wantInMsg: []string{"wave 1: 1 smoke check passed on 2 instances"}},
		{name: "one instance fails", action: contract.HealthProbe, wantErr: "SmokeCheckFailed",
			wantInMsg: []string{`wave 1: 1 smoke check of 2 failed: "orders" on b: GET ` + leaky.URL + `/api/orders answered HTTP 500`, `[redacted secret:demo/staging/token]`, `expected status 200, status = "ok", within 2s (status 500, want 200; status = "error", want "ok")`}},
		{name: "secrets unknown: the answer is withheld", action: contract.HealthProbe, noStore: true, wantErr: "SmokeCheckFailed",
			wantInMsg: []string{`answered HTTP 500 in `, `"[withheld: the configuration's secret values could not be read to redact it]"; expected status 200`}},
		{name: "through the load balancer", action: contract.HealthSmoke, endpoint: good.URL + "/", wantInMsg: []string{"through the load balancer " + good.URL + "/: 1 smoke check passed"}},
		{name: "on a blue/green idle side", action: contract.HealthSmokeInstances, where: "the green side, before any traffic",
			wantInMsg: []string{"the green side, before any traffic: 1 smoke check passed on 2 instances"}},
		{name: "on a blue/green idle side that fails", action: contract.HealthSmokeInstances, where: "the green side, before any traffic", wantErr: "SmokeCheckFailed",
			wantInMsg: []string{`the green side, before any traffic: 1 smoke check of 2 failed: "orders" on b: GET ` + leaky.URL + `/api/orders answered HTTP 500`}},
		{name: "through a failing load balancer", action: contract.HealthSmoke, endpoint: leaky.URL, wantErr: "SmokeCheckFailed",
			wantInMsg: []string{`through the load balancer ` + leaky.URL + `: 1 smoke check of 1 failed: "orders" on load balancer`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good
			if tt.wantErr != "" {
				b = leaky
			}
			f := &pipelinetest.Fleet{ByEnv: map[string][]fleet.Instance{"staging": {{ID: "a", Address: addr(good)}, {ID: "b", Address: addr(b)}}}}
			d, led := deps(t, f)
			d.Prober = &pipelinetest.Prober{}
			d.Alarms = &pipelinetest.Alarms{}
			if !tt.noStore {
				d.ConfigStore = &appconfig.File{Secrets: file}
			}
			h := &pipeline.Health{Deps: d}
			in := contract.HealthInput{Action: tt.action, DeploymentID: "dep-1", App: "demo", Environment: "staging",
				InstanceIDs: []string{"a", "b"}, Waves: [][]string{{"a", "b"}}, ExpectedVersion: "v2", Health: spec, Endpoint: tt.endpoint, Where: tt.where}
			out, err := h.Handle(context.Background(), in)
			if name := errorName(err); name != tt.wantErr {
				t.Fatalf("Handle error = %v (%s), want %q", err, name, tt.wantErr)
			}
			if err == nil && out.Status != contract.ProbeHealthy {
				t.Errorf("Handle status = %s, want %s", out.Status, contract.ProbeHealthy)
			}
			steps, _ := led.Steps(context.Background(), "dep-1")
			var all []string
			for _, s := range steps {
				all = append(all, s.Message+" "+string(s.Detail))
			}
			text := strings.Join(all, "\n")
			if err != nil {
				text += "\n" + err.Error()
			}
			for _, w := range tt.wantInMsg {
				if !strings.Contains(text, w) {
					t.Errorf("steps and error do not say %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, sentinel) {
				t.Errorf("a step or the error holds the secret value:\n%s", text)
			}
		})
	}
}
