package lint

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/migrate"
)

func TestMain(m *testing.M) {
	// Compile the PostgreSQL parser once for the whole package.
	WarmUp()
	os.Exit(m.Run())
}

// migrations builds migrations from file name → text.
func migrations(t testing.TB, files map[string]string) []migrate.Migration {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	ms, err := migrate.Load(fsys)
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	return ms
}

// reported lists the findings of the last migration that are not ignored,
// as "line rule".
func reported(rs []Result) []string {
	var out []string
	for _, f := range rs[len(rs)-1].Findings {
		if !f.Ignored {
			out = append(out, fmt.Sprintf("%d %s", f.Line, f.Rule))
		}
	}
	return out
}

const noTx = "-- slipway:no-transaction\n"

func TestRules(t *testing.T) {
	// Every case's file is the last migration; "before" files come first,
	// so the schema model knows what they created.
	tests := []struct {
		name   string
		engine string
		before string
		sql    string
		opts   Options
		want   []string
	}{
		{name: "syntax-error", sql: "-- add a column\nALTER TABLE users ADD COLUM x int;", want: []string{"2 syntax-error"}},
		{name: "syntax-error on a later line of a statement", sql: "SELECT 1;\nCREATE TABLE t (\n  id int,\n  name text text text\n);", want: []string{"4 syntax-error"}},
		{name: "no syntax-error", sql: "ALTER TABLE users ADD COLUMN x int;"},

		{name: "ban-drop-table", sql: "SELECT 1;\nDROP TABLE users;", want: []string{"2 ban-drop-table"}},
		{name: "ban-drop-table: a table created in the same file", sql: "CREATE TABLE tmp (id int);\nDROP TABLE tmp;"},
		{name: "ban-drop-column", sql: "ALTER TABLE users DROP COLUMN email;", want: []string{"1 ban-drop-column"}},
		{name: "ban-drop-column: adding one", sql: "ALTER TABLE users ADD COLUMN email text;"},
		{name: "ban-drop-database", sql: "DROP DATABASE app;", want: []string{"1 ban-drop-database"}},
		{name: "ban-drop-database: dropping a view", sql: "DROP VIEW app_view;"},

		{name: "renaming-table", sql: "ALTER TABLE users RENAME TO people;", want: []string{"1 renaming-table"}},
		{name: "renaming-table: a table created in the same file", sql: "CREATE TABLE t (id int);\nALTER TABLE t RENAME TO t2;"},
		{name: "renaming-column", sql: "\n\nALTER TABLE users RENAME COLUMN name TO full_name;", want: []string{"3 renaming-column"}},
		{name: "renaming-column: adding the new column", sql: "ALTER TABLE users ADD COLUMN full_name text;"},

		{name: "adding-required-field", sql: "ALTER TABLE users ADD COLUMN age int NOT NULL;", want: []string{"1 adding-required-field"}},
		{name: "adding-required-field: with a default", sql: "ALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 0;"},
		{name: "adding-not-nullable-field", sql: "ALTER TABLE users ALTER COLUMN email SET NOT NULL;", want: []string{"1 adding-not-nullable-field"}},
		{name: "adding-not-nullable-field: a NOT VALID check instead", sql: "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;"},
		{name: "disallowed-unique-constraint", sql: "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);", want: []string{"1 disallowed-unique-constraint"}},
		{name: "disallowed-unique-constraint: using an index", sql: "ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_email_idx;"},

		{name: "require-concurrent-index-creation", sql: "CREATE INDEX i ON users (email);", want: []string{"1 require-concurrent-index-creation"}},
		{name: "require-concurrent-index-creation: concurrently", sql: noTx + "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);"},
		{name: "require-concurrent-index-creation: a table created in the same file", sql: "CREATE TABLE t (id int);\nCREATE INDEX i ON t (id);"},
		{name: "require-concurrent-index-deletion", sql: "DROP INDEX i;", want: []string{"1 require-concurrent-index-deletion"}},
		{name: "require-concurrent-index-deletion: concurrently", sql: noTx + "DROP INDEX CONCURRENTLY IF EXISTS i;"},
		{name: "ban-concurrent-index-creation-in-transaction", sql: "CREATE INDEX CONCURRENTLY i ON users (email);", want: []string{"1 ban-concurrent-index-creation-in-transaction"}},
		{name: "ban-concurrent-index-creation-in-transaction: no-transaction file", sql: noTx + "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);"},

		{name: "adding-field-with-default", sql: "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();", want: []string{"1 adding-field-with-default"}},
		{name: "adding-field-with-default: serial", sql: "ALTER TABLE users ADD COLUMN n bigserial;", want: []string{"1 adding-field-with-default"}},
		{name: "adding-field-with-default: a stable default", sql: "ALTER TABLE users ADD COLUMN created_at timestamptz DEFAULT now(), ADD COLUMN n int DEFAULT 0;"},
		{name: "constraint-missing-not-valid", sql: "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0);", want: []string{"1 constraint-missing-not-valid"}},
		{name: "constraint-missing-not-valid: validated in the same transaction", sql: "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT c;", want: []string{"2 constraint-missing-not-valid"}},
		{name: "constraint-missing-not-valid: NOT VALID", sql: "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0) NOT VALID;"},
		{name: "adding-foreign-key-constraint", sql: "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);", want: []string{"1 adding-foreign-key-constraint"}},
		{name: "adding-foreign-key-constraint: NOT VALID", sql: "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;"},

		{name: "changing-column-type", sql: "ALTER TABLE users ALTER COLUMN age TYPE bigint;", want: []string{"1 changing-column-type"}},
		{name: "changing-column-type: narrower varchar", before: "CREATE TABLE t (name varchar(20));", sql: "ALTER TABLE t ALTER COLUMN name TYPE varchar(10);", want: []string{"1 changing-column-type"}},
		{name: "changing-column-type: varchar to text", before: "CREATE TABLE t (name varchar(20));", sql: "ALTER TABLE t ALTER COLUMN name TYPE text;"},
		{name: "changing-column-type: longer varchar", before: "CREATE TABLE t (name varchar(20));", sql: "ALTER TABLE t ALTER COLUMN name TYPE varchar(40);"},
		{name: "changing-column-type: wider numeric", before: "CREATE TABLE t (n numeric(10,2));", sql: "ALTER TABLE t ALTER COLUMN n TYPE numeric(12,2);"},
		{name: "ban-drop-not-null", sql: "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;", want: []string{"1 ban-drop-not-null"}},
		{name: "ban-drop-not-null: setting a default", sql: "ALTER TABLE users ALTER COLUMN email SET DEFAULT '';"},
		{name: "ban-truncate-cascade", sql: "TRUNCATE users CASCADE;", want: []string{"1 ban-truncate-cascade"}},
		{name: "ban-truncate-cascade: without cascade", sql: "TRUNCATE users;"},

		{name: "prefer-robust-stmts", sql: noTx + "CREATE INDEX CONCURRENTLY i ON users (email);", want: []string{"2 prefer-robust-stmts"}},
		{name: "prefer-robust-stmts: in a transaction", sql: "CREATE TABLE t (id int);"},
		{name: "require-lock-timeout: turned off by the file", sql: "SET lock_timeout = 0;\nALTER TABLE users ADD COLUMN x text;", want: []string{"2 require-lock-timeout"}},
		{name: "require-lock-timeout: Slipway sets it", sql: "ALTER TABLE users ADD COLUMN x text;"},
		{name: "require-lock-timeout: run elsewhere", sql: "ALTER TABLE users ADD COLUMN x text;", opts: Options{NoSessionTimeouts: true},
			want: []string{"1 require-lock-timeout", "1 require-statement-timeout"}},
		{name: "require-lock-timeout: run elsewhere, set by the file", sql: "SET lock_timeout = '5s';\nSET statement_timeout = '1min';\nALTER TABLE users ADD COLUMN x text;", opts: Options{NoSessionTimeouts: true}},
		{name: "require-statement-timeout: reset by the file", sql: "RESET statement_timeout;\nALTER TABLE users ADD COLUMN x text;", want: []string{"2 require-statement-timeout"}},
		{name: "require-statement-timeout: raised by the file", sql: "SET statement_timeout = '1h';\nALTER TABLE users ADD COLUMN x text;"},

		{name: "invalid-ignore: no reason", sql: "-- slipway:ignore ban-drop-table\nDROP TABLE users;", want: []string{"1 invalid-ignore", "2 ban-drop-table"}},
		{name: "invalid-ignore: unknown rule", sql: "DROP TABLE users; -- slipway:ignore ban-drop-tables old table\n", want: []string{"1 invalid-ignore", "1 ban-drop-table"}},
		{name: "ignore with a reason", sql: "-- slipway:ignore ban-drop-table replaced by accounts in 0007, unused since v12\nDROP TABLE users;"},

		{name: "mysql syntax-error", engine: "mysql", sql: "SELECT 1;\nALTER TABLE users ADD COLUM x int;", want: []string{"2 syntax-error"}},
		{name: "mysql ban-drop-table", engine: "mysql", sql: "DROP TABLE users;", want: []string{"1 ban-drop-table"}},
		{name: "mysql ban-drop-table: a view", engine: "mysql", sql: "DROP VIEW users_v;"},
		{name: "mysql ban-drop-column", engine: "mysql", sql: "ALTER TABLE users DROP COLUMN email;", want: []string{"1 ban-drop-column"}},
		{name: "mysql renaming-table", engine: "mysql", sql: "RENAME TABLE users TO people;", want: []string{"1 renaming-table"}},
		{name: "mysql renaming-column with CHANGE", engine: "mysql", sql: "ALTER TABLE users CHANGE COLUMN name full_name VARCHAR(50);", want: []string{"1 renaming-column"}},
		{name: "mysql renaming-column: CHANGE keeping the name", engine: "mysql", before: "CREATE TABLE t (name VARCHAR(50));", sql: "ALTER TABLE t CHANGE COLUMN name name VARCHAR(50);"},
		{name: "mysql adding-required-field", engine: "mysql", sql: "ALTER TABLE users ADD COLUMN age INT NOT NULL;", want: []string{"1 adding-required-field"}},
		{name: "mysql adding-required-field: with a default", engine: "mysql", sql: "ALTER TABLE users ADD COLUMN age INT NOT NULL DEFAULT 0;"},
		{name: "mysql adding-not-nullable-field", engine: "mysql", before: "CREATE TABLE t (email VARCHAR(50));", sql: "ALTER TABLE t MODIFY email VARCHAR(50) NOT NULL;", want: []string{"1 adding-not-nullable-field"}},
		{name: "mysql disallowed-unique-constraint", engine: "mysql", sql: "ALTER TABLE users ADD UNIQUE KEY u (email);", want: []string{"1 disallowed-unique-constraint"}},
		{name: "mysql disallowed-unique-constraint: a plain index", engine: "mysql", sql: "ALTER TABLE users ADD INDEX i (email);"},
		{name: "mysql changing-column-type", engine: "mysql", before: "CREATE TABLE t (n INT);", sql: "ALTER TABLE t MODIFY n VARCHAR(20);", want: []string{"1 changing-column-type"}},
		{name: "mysql changing-column-type: longer varchar", engine: "mysql", before: "CREATE TABLE t (s VARCHAR(20));", sql: "ALTER TABLE t MODIFY s VARCHAR(40);"},
		{name: "mysql require-lock-timeout", engine: "mysql", sql: "SET SESSION lock_wait_timeout = 31536000;\nALTER TABLE users ADD COLUMN x INT;", want: []string{"2 require-lock-timeout", "2 prefer-robust-stmts"}},
		{name: "mysql adding-foreign-key-constraint", engine: "mysql", sql: "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);", want: []string{"1 adding-foreign-key-constraint"}},
		{name: "mysql DDL runs statement by statement", engine: "mysql", sql: "CREATE TABLE a (id INT);\nCREATE TABLE b (id INT);", want: []string{"1 prefer-robust-stmts", "2 prefer-robust-stmts"}},
		{name: "mysql no PostgreSQL-only rule", engine: "mysql", sql: "CREATE INDEX i ON users (email);"},

		{name: "sqlite syntax-error", engine: "sqlite", sql: "CREATE TABLE t (id INTEGER PRIMARY KEY);\nCREATE TABL u (id int);", want: []string{"2 syntax-error"}},
		{name: "sqlite syntax PostgreSQL does not read", engine: "sqlite", sql: "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT);"},
		{name: "sqlite ban-drop-column", engine: "sqlite", before: "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);", sql: "ALTER TABLE users DROP COLUMN email;", want: []string{"1 ban-drop-column"}},
		{name: "sqlite no PostgreSQL-only rule", engine: "sqlite", before: "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);", sql: "CREATE INDEX i ON users (email);"},
		// SQLite runs each statement on a scratch database after the
		// earlier migrations: what it rejects only when it runs it is found.
		{name: "sqlite engine-rejects: a table no migration made", engine: "sqlite", sql: "CREATE INDEX i ON users (email);", want: []string{"1 engine-rejects"}},
		{name: "sqlite engine-rejects: a column the earlier migration did not make", engine: "sqlite", before: "CREATE TABLE users (id INTEGER PRIMARY KEY);", sql: "CREATE INDEX i ON users (email);", want: []string{"1 engine-rejects"}},
		{name: "sqlite engine-rejects: an earlier statement of the file made it", engine: "sqlite", sql: "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\nCREATE INDEX i ON users (email);"},
		{name: "sqlite engine-rejects: a PostgreSQL default", engine: "sqlite", sql: "CREATE TABLE events (\n  id INTEGER PRIMARY KEY,\n  created_at timestamptz NOT NULL DEFAULT now()\n);", want: []string{"1 syntax-error"}},
		{name: "sqlite engine-rejects: ignored with a reason", engine: "sqlite", sql: "-- slipway:ignore engine-rejects users is created by the legacy app\nCREATE INDEX i ON users (email);"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"0002_case.up.sql": tt.sql}
			if tt.before != "" {
				files["0001_before.up.sql"] = tt.before
			}
			opts := tt.opts
			opts.Engine = tt.engine
			got := reported(Lint(migrations(t, files), opts))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lint(%q) findings (-want +got):\n%s", tt.sql, diff)
			}
		})
	}
}

