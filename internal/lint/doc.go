// Package lint checks migration files before they ship: it parses each
// statement with the engine's real parser (PostgreSQL's own, through
// go-pgquery's WebAssembly build; the TiDB parser for MySQL; SQLite itself
// for SQLite syntax), runs rules named after squawk's (each mapped to the
// Atlas code where there is one), and classifies each migration as expand
// (the running release keeps working), contract (it breaks the running
// release) or destructive (it loses data). A Policy from the manifest turns
// classes and errors into a deploy verdict.
//
// A finding is suppressed by "-- slipway:ignore <rule> <reason>" on a line
// before its statement (or after it, on its line); the reason is required
// and is kept for the plan. A suppressed finding still counts for its
// migration's class: the class is a fact, the manifest's allow list is the
// decision.
//
// It does not connect to a database: it knows only what the files say, so
// a table created outside the migrations is assumed to have rows. For
// SQLite it runs the files, in order, on a scratch in-memory database of
// its own (engine-rejects reports what SQLite refuses to run).
package lint
