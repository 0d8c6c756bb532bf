package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func preflight() contract.PreflightOutput {
	return contract.PreflightOutput{
		App: "shop", Environment: "production", Version: "v8", PreviousVersion: "v7",
		Artifact:  contract.Artifact{URI: "s3://shop-artifacts/shop/v8.tar.gz", SHA256: "9f2c5a7e0d3b41c6a8e2f0b9d7c6e5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8", Size: 7340032},
		Instances: []string{"i-0a1", "i-0b2", "i-0c3", "i-0d4"}, Tags: map[string]string{"app": "shop", "env": "production"},
		RequireOnHosts: "v7", Waves: [][]string{{"i-0a1"}, {"i-0b2", "i-0c3", "i-0d4"}}, WaveCount: 2,
		Health: contract.HealthSpec{Path: "/healthz", ExpectStatus: 200, Successes: 3, IntervalSeconds: 5, MaxAttempts: 12},
		Bake:   contract.BakeSpec{Seconds: 600, IntervalSeconds: 30}, Alarms: []string{"shop-production-5xx", "shop-production-latency"},
		Migrations: contract.MigrationPlan{Current: 41, Target: 43, Pending: []int64{42, 43}, Engine: "postgres", Checks: []contract.MigrationCheck{
			{Version: 42, Name: "add_orders_index", Class: "expand", Reversible: true, Mode: "statements", Findings: []contract.MigrationFinding{
				{File: "0042_add_orders_index.up.sql", Line: 2, Rule: "require-concurrent-index-creation", Severity: "warning", Message: "CREATE INDEX without CONCURRENTLY locks writes to orders"}}},
			{Version: 43, Name: "drop_legacy_cart", Class: "destructive", Reversible: false, Mode: "transaction", Allowed: true, Findings: []contract.MigrationFinding{
				{File: "0043_drop_legacy_cart.up.sql", Line: 1, Rule: "ban-drop-table", Severity: "error", Message: "DROP TABLE legacy_cart loses its data", Ignored: true, Reason: "emptied in v6"}}},
		}},
		LockTTLSeconds: 7800, ApprovalRequired: true, WatchSeconds: 3600,
		Trigger: contract.Trigger{Source: "promote", Actor: "ada", Reason: "promote v8 from staging"},
	}
}

const restore = `Restore RDS instance shop-production from snapshot <snapshot id>:
  aws rds restore-db-instance-from-db-snapshot --db-instance-identifier shop-production-restored --db-snapshot-identifier <snapshot id>
Caveat: every write made after the snapshot was taken is lost.`

func planInput() PlanInput {
	p := preflight()
	return PlanInput{
		App: "shop", Environment: "production", Version: "v8", Trigger: p.Trigger, Preflight: p,
		Targets:    []Target{{ID: "i-0a1", Online: true}, {ID: "i-0b2", Online: true}, {ID: "i-0c3", Online: true}, {ID: "i-0d4", Online: true}},
		Migrations: migrationsOf(p.Migrations, true), Manifest: &manifest.Manifest{Freeze: manifest.Freeze{Windows: []manifest.FreezeWindow{
			{Days: []string{"thu"}, From: "11:00", To: "18:00", TimeZone: "UTC", Reason: "release train"}}}},
		Production: true, Change: &Change{Previous: "v7", Added: 2, Removed: 1, Changed: 14, Bytes: 7 << 20, BytesChanged: 3 << 20},
		Config: &ConfigChange{Fingerprint: "hmac-sha256:5ae931f3031eecd785ca3ffbcb49ea97", Previous: "hmac-sha256:0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
			Keys: []string{"API_TOKEN", "DB_POOL", "SENTRY_DSN"}, Added: []string{"SENTRY_DSN"}, Removed: []string{"LEGACY_URL"}, Changed: []string{"API_TOKEN"},
			Declarations: []ConfigDeclaration{{Name: "LEGACY_URL", Change: "removed"}, {Name: "SENTRY_DSN", Change: "added"}, {Name: "DB_POOL", Change: "changed", Environments: []string{"staging"}}}},
		Alarms:        []Alarm{{Name: "shop-production-5xx", State: "OK"}, {Name: "shop-production-latency", State: "INSUFFICIENT_DATA"}},
		TargetChecked: false, Restore: restore,
		Hints: Hints{Dashboards: []string{"https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:"},
			LogGroups: []string{"/aws/vendedlogs/states/slipway-shop-deploy"}, CommandOutput: "full command output: CloudWatch Logs group /slipway/shop/commands"},
		Now: t0,
	}
}

func TestPlanGolden(t *testing.T) {
	r := NewPlan(planInput())
	golden(t, "plan.txt.golden", []byte(r.String()))
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json.golden", js)
}