func TestEveryRuleHasATest(t *testing.T) {
	src, err := os.ReadFile("lint_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules {
		if !strings.Contains(string(src), ` `+r.ID+`"}`) && !strings.Contains(string(src), ` `+r.ID+`", "`) {
			t.Errorf("rule %s has no positive case in TestRules", r.ID)
		}
	}
}

func TestClassesAndReversibility(t *testing.T) {
	tests := []struct {
		name           string
		files          map[string]string
		wantClass      Class
		wantReversible bool
		wantEffects    []string
	}{
		{"expand", map[string]string{"0001_a.up.sql": "ALTER TABLE users ADD COLUMN nick text;", "0001_a.down.sql": "ALTER TABLE users DROP COLUMN nick;"}, Expand, true, nil},
		{"contract", map[string]string{"0001_a.up.sql": "ALTER TABLE users RENAME COLUMN name TO full_name;", "0001_a.down.sql": "ALTER TABLE users RENAME COLUMN full_name TO name;"},
			Contract, true, []string{"line 1: renames column users.name to full_name"}},
		{"destructive is never reversible", map[string]string{"0001_a.up.sql": "ALTER TABLE users ADD COLUMN x int;\nALTER TABLE users DROP COLUMN email;", "0001_a.down.sql": "ALTER TABLE users ADD COLUMN email text;"},
			Destructive, false, []string{"line 2: drops column users.email"}},
		{"plain truncate is destructive", map[string]string{"0001_a.up.sql": "TRUNCATE sessions;"}, Destructive, false, []string{"line 1: truncates sessions"}},
		{"ignored findings still classify", map[string]string{"0001_a.up.sql": "-- slipway:ignore ban-drop-table replaced by accounts\nDROP TABLE users;"},
			Destructive, false, []string{"line 2: drops table users"}},
		{"irreversible annotation", map[string]string{"0001_a.up.sql": "-- slipway:irreversible\nCREATE TABLE t (id int);", "0001_a.down.sql": "DROP TABLE t;"}, Expand, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Lint(migrations(t, tt.files), Options{})[0]
			if r.Class != tt.wantClass || r.Reversible != tt.wantReversible {
				t.Errorf("Lint() = class %s reversible %v, want %s %v", r.Class, r.Reversible, tt.wantClass, tt.wantReversible)
			}
			if diff := cmp.Diff(tt.wantEffects, r.Effects); diff != "" {
				t.Errorf("Lint() effects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIgnoreKeepsTheReason(t *testing.T) {
	r := Lint(migrations(t, map[string]string{"0001_a.up.sql": "DROP TABLE users; -- slipway:ignore ban-drop-table replaced by accounts in 0007\n"}), Options{})[0]
	if len(r.Findings) != 1 || !r.Findings[0].Ignored || r.Findings[0].Reason != "replaced by accounts in 0007" || r.Errors() != 0 {
		t.Errorf("Lint() findings = %+v, want one ignored ban-drop-table with its reason and no errors", r.Findings)
	}
}

func TestDownFileSyntaxError(t *testing.T) {
	r := Lint(migrations(t, map[string]string{"0001_a.up.sql": "CREATE TABLE t (id int);", "0001_a.down.sql": "DROP TABLE t;\nDROP TABEL u;"}), Options{})[0]
	if len(r.Findings) != 1 || r.Findings[0].File != "0001_a.down.sql" || r.Findings[0].Line != 2 || r.Findings[0].Rule != SyntaxError {
		t.Errorf("Lint() findings = %+v, want a syntax error at 0001_a.down.sql:2 (and no ban-drop-table in a down file)", r.Findings)
	}
}

// TestSQLiteRunsTheMigrations checks --engine sqlite with SQLite itself:
// each up file runs, in order, on a scratch database, so a statement
// SQLite rejects is reported with its file, line and SQLite's message; the
// files after it are not run (they may depend on it) and say so; a down
// file runs on the schema its up file made, and is undone.
func TestSQLiteRunsTheMigrations(t *testing.T) {
	ms := migrations(t, map[string]string{
		"0001_users.up.sql":     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);",
		"0001_users.down.sql":   "DROP TABLE users;",
		"0002_email.up.sql":     "ALTER TABLE users ADD COLUMN email TEXT;",
		"0002_email.down.sql":   "ALTER TABLE users DROP COLUMN emial;",
		"0003_index.up.sql":     "-- the index\nCREATE INDEX users_nick ON users (nickname);",
		"0004_depends.up.sql":   "CREATE INDEX users_nick2 ON users (nickname);",
		"0004_depends.down.sql": "DROP INDEX users_nick2;",
	})
	rs := Lint(ms, Options{Engine: "sqlite"})
	type got struct {
		File, Rule, Message string
		Line                int
	}
	var findings []got
	var notes []string
	for _, r := range rs {
		for _, f := range r.Findings {
			findings = append(findings, got{f.File, f.Rule, f.Message, f.Line})
		}
		notes = append(notes, r.Notes...)
	}
	want := []got{
		{"0002_email.down.sql", EngineRejects, "SQLite rejects this statement of the down migration, which would fail during a rollback: no such column: \"emial\"", 1},
		{"0003_index.up.sql", EngineRejects, "SQLite rejects this statement: no such column: nickname", 2},
	}
	if diff := cmp.Diff(want, findings); diff != "" {
		t.Errorf("Lint(sqlite) findings (-want +got):\n%s", diff)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "not run on SQLite: 0003_index.up.sql was rejected before it") {
		t.Errorf("Lint(sqlite) notes = %q, want one saying 0004 was not run after 0003's rejection", notes)
	}
}

// TestSQLiteScratchIsPerLint checks that one lint's scratch schema does
// not leak into the next: the same file is checked from an empty database
// each time.
func TestSQLiteScratchIsPerLint(t *testing.T) {
	ms := migrations(t, map[string]string{"0001_t.up.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY);"})
	for i := range 3 {
		if got := reported(Lint(ms, Options{Engine: "sqlite"})); got != nil {
			t.Fatalf("Lint(sqlite) run %d = %v, want no finding (\"table t already exists\" means the scratch database was shared)", i+1, got)
		}
	}
}
