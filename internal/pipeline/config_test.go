package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/report"
	"github.com/slipway-deploy/slipway/internal/secret"
)

func TestServingConfig(t *testing.T) {
	p1 := &contract.ConfigPrint{Fingerprint: "hmac-sha256:1"}
	p2 := &contract.ConfigPrint{Fingerprint: "hmac-sha256:2"}
	p3 := &contract.ConfigPrint{Fingerprint: "hmac-sha256:3"}
	dep := func(id, status, kind string, p *contract.ConfigPrint) ledger.Deployment {
		return ledger.Deployment{ID: id, Version: id, PreviousVersion: "x", Status: status, Kind: kind, Config: p}
	}
	tests := []struct {
		name   string
		ds     []ledger.Deployment // newest first
		wantOK bool
		want   *contract.ConfigPrint
	}{
		{name: "nothing deployed"},
		{name: "succeeded", ds: []ledger.Deployment{dep("d2", contract.StatusSucceeded, contract.KindDeploy, p2), dep("d1", contract.StatusSucceeded, contract.KindDeploy, p1)}, wantOK: true, want: p2},
		{name: "rolled back: what it replaced", ds: []ledger.Deployment{dep("d3", contract.StatusRolledBack, contract.KindDeploy, p3), dep("d2", contract.StatusFailed, contract.KindDeploy, p2), dep("d1", contract.StatusSucceeded, contract.KindDeploy, p1)}, wantOK: true, want: p1},
		{name: "a rollback execution: what it restored", ds: []ledger.Deployment{dep("r1", contract.StatusRolledBack, contract.KindRollback, p1), dep("d2", contract.StatusSucceeded, contract.KindDeploy, p2)}, wantOK: true, want: p1},
		{name: "served without configuration", ds: []ledger.Deployment{dep("d1", contract.StatusSucceeded, contract.KindDeploy, nil)}, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, got := ServingConfig(tt.ds)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("ServingConfig() = %v, %+v; want %v, %+v", ok, got, tt.wantOK, tt.want)
			}
		})
	}
}

// TestConfigPrint checks Preflight's configuration check: the print of
// what serves is read from the ledger, the keys changed since are named,
// and a missing variable is refused naming it, never with a value.
func TestConfigPrint(t *testing.T) {
	const sentinel = "s3ntinel-Preflight-2c9"
	ctx := context.Background()
	file := &secret.File{Path: filepath.Join(t.TempDir(), "secrets.json")}
	for k, v := range map[string]string{appconfig.KeySecretName("demo"): "0123456789abcdef0123456789abcdef", "demo/staging/token": sentinel} {
		if err := file.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	h := &Preflight{Deps: &Deps{ConfigStore: &appconfig.File{Secrets: file}}}
	m, err := manifest.Parse([]byte(`app: demo
service: {start: bin/app}
config:
  GREETING: {default: hello}
  TOKEN: {secret: true, values: {staging: "secret:demo/staging/token"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	first, err := h.configPrint(ctx, m, "staging", nil)
	if err != nil || first == nil || len(first.Keys) != 2 || first.Previous != "" || len(first.Changed) != 0 {
		t.Fatalf("configPrint(first deployment) = %+v, %v; want a print, nothing changed", first, err)
	}
	served := []ledger.Deployment{{ID: "d1", Kind: contract.KindDeploy, Status: contract.StatusSucceeded, Version: "v1", Config: first}}
	same, _ := h.configPrint(ctx, m, "staging", served)
	if same.Fingerprint != first.Fingerprint || same.Previous != first.Fingerprint || len(same.Changed) != 0 {
		t.Errorf("configPrint(same values) = %+v, want the same fingerprint, Previous it, nothing changed", same)
	}
	if err := file.Put("demo/staging/token", sentinel+"-rotated"); err != nil {
		t.Fatal(err)
	}
	m.Config["ADDED"] = manifest.Variable{Values: map[string]string{"staging": "1"}}
	delete(m.Config, "GREETING")
	next, _ := h.configPrint(ctx, m, "staging", served)
	if d := cmp.Diff([]string{"ADDED", "GREETING", "TOKEN"}, next.Changed); d != "" || next.Previous != first.Fingerprint || next.Fingerprint == first.Fingerprint {
		t.Errorf("configPrint(rotated, added, removed) = %+v; changed (-want +got):\n%s", next, d)
	}

	m.Config["MISSING"] = manifest.Variable{Values: map[string]string{"production": "x"}}
	_, err = h.configPrint(ctx, m, "staging", served)
	var pf *contract.PreflightFailed
	if !errors.As(err, &pf) || !strings.Contains(pf.Message, "MISSING: required, and no value for staging") || !strings.Contains(pf.Message, "slipway config check --env staging") {
		t.Errorf("configPrint(missing) = %v, want PreflightFailed naming MISSING", err)
	}
	if err != nil && strings.Contains(err.Error(), sentinel) {
		t.Errorf("the refusal shows a value: %v", err)
	}
}

func TestDeclarationChanges(t *testing.T) {
	parse := func(s string) *manifest.Manifest {
		m, err := manifest.Parse([]byte("app: demo\nservice: {start: bin/app}\nconfig:\n" + s))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	before := parse(`  GONE: {default: x}
  LEVEL: {default: info, values: {production: warn}}
  TOKEN: {secret: true, values: {staging: "secret:a", production: "secret:b"}}
  SAME: {values: {staging: "1"}}
`)
	after := parse(`  NEW: {required: false}
  LEVEL: {default: debug, values: {production: warn, staging: info}}
  TOKEN: {secret: true, values: {staging: "secret:a", production: "secret:c"}}
  SAME: {values: {staging: "1"}}
`)
	want := []report.ConfigDeclaration{
		{Name: "GONE", Change: "removed"},
		{Name: "LEVEL", Change: "changed", Environments: []string{"staging", "default"}},
		{Name: "NEW", Change: "added"},
		{Name: "TOKEN", Change: "changed", Environments: []string{"production"}},
	}
	if d := cmp.Diff(want, DeclarationChanges(before, after)); d != "" {
		t.Errorf("DeclarationChanges() (-want +got):\n%s", d)
	}
}

// TestPlanConfig checks the plan's configuration section against the
// print the serving deployment recorded in a real ledger.
func TestPlanConfig(t *testing.T) {
	ctx := context.Background()
	led, err := ledgersqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	served := &contract.ConfigPrint{Fingerprint: "hmac-sha256:old", Keys: map[string]string{"A": "1", "B": "2", "C": "3"}}
	if err := led.PutDeployment(ctx, ledger.Deployment{ID: "d1", App: "demo", Environment: "staging", Version: "v1", Kind: contract.KindDeploy,
		Status: contract.StatusSucceeded, StartedAt: time.Now(), FinishedAt: time.Now(), Config: served, SchemaBefore: -1, SchemaAfter: -1}); err != nil {
		t.Fatal(err)
	}
	next := &contract.ConfigPrint{Fingerprint: "hmac-sha256:new", Previous: "hmac-sha256:old", Keys: map[string]string{"A": "1", "B": "9", "D": "4"}, Changed: []string{"B", "C", "D"}}
	got := planConfig(ctx, &Deps{Ledger: led}, "demo", "staging", next, "", nil)
	want := &report.ConfigChange{Fingerprint: "hmac-sha256:new", Previous: "hmac-sha256:old", Keys: []string{"A", "B", "D"},
		Added: []string{"D"}, Removed: []string{"C"}, Changed: []string{"B"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("planConfig() (-want +got):\n%s", d)
	}
}
