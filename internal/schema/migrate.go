package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/lint"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Migrate applies a release's pending migrations ("up") and, on rollback,
// reverts what this deployment applied where that is safe ("revert").
type Migrate struct{ *pipeline.Deps }

// Handle runs Migrate and RevertSchema.
func (h *Migrate) Handle(ctx context.Context, in contract.MigrateInput) (contract.MigrateOutput, error) {
	switch in.Action {
	case "up":
		return h.up(ctx, in)
	case "revert":
		return h.revert(ctx, in)
	case contract.MigrateObserve:
		obs := Observe(ctx, h.Deps, in.Environment)
		return contract.MigrateOutput{From: obs.Version, To: obs.Version, Observed: &obs}, nil
	}
	return contract.MigrateOutput{}, fmt.Errorf("migrate: unknown action %q (up, revert or observe)", in.Action)
}

// Observe reads an environment's schema version and the migrations that
// stopped part way, changing nothing. A database that cannot be read gives
// Known false and says why: an observation never fails the execution.
func Observe(ctx context.Context, d *pipeline.Deps, env string) contract.SchemaObservation {
	db, dbs, err := d.OpenDatabase(ctx, env)
	if err != nil {
		return contract.SchemaObservation{Dirty: []int64{}, Note: err.Error()}
	}
	defer db.Close()
	r := &migrate.Runner{DB: db, Engine: dbs.Family()}
	applied, err := r.Applied(ctx)
	if err != nil {
		return contract.SchemaObservation{Dirty: []int64{}, Note: secret.Scrub(err.Error(), dbs.Password)}
	}
	obs := contract.SchemaObservation{Known: true, Dirty: []int64{}}
	for _, a := range applied {
		obs.Version = max(obs.Version, a.Version)
		if a.Dirty {
			obs.Dirty = append(obs.Dirty, a.Version)
		}
	}
	return obs
}

func (h *Migrate) fail(ctx context.Context, deploymentID string, err error, scrub ...secret.Value) error {
	msg := secret.Scrub(err.Error(), scrub...)
	h.Step(ctx, deploymentID, "migrate", pipeline.StepFailed, msg, nil)
	var v int64
	var se *migrate.StatementError
	if errors.As(err, &se) {
		v = se.Version
	}
	return &contract.MigrationFailed{Message: msg, Version: v}
}

func (h *Migrate) up(ctx context.Context, in contract.MigrateInput) (contract.MigrateOutput, error) {
	b, err := h.OpenBundle(ctx, in.Artifact)
	if err != nil {
		return contract.MigrateOutput{}, h.fail(ctx, in.DeploymentID, err)
	}
	ms, err := migrate.Load(b.Migrations())
	if err != nil {
		return contract.MigrateOutput{}, h.fail(ctx, in.DeploymentID, err)
	}
	db, dbs, err := h.OpenDatabase(ctx, in.Environment)
	if err != nil {
		return contract.MigrateOutput{}, h.fail(ctx, in.DeploymentID, err)
	}
	defer db.Close()
	r := h.runner(ctx, db, dbs, in.DeploymentID, b.Manifest.Migrations)
	before, err := r.Status(ctx, ms)
	if err != nil {
		return contract.MigrateOutput{}, h.fail(ctx, in.DeploymentID, err, dbs.Password)
	}
	markDestructive(ms, before.Pending, b.Manifest.Migrations.Engine, dbs.Family())
	applied, err := r.Up(ctx, ms)
	out := contract.MigrateOutput{From: before.Current, To: before.Current, Applied: applied}
	if len(applied) > 0 {
		out.To = applied[len(applied)-1]
	}
	if _, uerr := h.Ledger.UpdateDeployment(ctx, in.DeploymentID, func(d *ledger.Deployment) error {
		d.SchemaAfter = out.To
		return nil
	}); uerr != nil {
		h.Logger().Error("schema version not recorded", "deployment", in.DeploymentID, "err", uerr)
	}
	if err != nil {
		return out, h.fail(ctx, in.DeploymentID, fmt.Errorf("%w (applied before it: %v)", err, applied), dbs.Password)
	}
	switch {
	case len(applied) == 0:
		h.Step(ctx, in.DeploymentID, "migrate", pipeline.StepSkipped, fmt.Sprintf("schema is at %d: nothing to apply", out.From), nil)
	case before.Dirty != nil:
		h.Step(ctx, in.DeploymentID, "migrate", pipeline.StepOK, fmt.Sprintf("schema %d → %d: resumed migration %d at statement %d, then applied %v",
			out.From, out.To, before.Dirty.Version, before.ResumeAt, applied[1:]), out)
	default:
		h.Step(ctx, in.DeploymentID, "migrate", pipeline.StepOK, fmt.Sprintf("schema %d → %d: applied %v", out.From, out.To, applied), out)
	}
	return out, nil
}

