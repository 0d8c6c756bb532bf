package schema

import (
	"context"
	"fmt"

	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/lint"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Plan compares the release's migrations with the database and
// lints the pending ones. A pending migration whose class the manifest's
// policy blocks (contract and destructive by default), or that has lint
// errors, refuses the deploy here, before any lock or snapshot, unless the
// manifest allows it by name.
//
// It is Preflight's database side, the function pipeline.Deps.MigrationPlan
// takes.
func Plan(ctx context.Context, h *pipeline.Deps, env string, b *bundle.Bundle) (contract.MigrationPlan, error) {
	plan := contract.MigrationPlan{Pending: []int64{}}
	ms, err := migrate.Load(b.Migrations())
	if err != nil {
		return plan, pipeline.Refuse("release migrations: %v", err)
	}
	db, dbs, err := h.OpenDatabase(ctx, env)
	if err != nil {
		if notes := pipeline.Planning(ctx); notes != nil { // slipway plan: the schema is unknown, the rest of the plan is not
			notes.Database = err
			return plan, nil
		}
		return plan, pipeline.Refuse("%v", err)
	}
	defer db.Close()
	r := &migrate.Runner{DB: db, Engine: dbs.Family()}
	st, err := r.Status(ctx, ms)
	if err != nil {
		return plan, pipeline.Refuse("database of %s: %s", env, secret.Scrub(err.Error(), dbs.Password))
	}
	plan.Current = st.Current
	plan.Target = st.Current
	for _, m := range st.Pending {
		plan.Pending = append(plan.Pending, m.Version)
		plan.Target = max(plan.Target, m.Version)
	}
	for _, a := range st.Ahead {
		plan.Ahead = append(plan.Ahead, a.Version)
	}
	if st.Dirty != nil {
		plan.ResumeVersion, plan.ResumeAt = st.Dirty.Version, st.ResumeAt
	}
	if len(st.Pending) == 0 {
		return plan, nil
	}

	mm := b.Manifest.Migrations
	plan.Engine = mm.Engine
	if plan.Engine == "" {
		plan.Engine = dbs.Family()
	}
	policy := lint.Policy{Allow: mm.Allow}
	for _, c := range mm.BlockedClasses() {
		policy.Block = append(policy.Block, lint.Class(c))
	}
	pending := map[int64]bool{}
	for _, v := range plan.Pending {
		pending[v] = true
	}
	var blocked []lint.Result
	for _, res := range lint.Lint(ms, lint.Options{Engine: plan.Engine}) {
		if !pending[res.Version] {
			continue
		}
		c := contract.MigrationCheck{Version: res.Version, Name: res.Name, Class: string(res.Class), Reversible: res.Reversible,
			Mode: res.Mode, Allowed: policy.Allowed(res)}
		for _, f := range res.Findings {
			c.Findings = append(c.Findings, contract.MigrationFinding{File: f.File, Line: f.Line, Rule: f.Rule, Severity: string(f.Severity),
				Message: f.Message, Ignored: f.Ignored, Reason: f.Reason})
		}
		plan.Checks = append(plan.Checks, c)
		if len(policy.Blocks(res)) > 0 {
			blocked = append(blocked, res)
		}
	}
	if len(blocked) > 0 {
		err := &contract.MigrationBlocked{Message: fmt.Sprintf("the migration policy blocks %d pending migration(s) of this release, so nothing was locked, snapshotted or migrated:%s",
			len(blocked), policy.Explain(blocked))}
		if notes := pipeline.Planning(ctx); notes != nil { // slipway plan: show the verdicts and the rest of the plan
			notes.Gate = err
			return plan, nil
		}
		return plan, err
	}
	return plan, nil
}