// rolledBack is a deployment whose wave 2 failed its health check: the
// canary and wave 2 went back to v7, migration 42 was reverted, 43 kept.
func rolledBack() DeploymentInput {
	p := preflight()
	start := t0
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	id := "production-v8-20261126T100000Z-7a3e"
	st := contract.State{Kind: contract.KindDeploy, DeploymentID: id, Preflight: &p,
		Snapshot:     &contract.SnapshotOutput{SnapshotID: "slipway-shop-production-" + id, Status: "available"},
		Migration:    &contract.MigrateOutput{From: 41, To: 43, Applied: []int64{42, 43}},
		Error:        &contract.StateError{Error: "HealthCheckFailed", Cause: `{"errorMessage":"wave 2: v8 not healthy on 1 instance after 12 probes: i-0c3 answered 503","errorType":"HealthCheckFailed"}`},
		Rollback:     &contract.RollbackOutput{Status: "Done", FromVersion: "v8", ToVersion: "v7", InstanceIDs: []string{"i-0a1", "i-0b2", "i-0c3", "i-0d4"}, InstanceCount: 4},
		SchemaRevert: &contract.MigrateOutput{From: 43, To: 43, Reverted: []int64{}, Kept: []int64{43, 42}, Restore: restore},
	}
	steps := []ledger.Step{
		{Stage: "preflight", Status: "ok", Message: "deploy v8 to production: 4 instances in 2 waves, 2 pending migrations, replacing v7", At: at(0.4)},
		{Stage: "preflight", Status: "ok", Message: "every host keeps v7, the rollback target", At: at(3.1),
			Detail: json.RawMessage(`{"kind":"host-check","release":"v7"}`)},
		{Stage: "approval", Status: "info", Message: "waiting for approval: deploy v8 to production", At: at(3.3)},
		{Stage: "approval", Status: "ok", Message: "approved by grace: plan checked", At: at(95)},
		{Stage: "lock", Status: "ok", Message: "lease on shop/production taken until 2026-11-26T12:11:35Z", At: at(95.4)},
		{Stage: "snapshot", Status: "ok", Message: "snapshot slipway-shop-production-" + id + " is available", At: at(310)},
		{Stage: "migrate", Status: "ok", Message: "schema 41 → 43: applied [42 43]", At: at(318)},
		{Stage: "rollout", Status: "info", Message: "wave 1: activating v8 on i-0a1", At: at(319)},
		{Stage: "rollout", Status: "ok", Message: "wave 1: v8 active on 1/1 instances", At: at(335)},
		{Stage: "health", Status: "ok", Message: "wave 1: 1 instance serves v8, 3 healthy answers in a row", At: at(351)},
		{Stage: "rollout", Status: "info", Message: "wave 2: activating v8 on i-0b2, i-0c3, i-0d4", At: at(352)},
		{Stage: "rollout", Status: "ok", Message: "wave 2: v8 active on 3/3 instances", At: at(371)},
		{Stage: "health", Status: "failed", Message: "wave 2: v8 not healthy on 1 instance after 12 probes: i-0c3 answered 503", At: at(431)},
		{Stage: "rollback", Status: "info", Message: "rollback after HealthCheckFailed; switching i-0a1, i-0b2, i-0c3, i-0d4 back to v7", At: at(432)},
		{Stage: "rollback", Status: "ok", Message: "4 instances switched back to v7", At: at(447)},
		{Stage: "verify-rollback", Status: "ok", Message: "rolled back instances: 4 instances serve v7, 3 healthy answers in a row", At: at(463)},
		{Stage: "revert-schema", Status: "info", Message: "schema kept at 43: migrations [43 42] are not reversible, so they stay (the previous release must cope with them); reverted []", At: at(464)},
		{Stage: "record", Status: "failed", Message: "ROLLED_BACK: v8 failed (HealthCheckFailed: …). Rolled back: 4 instances serve v7 again, verified healthy.", At: at(465)},
		{Stage: "unlock", Status: "ok", Message: "lease released", At: at(465.2)},
	}
	for i := range steps {
		steps[i].DeploymentID, steps[i].Seq = id, i+1
	}
	var results []ledger.InstanceResult
	for i, inst := range []string{"i-0a1", "i-0b2", "i-0c3", "i-0d4"} {
		wave, begin := 0, 319.0
		if i > 0 {
			wave, begin = 1, 352
		}
		results = append(results, ledger.InstanceResult{DeploymentID: id, CommandID: "cmd-" + string(rune('a'+wave)), Wave: wave, InstanceID: inst, Action: "activate",
			Version: "v8", Status: "Success", Output: "slipway-host.sh: healthy\n{\"action\":\"activate\"}", StartedAt: at(begin), FinishedAt: at(begin + 15)})
	}
	for _, inst := range []string{"i-0a1", "i-0b2", "i-0c3", "i-0d4"} {
		results = append(results, ledger.InstanceResult{DeploymentID: id, CommandID: "cmd-r", Wave: -1, InstanceID: inst, Action: "rollback",
			Version: "v7", Status: "Success", Output: "slipway-host.sh: current: v8 -> v7", StartedAt: at(432), FinishedAt: at(446)})
	}
	d := ledger.Deployment{ID: id, App: "shop", Environment: "production", Version: "v8", PreviousVersion: "v7", Kind: contract.KindDeploy,
		Status: contract.StatusRolledBack, ExecutionID: "arn:aws:states:eu-west-1:111111111111:execution:slipway-shop-deploy:" + id,
		Trigger: p.Trigger, StartedAt: start, FinishedAt: at(465), Error: "HealthCheckFailed",
		Cause:      "wave 2: v8 not healthy on 1 instance after 12 probes: i-0c3 answered 503",
		Summary:    "v8 failed (HealthCheckFailed: wave 2: v8 not healthy on 1 instance after 12 probes: i-0c3 answered 503). Rolled back: 4 instances serve v7 again, verified healthy. The schema was NOT fully reverted: it stays at 43 because migrations [43 42] are not reversible.",
		SnapshotID: "slipway-shop-production-" + id, SchemaBefore: 41, SchemaAfter: 43}
	return DeploymentInput{Deployment: d, Steps: steps, Results: results, State: &st, Production: true,
		Change: &Change{Previous: "v7", Changed: 3, Bytes: 7 << 20, BytesChanged: 1 << 20}, Now: at(465)}
}

