package backendtest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/report"
)

// T0 is the seeded history's clock.
var T0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Seeded deployment ids.
const (
	StagingV1    = "staging-v1-20261126T090000Z-aaaa"
	StagingV2    = "staging-v2-20261126T091000Z-bbbb"
	ProductionV1 = "production-v1-20261126T092000Z-cccc"
	StagingBack  = "staging-rollback-20261126T093000Z-dddd"
)

// Seed writes a fixed history to the ledger: v1 succeeds on staging and
// production, v2 succeeds on staging and is rolled back there by a person.
// Each deployment has its steps, per-instance results and the report
// Record would store.
func Seed(t testing.TB, f *Fake) {
	t.Helper()
	ctx := context.Background()
	at := func(min, sec float64) time.Time {
		return T0.Add(time.Duration(min*float64(time.Minute) + sec*float64(time.Second)))
	}
	type dep struct {
		d       ledger.Deployment
		steps   []ledger.Step
		results []ledger.InstanceResult
		p       *contract.PreflightOutput
	}
	pre := func(env, v, prev string, pending []int64, checks []contract.MigrationCheck) *contract.PreflightOutput {
		return &contract.PreflightOutput{App: "shop", Environment: env, Version: v, PreviousVersion: prev,
			Artifact:  contract.Artifact{URI: "s3://shop-artifacts/shop/" + v + ".tar.gz", SHA256: "5e" + v + "0000000000000000000000000000000000000000000000000000000000", Size: 3 << 20},
			Instances: []string{env + "-1", env + "-2"}, Tags: map[string]string{"app": "shop", "env": env}, RequireOnHosts: prev,
			Waves: [][]string{{env + "-1"}, {env + "-2"}}, WaveCount: 2,
			Health: contract.HealthSpec{Path: "/healthz", ExpectStatus: 200, Successes: 2, IntervalSeconds: 1, MaxAttempts: 4},
			Bake:   contract.BakeSpec{Seconds: 120, IntervalSeconds: 20}, Alarms: []string{"shop-5xx"}, LockTTLSeconds: 7320, WatchSeconds: 600,
			Migrations: contract.MigrationPlan{Current: int64(len(pending)), Target: int64(len(pending)) + 1, Pending: pending, Engine: "sqlite", Checks: checks},
		}
	}
	deployed := func(id, env, v, prev string, start time.Time, trig contract.Trigger) dep {
		p := pre(env, v, prev, []int64{1}, []contract.MigrationCheck{{Version: 1, Name: "create_users", Class: "expand", Reversible: true, Mode: "transaction"}})
		if prev != "" {
			p.Migrations = contract.MigrationPlan{Current: 1, Target: 2, Pending: []int64{2}, Engine: "sqlite",
				Checks: []contract.MigrationCheck{{Version: 2, Name: "add_email", Class: "expand", Reversible: true, Mode: "transaction"}}}
		}
		p.Trigger = trig
		s := func(sec float64, stage, status, msg string) ledger.Step {
			return ledger.Step{DeploymentID: id, Stage: stage, Status: status, Message: msg, At: start.Add(time.Duration(sec * float64(time.Second)))}
		}
		steps := []ledger.Step{
			s(0.3, "preflight", "ok", "deploy "+v+" to "+env+": 2 instances in 2 waves, 1 pending migrations"),
			s(0.4, "lock", "ok", "lease on shop/"+env+" taken"),
			s(0.5, "snapshot", "ok", "snapshot slipway-shop-"+env+" is available"),
			s(0.6, "migrate", "ok", "schema applied"),
			s(1.5, "rollout", "ok", "wave 1: "+v+" active on 1/1 instances"),
			s(2.0, "health", "ok", "wave 1: 1 instance serves "+v+", 2 healthy answers in a row"),
			s(3.0, "rollout", "ok", "wave 2: "+v+" active on 1/1 instances"),
			s(3.5, "health", "ok", "wave 2: 1 instance serves "+v+", 2 healthy answers in a row"),
			s(3.6, "bake", "ok", "baked 120s watching 1 alarm: none fired"),
			s(3.7, "record", "ok", "SUCCEEDED: "+env+" serves "+v+" on 2 instances."),
		}
		var results []ledger.InstanceResult
		for i, inst := range []string{env + "-1", env + "-2"} {
			results = append(results, ledger.InstanceResult{DeploymentID: id, CommandID: "cmd-" + id[len(id)-4:] + "-" + string(rune('1'+i)), Wave: i,
				InstanceID: inst, Action: "activate", Version: v, Status: "Success", Output: "slipway-host.sh: current: " + prev + " -> " + v + "\nslipway-host.sh: healthy\n{\"action\":\"activate\",\"current\":\"" + v + "\"}",
				StartedAt: start.Add(time.Duration(1+2*i) * time.Second / 2), FinishedAt: start.Add(time.Duration(3+2*i) * time.Second / 2)})
		}
		d := ledger.Deployment{ID: id, App: "shop", Environment: env, Version: v, PreviousVersion: prev, Kind: contract.KindDeploy,
			Status: contract.StatusSucceeded, ExecutionID: "arn:aws:states:eu-west-1:111111111111:execution:slipway-shop-deploy:" + id,
			Trigger: trig, StartedAt: start, FinishedAt: start.Add(3800 * time.Millisecond), Summary: env + " serves " + v + " on 2 instances; baked 120s with no alarm.",
			SnapshotID: "slipway-shop-" + env, SchemaBefore: p.Migrations.Current, SchemaAfter: p.Migrations.Target, WatchUntil: start.Add(14 * time.Minute)}
		return dep{d: d, steps: steps, results: results, p: p}
	}
	v1s := deployed(StagingV1, "staging", "v1", "", at(0, 0), contract.Trigger{Source: "push", Actor: "ada", Commit: "v1"})
	v2s := deployed(StagingV2, "staging", "v2", "v1", at(10, 0), contract.Trigger{Source: "cli", Actor: "ada"})
	v1p := deployed(ProductionV1, "production", "v1", "", at(20, 0), contract.Trigger{Source: "promote", Actor: "grace", Reason: "promote v1 from staging"})
	v1p.p.ApprovalRequired = true
	v1p.steps = append(v1p.steps[:1], append([]ledger.Step{
		{DeploymentID: ProductionV1, Stage: "approval", Status: "info", Message: "waiting for approval: deploy v1 to production", At: at(20, 0.35)},
		{DeploymentID: ProductionV1, Stage: "approval", Status: "ok", Message: "approved by ada: plan checked", At: at(21, 0)},
	}, v1p.steps[1:]...)...)

	// The rollback of v2 on staging, by grace.
	rbStart := at(30, 0)
	rb := ledger.Deployment{ID: StagingBack, App: "shop", Environment: "staging", Version: "v1", PreviousVersion: "v2", Kind: contract.KindRollback,
		Status: contract.StatusRolledBack, ExecutionID: "arn:aws:states:eu-west-1:111111111111:execution:slipway-shop-rollback:" + StagingBack,
		Trigger: contract.Trigger{Source: "cli", Actor: "grace", Reason: "5xx after v2"}, StartedAt: rbStart, FinishedAt: rbStart.Add(2 * time.Second),
		Summary:            "staging serves v1 again on 2 instances (was v2). The schema was reverted from 2 to 1 (down migrations [2]).",
		TargetDeploymentID: StagingV2, SchemaBefore: 2, SchemaAfter: 1}
	rbPre := pre("staging", "v1", "v2", []int64{}, nil)
	rbPre.TargetDeploymentID, rbPre.RequireOnHosts, rbPre.Waves, rbPre.WaveCount = StagingV2, "v1", [][]string{{"staging-1", "staging-2"}}, 1
	rbPre.Migrations = contract.MigrationPlan{Pending: []int64{}}
	rbPre.Trigger = rb.Trigger
	rbSteps := []ledger.Step{
		{DeploymentID: StagingBack, Stage: "preflight", Status: "ok", Message: "roll staging back to v1: 2 instances in 1 wave, no pending migrations, replacing v2", At: rbStart.Add(300 * time.Millisecond)},
		{DeploymentID: StagingBack, Stage: "lock", Status: "ok", Message: "lease on shop/staging taken", At: rbStart.Add(400 * time.Millisecond)},
		{DeploymentID: StagingBack, Stage: "rollback", Status: "info", Message: "rollback; switching staging-1, staging-2 back to v1", At: rbStart.Add(500 * time.Millisecond)},
		{DeploymentID: StagingBack, Stage: "rollback", Status: "ok", Message: "2 instances switched back to v1", At: rbStart.Add(1200 * time.Millisecond)},
		{DeploymentID: StagingBack, Stage: "verify-rollback", Status: "ok", Message: "rolled back instances: 2 instances serve v1, 2 healthy answers in a row", At: rbStart.Add(1500 * time.Millisecond)},
		{DeploymentID: StagingBack, Stage: "revert-schema", Status: "ok", Message: "schema reverted 2 → 1: ran down migrations [2]", At: rbStart.Add(1700 * time.Millisecond)},
		{DeploymentID: StagingBack, Stage: "record", Status: "ok", Message: "ROLLED_BACK: " + rb.Summary, At: rbStart.Add(1900 * time.Millisecond)},
	}
	var rbResults []ledger.InstanceResult
	for _, inst := range []string{"staging-1", "staging-2"} {
		rbResults = append(rbResults, ledger.InstanceResult{DeploymentID: StagingBack, CommandID: "cmd-dddd-r", Wave: -1, InstanceID: inst, Action: "rollback",
			Version: "v1", Status: "Success", Output: "slipway-host.sh: current: v2 -> v1\n{\"action\":\"rollback\"}", StartedAt: rbStart.Add(500 * time.Millisecond), FinishedAt: rbStart.Add(1100 * time.Millisecond)})
	}
	rbDep := dep{d: rb, steps: rbSteps, results: rbResults, p: rbPre}
	// Record marks the deployment it rolled back.
	v2s.d.Status, v2s.d.RolledBackBy = contract.StatusRolledBack, StagingBack
	v2s.d.Summary += " Rolled back later by " + StagingBack + "."

	for _, x := range []dep{v1s, v2s, v1p, rbDep} {
		st := contract.State{Kind: x.d.Kind, DeploymentID: x.d.ID, Preflight: x.p}
		if x.d.Kind == contract.KindRollback {
			st.Rollback = &contract.RollbackOutput{Status: "Done", FromVersion: "v2", ToVersion: "v1", InstanceIDs: []string{"staging-1", "staging-2"}, InstanceCount: 2}
			st.SchemaRevert = &contract.MigrateOutput{From: 2, To: 1, Reverted: []int64{2}}
		}
		r := report.NewDeployment(report.DeploymentInput{Deployment: x.d, Steps: x.steps, Results: x.results, State: &st,
			Production: x.d.Environment == "production", Change: &report.Change{Previous: x.d.PreviousVersion, Changed: 2, Bytes: 3 << 20, BytesChanged: 1 << 20},
			Recording: true, Now: x.d.FinishedAt})
		if x.d.PreviousVersion == "" {
			r = report.NewDeployment(report.DeploymentInput{Deployment: x.d, Steps: x.steps, Results: x.results, State: &st,
				Production: x.d.Environment == "production", Recording: true, Now: x.d.FinishedAt})
		}
		x.d.Report = r.Stored()
		if err := f.Store.PutDeployment(ctx, x.d); err != nil {
			t.Fatal(err)
		}
		for _, s := range x.steps {
			if err := f.Store.AddStep(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		// Record's note of the lease, after the report.
		if err := f.Store.AddStep(ctx, ledger.Step{DeploymentID: x.d.ID, Stage: "unlock", Status: "ok", Message: "lease released", At: x.d.FinishedAt}); err != nil {
			t.Fatal(err)
		}
		if err := f.Store.PutInstanceResults(ctx, x.results); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Store.PutApproval(ctx, ledger.Approval{App: "shop", Environment: "production", DeploymentID: ProductionV1, ExecutionID: v1p.d.ExecutionID,
		Version: "v1", Token: "token-cccc", Summary: "deploy v1 to production", RequestedAt: at(20, 0.35), Decision: ledger.ApprovalApproved,
		DecidedBy: "ada", Reason: "plan checked", DecidedAt: at(21, 0)}); err != nil {
		t.Fatal(err)
	}
}
