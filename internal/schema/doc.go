// Package schema is the database side of a deployment: Preflight's
// migration plan (the release's migrations against the environment's
// database, and the migration gate that lints them) and the Migrate stage
// (apply, resume, revert where reversible). It is apart from package
// pipeline so that only the functions that touch the database (preflight
// and migrate) link the SQL parsers and drivers; pipeline reaches it through
// pipeline.Deps.MigrationPlan.
package schema
