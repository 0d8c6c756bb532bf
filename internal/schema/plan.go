package schema

import (
	"context"
	"fmt"
	"strings"

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
	mm := b.Manifest.Migrations
	declared := lintEngine(mm.Engine)
	plan.EngineWarning = engineWarning(ms, declared, dbs.Family(), env)
	if len(st.Pending) == 0 {
		return plan, nil
	}

	plan.Engine = mm.Engine
	if plan.Engine == "" {
		plan.Engine = dbs.Family()
	}
	// Written for another engine than the database's: what the database's
	// own engine rejects would fail at Migrate, so it is found here too.
	var onDB map[int64][]lint.Finding
	if declared != "" && declared != dbs.Family() {
		onDB = map[int64][]lint.Finding{}
		for _, res := range lint.Lint(ms, lint.Options{Engine: dbs.Family()}) {
			for _, f := range res.Findings {
				if f.Rule == lint.SyntaxError || f.Rule == lint.EngineRejects {
					f.Message = fmt.Sprintf("%s's database is %s, and %s rejects this: %s", env, dbs.Family(), dbs.Family(), f.Message)
					onDB[res.Version] = append(onDB[res.Version], f)
				}
			}
		}
	}
	policy := lint.NewPolicy(mm.Allow, mm.BlockedClasses())
	pending := map[int64]bool{}
	for _, v := range plan.Pending {
		pending[v] = true
	}
	var blocked []lint.Result
	for _, res := range lint.Lint(ms, lint.Options{Engine: plan.Engine}) {
		if !pending[res.Version] {
			continue
		}
		res.Findings = append(res.Findings, onDB[res.Version]...)
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
		if plan.EngineWarning != "" {
			err.Message += "\n  Warning: " + plan.EngineWarning
		}
		if notes := pipeline.Planning(ctx); notes != nil { // slipway plan: show the verdicts and the rest of the plan
			notes.Gate = err
			return plan, nil
		}
		return plan, err
	}
	return plan, nil
}

// lintEngine is the engine a manifest's migrations.engine names, as a
// database family (postgres, mysql, sqlite), or "" when it names none.
func lintEngine(e string) string {
	switch strings.ToLower(e) {
	case "":
		return ""
	case "mysql", "mariadb", "aurora-mysql":
		return migrate.MySQL
	case "sqlite", "sqlite3":
		return migrate.SQLite
	}
	return migrate.Postgres
}

// engineWarning says when the migrations are written for another engine
// than env's database: migrations.engine names another one, or, when it
// names none, the database's engine rejects statements another engine
// reads. "" when they match (or nothing says otherwise).
func engineWarning(ms []migrate.Migration, declared, family, env string) string {
	if len(ms) == 0 {
		return ""
	}
	fix := "run them on a database of that engine"
	if family == migrate.SQLite {
		fix = "give the embedded environment that engine's database (slipway local init --database postgres://… or mysql://…)"
	}
	if declared != "" && declared != family {
		return fmt.Sprintf("the migrations are written for %s (migrations.engine) but %s's database is %s: they are checked for %s too, and what %s rejects is refused here instead of failing at Migrate; %s",
			declared, env, family, family, family, fix)
	}
	if declared != "" {
		return ""
	}
	rejected := func(engine string) int {
		n := 0
		for _, r := range lint.Lint(ms, lint.Options{Engine: engine}) {
			for _, f := range r.Findings {
				if f.Rule == lint.SyntaxError || f.Rule == lint.EngineRejects {
					n++
				}
			}
		}
		return n
	}
	onDB := rejected(family)
	if onDB == 0 {
		return ""
	}
	for _, other := range []string{migrate.Postgres, migrate.MySQL, migrate.SQLite} {
		if other != family && rejected(other) == 0 {
			return fmt.Sprintf("the migrations read as %s (%s rejects %d statement(s) %s reads) but %s's database is %s: set migrations.engine: %s in the manifest and %s",
				other, family, onDB, other, env, family, other, strings.Replace(fix, "that engine", other, 1))
		}
	}
	return ""
}