// deadlineMargin is the time kept back, when the invocation has a
// deadline (a Lambda's 15 minutes at most), to record what happened.
const deadlineMargin = 30 * time.Second

// runner is a migration runner with the manifest's timeouts. Where the
// invocation has a deadline, the statement timeout and the lock wait are
// cut to end before it: the database stops a statement cleanly and the
// runner records it (a no-transaction file resumes at that statement on
// the next run), instead of Lambda killing the process mid-statement.
func (h *Migrate) runner(ctx context.Context, db *sql.DB, dbs secret.Database, deploymentID string, mm manifest.Migrations) *migrate.Runner {
	stmt, wait := mm.StatementTimeout.Duration, mm.LockWait.Duration
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl) - deadlineMargin
		if left < time.Second {
			left = time.Second
		}
		if stmt > left {
			h.Logger().Warn("statement timeout cut to the invocation's deadline", "deployment", deploymentID, "manifest", mm.StatementTimeout.Duration, "used", left)
			stmt = left
		}
		wait = min(wait, left)
	}
	return &migrate.Runner{DB: db, Engine: dbs.Family(), DeploymentID: deploymentID, Now: h.Now,
		LockWait: wait, LockTimeout: mm.LockTimeout.Duration, StatementTimeout: stmt}
}

// markDestructive marks pending migrations that lint classifies as
// destructive irreversible, whatever their down file says: a down
// migration cannot bring back dropped data, so a rollback must say so and
// point at the snapshot instead of claiming a revert. Lint runs only when a
// pending migration has a down file, since that is all it can change.
func markDestructive(ms, pending []migrate.Migration, engine, family string) {
	need := false
	for _, m := range pending {
		need = need || m.Reversible()
	}
	if !need {
		return
	}
	if engine == "" {
		engine = family
	}
	destructive := map[int64]bool{}
	for _, r := range lint.Lint(ms, lint.Options{Engine: engine}) {
		destructive[r.Version] = r.Class == lint.Destructive
	}
	for i := range ms {
		if destructive[ms[i].Version] {
			ms[i].Irreversible = true
		}
	}
}

