package history

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestHistoryGolden(t *testing.T) {
	f := backendtest.New(t)
	backendtest.Seed(t, f)
	tests := []struct {
		name string
		opts Options
	}{
		{"all.txt.golden", Options{Limit: 20}},
		{"all.json.golden", Options{Limit: 20, JSON: true}},
		{"staging.txt.golden", Options{Env: "staging", Limit: 20}},
		{"staging-limit-1.json.golden", Options{Env: "staging", Limit: 1, JSON: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, out, _ := backendtest.IO()
			opts := tt.opts
			opts.IO, opts.Backend = io, f.Open
			if err := run(context.Background(), &opts); err != nil {
				t.Fatalf("history: %v", err)
			}
			backendtest.Golden(t, tt.name, out.Bytes(), *update)
		})
	}
}

func TestHistoryEmpty(t *testing.T) {
	f := backendtest.New(t)
	io, out, _ := backendtest.IO()
	if err := run(context.Background(), &Options{IO: io, Backend: f.Open, Env: "production"}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "no deployments of shop to production yet\n"; got != want {
		t.Errorf("history of nothing = %q, want %q", got, want)
	}
}

// TestHistoryConfigGolden: deployments with a configuration get a CONFIG
// column (fingerprint, the keys changed) and a "config" object in JSON;
// one without shows "-".
func TestHistoryConfigGolden(t *testing.T) {
	f := backendtest.New(t)
	ctx := context.Background()
	at := backendtest.T0
	for i, d := range []ledger.Deployment{
		{ID: "staging-c0", Version: "c0"},
		{ID: "staging-c1", Version: "c1", Config: &contract.ConfigPrint{Fingerprint: "hmac-sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f0", Keys: map[string]string{"GREETING": "aa", "API_TOKEN": "bb"}}},
		{ID: "staging-c2", Version: "c2", Config: &contract.ConfigPrint{Fingerprint: "hmac-sha256:1234abcd00000000000000000000ffff", Keys: map[string]string{"GREETING": "cc", "API_TOKEN": "bb"},
			Previous: "hmac-sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f0", Changed: []string{"GREETING"}}},
	} {
		d.App, d.Environment, d.Kind, d.Status = "shop", "staging", contract.KindDeploy, contract.StatusSucceeded
		d.StartedAt, d.FinishedAt = at.Add(time.Duration(i)*time.Minute), at.Add(time.Duration(i)*time.Minute+3*time.Second)
		d.SchemaBefore, d.SchemaAfter = -1, -1
		if err := f.Store.PutDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name string
		json bool
	}{{"config.txt.golden", false}, {"config.json.golden", true}} {
		t.Run(tt.name, func(t *testing.T) {
			io, out, _ := backendtest.IO()
			if err := run(ctx, &Options{IO: io, Backend: f.Open, Env: "staging", Limit: 20, JSON: tt.json}); err != nil {
				t.Fatalf("history: %v", err)
			}
			backendtest.Golden(t, tt.name, out.Bytes(), *update)
		})
	}
}