func TestDeploymentGolden(t *testing.T) {
	r := NewDeployment(rolledBack())
	golden(t, "rolled-back.txt.golden", []byte(r.String()))
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rolled-back.json.golden", js)
}

// TestRefreshKeepsWhatOnlyTheRunKnew stores a report as Record does, then
// refreshes it from the ledger alone, as `slipway show` does.
func TestRefreshKeepsWhatOnlyTheRunKnew(t *testing.T) {
	in := rolledBack()
	in.Recording = true
	in.Steps = in.Steps[:len(in.Steps)-1] // Record writes the report before the lease is released
	stored, ok := Parse(NewDeployment(in).Stored())
	if !ok {
		t.Fatal("Parse(Stored()) = false")
	}
	if got := stored.Steps[len(stored.Steps)-1]; got.Stage != "unlock" || got.Status != StatusPlanned {
		t.Errorf("stored report's last step = %s %s, want unlock planned (it runs after Record)", got.Stage, got.Status)
	}
	later := rolledBack()
	later.State = nil // show has only the ledger
	got := Refresh(stored, later)
	want := NewDeployment(rolledBack())
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Refresh(stored, ledger) differs from the report built with the state (-want +got):\n%s", diff)
	}
}

func TestRebuiltFromTheLedgerAlone(t *testing.T) {
	in := rolledBack()
	in.State = nil
	// The preflight step's detail is what the ledger keeps of the plan.
	detail, _ := json.Marshal(map[string]any{"waves": [][]string{{"i-0a1"}, {"i-0b2", "i-0c3", "i-0d4"}},
		"migrations": contract.MigrationPlan{Current: 41, Target: 43, Pending: []int64{42, 43}}, "artifact": preflight().Artifact})
	in.Steps[0].Detail = detail
	r := NewDeployment(in)
	if r.Outcome.Status != contract.StatusRolledBack || r.RolledBack == nil {
		t.Fatalf("rebuilt report = %+v, want the outcome and the rollback details", r.Outcome)
	}
	if len(r.Notes) == 0 {
		t.Errorf("a report rebuilt without Preflight's output says nothing about what it lacks")
	}
	if len(r.Plan.Waves) != 2 || len(r.Plan.Migrations.Pending) != 2 || r.Plan.Artifact.URI == "" {
		t.Errorf("rebuilt plan = %+v, want the waves, migrations and artifact of the preflight step", r.Plan)
	}
	var buf bytes.Buffer
	if err := r.Text(&buf); err != nil {
		t.Fatal(err)
	}
}

func TestStoredCapsInstances(t *testing.T) {
	r := &Report{Kind: KindDeploy, DeploymentID: "d", Steps: []Step{}}
	for range MaxStoredInstances + 5 {
		r.Instances = append(r.Instances, InstanceResult{Instance: "i"})
	}
	got, ok := Parse(r.Stored())
	if !ok || len(got.Instances) != MaxStoredInstances || len(got.Notes) != 1 {
		t.Errorf("Stored() kept %d instances and notes %v, want %d and a note", len(got.Instances), got.Notes, MaxStoredInstances)
	}
}

// TestMarkdownGolden renders the plan and the rolled-back deployment as a
// pull request comment would show them.
func TestMarkdownGolden(t *testing.T) {
	golden(t, "plan.md.golden", []byte(NewPlan(planInput()).Markdown()))
	golden(t, "rolled-back.md.golden", []byte(NewDeployment(rolledBack()).Markdown()))
}
