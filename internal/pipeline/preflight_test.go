package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
)

// publish builds a release of app from a manifest's text and publishes it
// to store.
func publish(t *testing.T, store *artifact.Dir, app, version, manifestText string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte(manifestText), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Build(&buf, dir, version); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Publish(context.Background(), app, version, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// TestPreflightHandler runs the Preflight stage's handler on a ledger,
// a release store and a fleet it sets up per row: what it admits, what it
// refuses (a refusal is a PreflightFailed or Frozen, written as a failed
// step, and the record stays), and what the output tells later stages.
func TestPreflightHandler(t *testing.T) {
	const manifestV = "app: demo\nservice: {start: bin/app}\nrollout: {waves: [1, \"100%\"]}\nbake: {duration: 2m, interval: 30s}\nalarms: [demo-5xx]\n"
	// A dated freeze over today in UTC.
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	frozen := manifestV + "freeze: {dates: [{from: \"2026-12-01\", to: \"2026-12-31\", time_zone: UTC, reason: year-end}]}\n"
	online := []fleet.Instance{{ID: "i-1", Online: true}, {ID: "i-2", Online: true}, {ID: "i-3", Online: true}}
	served := []ledger.Deployment{{ID: "d-0", App: "demo", Environment: "staging", Version: "v1", Kind: contract.KindDeploy,
		Status: contract.StatusSucceeded, StartedAt: now.Add(-time.Hour), SchemaBefore: -1, SchemaAfter: -1}}
	for _, tt := range []struct {
		name      string
		kind      string
		request   string
		manifest  string // v2's; "" publishes none
		instances []fleet.Instance
		earlier   []ledger.Deployment
		envCfg    config.Environment
		wantErr   string // "" : admitted
		frozen    bool   // the refusal is a Frozen, not a PreflightFailed
		check     func(t *testing.T, out contract.PreflightOutput, steps []ledger.Step)
	}{
		{name: "admitted, replacing what serves", request: `{"app":"demo","environment":"staging","version":"v2"}`, manifest: manifestV, instances: online, earlier: served,
			check: func(t *testing.T, out contract.PreflightOutput, steps []ledger.Step) {
				if out.Version != "v2" || out.PreviousVersion != "v1" || out.RequireOnHosts != "v1" {
					t.Errorf("versions: %q replacing %q, require %q on hosts; want v2 replacing v1, v1 kept on the hosts", out.Version, out.PreviousVersion, out.RequireOnHosts)
				}
				if out.WaveCount != 2 || len(out.Waves) != 2 || len(out.Waves[0]) != 1 || len(out.Waves[1]) != 2 {
					t.Errorf("waves = %v; want [1 instance] then the other 2", out.Waves)
				}
				if out.Bake.Seconds != 120 || out.Bake.IntervalSeconds != 30 || len(out.Alarms) != 1 || out.Alarms[0] != "demo-5xx" {
					t.Errorf("bake %+v, alarms %v; want 120 s every 30 s on demo-5xx", out.Bake, out.Alarms)
				}
				if len(out.Migrations.Pending) != 1 || out.Migrations.Current != 3 {
					t.Errorf("migrations = %+v; want the planner's: at 3, one pending", out.Migrations)
				}
				last := steps[len(steps)-1]
				if last.Status != StepOK || !strings.Contains(last.Message, "3 instances in 2 waves, 1 pending migration, replacing v1") {
					t.Errorf("last step = %q (%s); want the plan's summary", last.Message, last.Status)
				}
			}},
		{name: "the first release", request: `{"app":"demo","environment":"staging","version":"v2"}`, manifest: manifestV, instances: online,
			check: func(t *testing.T, out contract.PreflightOutput, _ []ledger.Step) {
				if out.PreviousVersion != "" || out.RequireOnHosts != "" {
					t.Errorf("previous %q, require %q; want none: nothing served", out.PreviousVersion, out.RequireOnHosts)
				}
			}},
		{name: "malformed request", request: `{"app":"demo","environment":"staging","version":2}`, manifest: manifestV, instances: online,
			wantErr: `field "version": want string`},
		{name: "missing version", request: `{"app":"demo","environment":"staging"}`, manifest: manifestV, instances: online,
			wantErr: "missing version"},
		{name: "another app", request: `{"app":"shop","environment":"staging","version":"v2"}`, manifest: manifestV, instances: online,
			wantErr: `app "shop" is not managed here: this Slipway deploys "demo"`},
		{name: "unknown environment", request: `{"app":"demo","environment":"qa","version":"v2"}`, manifest: manifestV, instances: online,
			wantErr: "qa"},
		{name: "release not published", request: `{"app":"demo","environment":"staging","version":"v2"}`, instances: online,
			wantErr: "v2"},
		{name: "an instance offline", request: `{"app":"demo","environment":"staging","version":"v2"}`, manifest: manifestV,
			instances: []fleet.Instance{{ID: "i-1", Online: true}, {ID: "i-2"}},
			wantErr:   "instances not reachable through their agent (not Online): i-2"},
		{name: "no instance", request: `{"app":"demo","environment":"staging","version":"v2"}`, manifest: manifestV,
			wantErr: "no instance matches the tags"},
		{name: "frozen", request: `{"app":"demo","environment":"staging","version":"v2"}`, manifest: frozen, instances: online,
			wantErr: "staging is frozen: year-end", frozen: true},
		{name: "frozen, overridden with a reason", request: `{"app":"demo","environment":"staging","version":"v2","override_freeze":true,"trigger":{"actor":"ana","reason":"payment outage"}}`,
			manifest: frozen, instances: online,
			check: func(t *testing.T, _ contract.PreflightOutput, steps []ledger.Step) {
				if !hasStep(steps, `freeze overridden by ana: "payment outage"`) {
					t.Errorf("steps = %v; want the override written down", steps)
				}
			}},
		{name: "override without a reason", request: `{"app":"demo","environment":"staging","version":"v2","override_freeze":true}`, manifest: frozen, instances: online,
			wantErr: "override_freeze needs a reason"},
		{name: "blue-green without its configuration", request: `{"app":"demo","environment":"staging","version":"v2"}`,
			manifest: strings.Replace(manifestV, "rollout: {", "rollout: {strategy: blue-green, ", 1), instances: online,
			wantErr: "rollout.strategy is blue-green but environment staging has no blue_green configuration"},
		{name: "rollback with nothing deployed", kind: contract.KindRollback, request: `{"app":"demo","environment":"staging"}`, manifest: manifestV, instances: online,
			wantErr: "demo/staging has no deployment to roll back"},
		{name: "rollback of the first release", kind: contract.KindRollback, request: `{"app":"demo","environment":"staging"}`, manifest: manifestV, instances: online, earlier: served,
			wantErr: "v1 is the first release deployed here"},
		{name: "rollback to a named release", kind: contract.KindRollback, request: `{"app":"demo","environment":"staging","to_version":"v2"}`, manifest: manifestV, instances: online, earlier: served,
			check: func(t *testing.T, out contract.PreflightOutput, _ []ledger.Step) {
				if out.Version != "v2" || out.PreviousVersion != "v1" || out.TargetDeploymentID != "d-0" || out.RequireOnHosts != "v2" {
					t.Errorf("rollback to %q from %q of %q, require %q; want to v2 from v1, undoing d-0, v2 on every host", out.Version, out.PreviousVersion, out.TargetDeploymentID, out.RequireOnHosts)
				}
				if out.WaveCount != 1 || len(out.Migrations.Pending) != 0 {
					t.Errorf("waves %d, pending %v; without a load balancer a rollback returns every instance at once and runs no migration", out.WaveCount, out.Migrations.Pending)
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			led := pipelinetest.Ledger(t)
			for _, d := range tt.earlier {
				if err := led.PutDeployment(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			store := &artifact.Dir{Root: t.TempDir()}
			if tt.manifest != "" {
				publish(t, store, "demo", "v2", tt.manifest)
			}
			kind := tt.kind
			if kind == "" {
				kind = contract.KindDeploy
			}
			h := &Preflight{Deps: &Deps{
				Config:    &config.Config{App: "demo", Environments: map[string]config.Environment{"staging": tt.envCfg}},
				Ledger:    led,
				Artifacts: store,
				Fleet:     &pipelinetest.Fleet{ByEnv: map[string][]fleet.Instance{"staging": tt.instances}},
				Now:       func() time.Time { return now },
				MigrationPlan: func(context.Context, *Deps, string, *bundle.Bundle) (contract.MigrationPlan, error) {
					return contract.MigrationPlan{Current: 3, Pending: []int64{4}}, nil
				},
			}}
			out, err := h.Handle(ctx, contract.PreflightInput{Request: json.RawMessage(tt.request), Kind: kind, DeploymentID: "d-1", StartedAt: now.Format(time.RFC3339Nano)})
			steps, _ := led.Steps(ctx, "d-1")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Handle = %v; want it admitted", err)
				}
				d, gerr := led.GetDeployment(ctx, "d-1")
				if gerr != nil || d.Status != contract.StatusRunning || d.Version != out.Version || d.PreviousVersion != out.PreviousVersion {
					t.Errorf("record = %+v, %v; want RUNNING with the output's versions", d, gerr)
				}
				if tt.check != nil {
					tt.check(t, out, steps)
				}
				return
			}
			var pf *contract.PreflightFailed
			var fr *contract.Frozen
			switch {
			case err == nil:
				t.Fatalf("Handle admitted it (%+v); want a refusal saying %q", out, tt.wantErr)
			case !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Handle = %v; want a refusal saying %q", err, tt.wantErr)
			case tt.frozen && !errors.As(err, &fr), !tt.frozen && !errors.As(err, &pf):
				t.Fatalf("Handle = %T %v; want a %s", err, err, map[bool]string{true: "Frozen", false: "PreflightFailed"}[tt.frozen])
			}
			if strings.HasPrefix(tt.request, `{"app":"demo","environment":"staging","version":2`) || strings.Contains(tt.wantErr, "missing") || strings.Contains(tt.wantErr, "override_freeze") {
				// A request that cannot be read opens no record: Record
				// writes the FAILED one from what it can read.
				if _, gerr := led.GetDeployment(ctx, "d-1"); gerr == nil {
					t.Errorf("a record was opened for a request that cannot be read")
				}
				return
			}
			if len(steps) == 0 || steps[len(steps)-1].Status != StepFailed || !strings.Contains(steps[len(steps)-1].Message, tt.wantErr) {
				t.Errorf("steps = %v; want the refusal as the last, failed step", steps)
			}
		})
	}
}

func hasStep(steps []ledger.Step, substr string) bool {
	for _, s := range steps {
		if strings.Contains(s.Message, substr) {
			return true
		}
	}
	return false
}

// TestPreflightActions: Handle knows check and resolve only.
func TestPreflightActions(t *testing.T) {
	h := &Preflight{Deps: &Deps{Ledger: pipelinetest.Ledger(t)}}
	_, err := h.Handle(context.Background(), contract.PreflightInput{Action: "plan", Request: json.RawMessage(`{}`)})
	if err == nil || !strings.Contains(err.Error(), `unknown action "plan" (check or resolve)`) {
		t.Fatalf("Handle = %v; want it to name the actions it knows", err)
	}
}

// TestPreflightResolve: under the lease Resolve reads what serves again,
// says when it changed while the deployment waited, and does not refuse
// for a freeze that began meanwhile.
func TestPreflightResolve(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	led := pipelinetest.Ledger(t)
	for _, d := range []ledger.Deployment{
		{ID: "d-0", App: "demo", Environment: "staging", Version: "v1", Kind: contract.KindDeploy, Status: contract.StatusSucceeded, StartedAt: now.Add(-time.Hour), SchemaBefore: -1, SchemaAfter: -1},
		{ID: "d-1", App: "demo", Environment: "staging", Version: "v2", Kind: contract.KindDeploy, Status: contract.StatusRunning, StartedAt: now, SchemaBefore: -1, SchemaAfter: -1},
	} {
		if err := led.PutDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	store := &artifact.Dir{Root: t.TempDir()}
	publish(t, store, "demo", "v1", "app: demo\nservice: {start: bin/app}\nhealth: {path: /up}\n")
	publish(t, store, "demo", "v2", "app: demo\nservice: {start: bin/app}\nfreeze: {dates: [{from: \"2026-12-01\", to: \"2026-12-31\", time_zone: UTC, reason: year-end}]}\n")
	h := &Preflight{Deps: &Deps{
		Config: &config.Config{App: "demo", Environments: map[string]config.Environment{"staging": {}}}, Ledger: led, Artifacts: store,
		Fleet: &pipelinetest.Fleet{ByEnv: map[string][]fleet.Instance{"staging": {{ID: "i-1", Online: true}}}},
		Now:   func() time.Time { return now },
		MigrationPlan: func(context.Context, *Deps, string, *bundle.Bundle) (contract.MigrationPlan, error) {
			return contract.MigrationPlan{Current: 3, Pending: []int64{}}, nil
		},
	}}
	// Preflight saw nothing serving and asked for an approval.
	before := &contract.PreflightOutput{App: "demo", Environment: "staging", Version: "v2", ApprovalRequired: true}
	out, err := h.Handle(ctx, contract.PreflightInput{Action: contract.PreflightResolve, Kind: contract.KindDeploy, DeploymentID: "d-1",
		Request: json.RawMessage(`{"app":"demo","environment":"staging","version":"v2"}`), Preflight: before})
	if err != nil {
		t.Fatalf("Resolve = %v; want it admitted: a freeze is checked when a deployment starts, not under the lease", err)
	}
	if out.RollbackHealth.Path != "/up" {
		t.Errorf("rollback health path = %q; want v1's own, /up", out.RollbackHealth.Path)
	}
	if !out.Resolved || out.PreviousVersion != "v1" || !out.ApprovalRequired {
		t.Errorf("out: resolved %v, previous %q, approval %v; want resolved, replacing v1, the approval as it was asked", out.Resolved, out.PreviousVersion, out.ApprovalRequired)
	}
	d, _ := led.GetDeployment(ctx, "d-1")
	if d.PreviousVersion != "v1" || d.SchemaBefore != 3 {
		t.Errorf("record: previous %q, schema before %d; want v1 and 3, read under the lease", d.PreviousVersion, d.SchemaBefore)
	}
	steps, _ := led.Steps(ctx, "d-1")
	for _, want := range []string{"while this deployment waited, demo/staging changed: it now serves v1 (it served nothing when this deployment started), so a rollback returns to v1",
		"under the lease: staging serves v1; a rollback would return to v1; schema at 3"} {
		if !hasStep(steps, want) {
			t.Errorf("no step says %q in %v", want, steps)
		}
	}
}