func (h *Migrate) revert(ctx context.Context, in contract.MigrateInput) (contract.MigrateOutput, error) {
	d, err := h.Ledger.GetDeployment(ctx, in.DeploymentID)
	if err != nil {
		return contract.MigrateOutput{}, &contract.TransientError{Message: err.Error()}
	}
	target := d
	if d.Kind == contract.KindRollback {
		if d.TargetDeploymentID == "" {
			return contract.MigrateOutput{}, nil
		}
		if target, err = h.Ledger.GetDeployment(ctx, d.TargetDeploymentID); err != nil {
			return contract.MigrateOutput{}, &contract.TransientError{Message: err.Error()}
		}
	}
	// Migrations run only after a snapshot; without one, this deployment
	// changed no schema and there is nothing to touch.
	if target.SnapshotID == "" {
		h.Step(ctx, in.DeploymentID, "revert-schema", pipeline.StepSkipped, "no migration ran: the schema was not changed", nil)
		return contract.MigrateOutput{From: target.SchemaBefore, To: target.SchemaBefore}, nil
	}
	db, dbs, err := h.OpenDatabase(ctx, in.Environment)
	if err != nil {
		msg := fmt.Sprintf("%v. The schema was not reverted. %s", err, h.restoreProcedure(in.Environment, target.SnapshotID))
		h.Step(ctx, in.DeploymentID, "revert-schema", pipeline.StepFailed, msg, nil)
		return contract.MigrateOutput{}, &contract.MigrationFailed{Message: msg}
	}
	defer db.Close()
	// The timeouts come from the release being rolled back when it can be
	// read; the defaults otherwise.
	var mm manifest.Migrations
	if b, berr := h.OpenBundle(ctx, in.Artifact); berr == nil {
		mm = b.Manifest.Migrations
	}
	r := h.runner(ctx, db, dbs, in.DeploymentID, mm)
	appliedRows, err := r.Applied(ctx)
	if err != nil {
		return contract.MigrateOutput{}, &contract.MigrationFailed{Message: secret.Scrub(err.Error(), dbs.Password)}
	}
	from := int64(0)
	for _, a := range appliedRows {
		from = max(from, a.Version)
	}
	reverted, kept, err := r.DownTo(ctx, target.SchemaBefore, func(a migrate.Applied) bool { return a.DeploymentID == target.ID })
	to := from
	if len(reverted) > 0 {
		to = reverted[len(reverted)-1] - 1
		if rows, aerr := r.Applied(ctx); aerr == nil {
			to = 0
			for _, a := range rows {
				to = max(to, a.Version)
			}
		}
	}
	out := contract.MigrateOutput{From: from, To: to, Reverted: reverted, Kept: kept}
	if err != nil {
		out.Restore = h.restoreProcedure(in.Environment, target.SnapshotID)
		msg := secret.Scrub(fmt.Sprintf("revert schema: %v. The schema was NOT fully reverted (reverted so far: %v). %s", err, reverted, out.Restore), dbs.Password)
		h.Step(ctx, in.DeploymentID, "revert-schema", pipeline.StepFailed, msg, out)
		return out, &contract.MigrationFailed{Message: msg}
	}
	dirty := map[int64]bool{}
	for _, a := range appliedRows {
		if a.Dirty {
			dirty[a.Version] = true
		}
	}
	var why []string
	for _, k := range kept {
		if dirty[k] {
			why = append(why, fmt.Sprintf("migration %d stopped part way (dirty), so its down migration cannot be trusted", k))
		}
	}
	if len(kept) > 0 {
		out.Restore = h.restoreProcedure(in.Environment, target.SnapshotID)
	}
	if _, uerr := h.Ledger.UpdateDeployment(ctx, in.DeploymentID, func(d *ledger.Deployment) error {
		d.SchemaAfter = to
		return nil
	}); uerr != nil {
		h.Logger().Error("schema version not recorded", "deployment", in.DeploymentID, "err", uerr)
	}
	switch {
	case len(reverted) == 0 && len(kept) == 0:
		h.Step(ctx, in.DeploymentID, "revert-schema", pipeline.StepSkipped, fmt.Sprintf("schema is at %d: this deployment applied nothing to revert", from), out)
	case len(kept) == 0:
		h.Step(ctx, in.DeploymentID, "revert-schema", pipeline.StepOK, fmt.Sprintf("schema reverted %d → %d: ran down migrations %v", from, to, reverted), out)
	default:
		note := ""
		if len(why) > 0 {
			note = " (" + strings.Join(why, "; ") + ")"
		}
		h.Step(ctx, in.DeploymentID, "revert-schema", pipeline.StepInfo, fmt.Sprintf("schema kept at %d: migrations %v are not reversible%s, so they stay (the previous release must cope with them); reverted %v. %s",
			to, kept, note, reverted, out.Restore), out)
	}
	return out, nil
}

func (h *Migrate) restoreProcedure(env, snapshotID string) string {
	envCfg, err := h.Config.Env(env)
	if err != nil || h.Snapshots == nil {
		return "restore the database from snapshot " + snapshotID
	}
	s, err := h.Snapshots(env, envCfg)
	if err != nil {
		return "restore the database from snapshot " + snapshotID
	}
	return strings.TrimSpace(s.RestoreProcedure(snapshotID))
}
