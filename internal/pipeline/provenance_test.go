package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
	"github.com/slipway-deploy/slipway/internal/provenance"
)

// TestTestedGate: production takes only tested builds unless the manifest
// says require: none; any environment does when it says require: tested;
// the refusal names the rule and what is missing; the provenance is noted
// once; a plan notes the refusal as its gate and goes on.
func TestTestedGate(t *testing.T) {
	ctx := context.Background()
	sum := strings.Repeat("a", 64)
	passed := &provenance.Record{Version: "v2", SHA256: sum, Commit: "3f9a", Tests: &provenance.Tests{Passed: true, Total: 12, Source: "report.xml"}}
	failed := &provenance.Record{Version: "v2", SHA256: sum, Tests: &provenance.Tests{Passed: false, Total: 12, Failed: 1, Source: "report.xml", FailedNames: []string{"shop.TestPay"}}}
	for _, tt := range []struct {
		name, manifest, env string
		production          bool
		rec                 *provenance.Record
		refused             string // "" : admitted
	}{
		{name: "production, no record", env: "production", production: true, refused: "may not deploy to production (a production environment takes only tested builds unless the manifest says require: none): it has no provenance record"},
		{name: "production, passing record", env: "production", production: true, rec: passed},
		{name: "production, failing record", env: "production", production: true, rec: failed, refused: "its tests did not pass: FAILED (12 tests, 1 failed; from report.xml): shop.TestPay"},
		{name: "production, require: none", manifest: "require: none\n", env: "production", production: true},
		{name: "staging, no record", env: "staging"},
		{name: "staging, require: tested", manifest: "require: tested\n", env: "staging", refused: "the manifest says require: tested"},
		{name: "staging, overridden per environment", manifest: "require: tested\nenvironments: {staging: {require: none}}\n", env: "staging"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.Parse([]byte("app: demo\nservice: {start: bin/app}\n" + tt.manifest))
			if err != nil {
				t.Fatal(err)
			}
			store := &artifact.Dir{Root: t.TempDir()}
			if tt.rec != nil {
				if err := store.PutProvenance(ctx, "demo", "v2", *tt.rec); err != nil {
					t.Fatal(err)
				}
			}
			led := pipelinetest.Ledger(t)
			h := &Preflight{Deps: &Deps{Ledger: led, Artifacts: store}}
			out := contract.PreflightOutput{App: "demo", Environment: tt.env, Version: "v2", Artifact: contract.Artifact{SHA256: sum}}
			err = h.testedGate(ctx, "d-1", m, tt.env, tt.production, out, false)
			var un *contract.Untested
			switch {
			case tt.refused == "" && err != nil:
				t.Fatalf("testedGate = %v, want it admitted", err)
			case tt.refused != "" && (!errors.As(err, &un) || !strings.Contains(un.Message, tt.refused)):
				t.Fatalf("testedGate = %v, want a refusal saying %q", err, tt.refused)
			}
			steps, _ := led.Steps(ctx, "d-1")
			if len(steps) != 1 || !strings.HasPrefix(steps[0].Message, "provenance of v2: ") {
				t.Errorf("steps = %+v, want one noting the provenance", steps)
			}
			// Under the lease it is checked again, not noted again.
			h.testedGate(ctx, "d-1", m, tt.env, tt.production, out, true)
			if steps, _ := led.Steps(ctx, "d-1"); len(steps) != 1 {
				t.Errorf("%d steps after the check under the lease, want still 1", len(steps))
			}
			if tt.refused == "" {
				return
			}
			// A plan: no error, the refusal is its gate.
			notes := &PlanNotes{}
			pctx := context.WithValue(ctx, planningKey{}, notes)
			if err := h.testedGate(pctx, "plan", m, tt.env, tt.production, out, false); err != nil || notes.Gate == nil || !strings.Contains(notes.Gate.Error(), tt.refused) {
				t.Errorf("plan: testedGate = %v, gate %v; want no error and the refusal as the gate", err, notes.Gate)
			}
		})
	}
}

// TestNewerPushSupersedes: under the lease, a push-triggered deployment
// steps aside when a push started after it has already deployed (or
// tried to): the latest push wins even when its execution took the lease
// first and emptied the queue on its way out.
func TestNewerPushSupersedes(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name       string
		newer      ledger.Deployment
		superseded bool
	}{
		{"a newer push succeeded", ledger.Deployment{Status: contract.StatusSucceeded, StartedAt: t0.Add(time.Second)}, true},
		{"a newer push rolled back", ledger.Deployment{Status: contract.StatusRolledBack, StartedAt: t0.Add(time.Second)}, true},
		{"a newer push was refused before the lease", ledger.Deployment{Status: contract.StatusFailed, StartedAt: t0.Add(time.Second)}, false},
		{"a newer push still waits", ledger.Deployment{Status: contract.StatusRunning, StartedAt: t0.Add(time.Second)}, false},
		{"an older push", ledger.Deployment{Status: contract.StatusSucceeded, StartedAt: t0.Add(-time.Second)}, false},
		// The push times decide when both have one, whichever execution
		// started first.
		{"pushed later, started earlier", ledger.Deployment{Status: contract.StatusSucceeded, StartedAt: t0.Add(-time.Second),
			Trigger: contract.Trigger{PushedAt: t0.Add(time.Minute)}}, true},
		{"pushed earlier, started later", ledger.Deployment{Status: contract.StatusSucceeded, StartedAt: t0.Add(time.Second),
			Trigger: contract.Trigger{PushedAt: t0.Add(-time.Minute)}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			led := pipelinetest.Ledger(t)
			d := tt.newer
			d.ID, d.App, d.Environment, d.Kind, d.Version = "d-2", "demo", "staging", contract.KindDeploy, "c2"
			d.Trigger.Source = "push"
			d.SchemaBefore, d.SchemaAfter = -1, -1
			if err := led.PutDeployment(ctx, d); err != nil {
				t.Fatal(err)
			}
			h := &Preflight{Deps: &Deps{Ledger: led}}
			ds, err := led.ListDeployments(ctx, "demo", "staging", 10)
			if err != nil {
				t.Fatal(err)
			}
			err = h.newerPush(ctx, "d-1", request{App: "demo", Environment: "staging", Version: "c1", Trigger: contract.Trigger{Source: "push", PushedAt: t0}}, t0, ds)
			var sup *contract.Superseded
			if got := errors.As(err, &sup); got != tt.superseded || (got && sup.By != "c2") {
				t.Errorf("newerPush = %v; want superseded %v (by c2)", err, tt.superseded)
			}
		})
	}
}
