package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/migrate/migratetest"
)

// load builds migrations from file name → text.
func load(t *testing.T, files map[string]string) []migrate.Migration {
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

// eachEngine runs fn on a fresh database of every engine.
func eachEngine(t *testing.T, fn func(t *testing.T, engine string, db *sql.DB)) {
	for _, engine := range migratetest.Engines {
		t.Run(engine, func(t *testing.T) {
			db, _ := migratetest.Open(t, engine)
			fn(t, engine, db)
		})
	}
}

func sleepSQL(engine string, secs float64) string {
	switch engine {
	case migrate.Postgres:
		return fmt.Sprintf("SELECT pg_sleep(%g)", secs)
	case migrate.MySQL:
		return fmt.Sprintf("DO SLEEP(%g)", secs)
	}
	// SQLite cannot sleep; a recursive count keeps it busy a little.
	return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT count(*) FROM c"
}

func tableExists(t *testing.T, db *sql.DB, table string) bool {
	t.Helper()
	_, err := db.Exec("SELECT 1 FROM " + table + " WHERE 1 = 0")
	return err == nil
}

func TestUpStatusAndStateRows(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string, db *sql.DB) {
		ctx := context.Background()
		ms := load(t, map[string]string{
			"0001_create_users.up.sql":   "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL);\nINSERT INTO users (id, name) VALUES (1, 'ada');",
			"0001_create_users.down.sql": "DROP TABLE users;",
			"0002_add_email.up.sql":      "ALTER TABLE users ADD COLUMN email VARCHAR(100);",
		})
		r := &migrate.Runner{DB: db, DeploymentID: "dep-1"}
		st, err := r.Status(ctx, ms)
		if err != nil {
			t.Fatalf("Status() before = %v", err)
		}
		if st.Current != 0 || len(st.Pending) != 2 {
			t.Errorf("Status() before = current %d, %d pending; want 0 and 2", st.Current, len(st.Pending))
		}
		if tableExists(t, db, migrate.Table) {
			t.Errorf("Status() created %s; it must only read", migrate.Table)
		}
		got, err := r.Up(ctx, ms)
		if err != nil {
			t.Fatalf("Up() error = %v", err)
		}
		if diff := cmp.Diff([]int64{1, 2}, got); diff != "" {
			t.Errorf("Up() applied (-want +got):\n%s", diff)
		}
		rows, err := r.Applied(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("Applied() = %d rows, want 2", len(rows))
		}
		a := rows[0]
		if a.Name != "create_users" || a.Checksum != ms[0].Checksum || a.StatementsApplied != 2 || a.StatementsTotal != 2 ||
			a.Dirty || a.DeploymentID != "dep-1" || !a.Reversible || a.Down != "DROP TABLE users;" || a.AppliedAt.IsZero() {
			t.Errorf("Applied()[0] = %+v, want create_users, 2/2 statements, clean, dep-1, reversible with its down SQL", a)
		}
		if rows[1].Reversible {
			t.Errorf("Applied()[1].Reversible = true, want false (no down file)")
		}
		again, err := r.Up(ctx, ms)
		if err != nil || len(again) != 0 {
			t.Errorf("Up() again = %v, %v; want nothing applied", again, err)
		}
		st, err = r.Status(ctx, ms)
		if err != nil || st.Current != 2 || len(st.Pending) != 0 {
			t.Errorf("Status() after = current %d, %d pending, %v; want 2, 0, nil", st.Current, len(st.Pending), err)
		}
	})
}

func TestTwoRunnersAtOnceApplyEachMigrationOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string, db *sql.DB) {
		ctx := context.Background()
		files := map[string]string{}
		for v := 1; v <= 4; v++ {
			files[fmt.Sprintf("%04d_step.up.sql", v)] = fmt.Sprintf("CREATE TABLE t%d (id INT);\n%s;\nINSERT INTO t%d (id) VALUES (%d);", v, sleepSQL(engine, 0.1), v, v)
		}
		ms := load(t, files)
		var wg sync.WaitGroup
		results := make([][]int64, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := &migrate.Runner{DB: db, DeploymentID: fmt.Sprintf("runner-%d", i), LockWait: 30 * time.Second}
				results[i], errs[i] = r.Up(ctx, ms)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("runner %d: Up() error = %v", i, err)
			}
		}
		all := append(append([]int64(nil), results[0]...), results[1]...)
		if len(all) != 4 || (len(results[0]) != 0 && len(results[1]) != 0) {
			t.Errorf("Up() applied %v and %v; want one runner to apply all four and the other none", results[0], results[1])
		}
		for v := 1; v <= 4; v++ {
			if n := migratetest.Count(t, db, fmt.Sprintf("t%d", v)); n != 1 {
				t.Errorf("t%d has %d rows, want 1 (applied once)", v, n)
			}
		}
	})
}

func TestFailureInTransactionLeavesNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string, db *sql.DB) {
		ctx := context.Background()
		migratetest.Exec(t, db, "CREATE TABLE items (id INT PRIMARY KEY)")
		// MySQL commits DDL implicitly, so its transactional case is data only.
		up := "CREATE TABLE extra (id INT);\nINSERT INTO items (id) VALUES (1);\nINSERT INTO missing (id) VALUES (1);"
		if engine == migrate.MySQL {
			up = "INSERT INTO items (id) VALUES (1);\nINSERT INTO items (id) VALUES (2);\nINSERT INTO missing (id) VALUES (1);"
		}
		ms := load(t, map[string]string{"0001_broken.up.sql": up})
		if mode := migrate.Mode(ms[0], engine); mode != "transaction" {
			t.Errorf("Mode() = %q, want transaction", mode)
		}
		r := &migrate.Runner{DB: db}
		_, err := r.Up(ctx, ms)
		var se *migrate.StatementError
		if !errors.As(err, &se) || se.Statement != 3 || se.Line != 3 || !se.Transaction {
			t.Fatalf("Up() error = %v, want a *StatementError at statement 3, line 3, in a transaction", err)
		}
		if !strings.Contains(err.Error(), "none of it was applied") {
			t.Errorf("Up() error = %q, want it to say none of it was applied", err)
		}
		if n := migratetest.Count(t, db, "items"); n != 0 {
			t.Errorf("items has %d rows after the failed file, want 0", n)
		}
		if tableExists(t, db, "extra") {
			t.Errorf("table extra exists after the failed file")
		}
		rows, err := r.Applied(ctx)
		if err != nil || len(rows) != 0 {
			t.Errorf("Applied() = %+v, %v; want no row (nothing dirty)", rows, err)
		}
	})
}

func TestNoTransactionFailureIsDirtyThenResumes(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string, db *sql.DB) {
		ctx := context.Background()
		broken := "-- slipway:no-transaction\nCREATE TABLE a (id INT);\nINSERT INTO a (id) VALUES (1);\nINSERT INTO missing (id) VALUES (2);\nINSERT INTO a (id) VALUES (3);"
		ms := load(t, map[string]string{"0001_steps.up.sql": broken})
		if mode := migrate.Mode(ms[0], engine); !strings.HasPrefix(mode, "statement by statement") {
			t.Errorf("Mode() = %q, want statement by statement", mode)
		}
		r := &migrate.Runner{DB: db, DeploymentID: "dep-1"}
		_, err := r.Up(ctx, ms)
		var se *migrate.StatementError
		if !errors.As(err, &se) || se.Statement != 3 || se.Applied != 2 || se.Line != 4 || se.Transaction {
			t.Fatalf("Up() error = %v, want statement 3 (line 4) failed after 2 applied", err)
		}
		if !strings.Contains(err.Error(), "marked dirty") {
			t.Errorf("Up() error = %q, want it to say the migration is dirty", err)
		}
		rows, _ := r.Applied(ctx)
		if len(rows) != 1 || !rows[0].Dirty || rows[0].StatementsApplied != 2 || rows[0].StatementsTotal != 4 || rows[0].LastError == "" {
			t.Fatalf("Applied() = %+v, want one dirty row at 2 of 4 with the error", rows)
		}

		// The same file again: refused, saying what to do.
		_, err = r.Up(ctx, ms)
		var de *migrate.DirtyError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "fix it") {
			t.Fatalf("Up(same file) error = %v, want a *DirtyError telling to fix statement 3", err)
		}
		if _, err := r.Status(ctx, ms); !errors.As(err, &de) {
			t.Errorf("Status(same file) error = %v, want *DirtyError", err)
		}

		// Statements already applied changed: refused.
		edited := load(t, map[string]string{"0001_steps.up.sql": strings.Replace(broken, "VALUES (1)", "VALUES (10)", 1)})
		if _, err := r.Up(ctx, edited); !errors.As(err, &de) || !strings.Contains(err.Error(), "already applied") {
			t.Errorf("Up(applied statements edited) error = %v, want a *DirtyError about applied statements", err)
		}

		// Fixed: resumes at statement 3; statements 1 and 2 do not run again.
		fixed := load(t, map[string]string{"0001_steps.up.sql": strings.Replace(broken, "INSERT INTO missing (id)", "INSERT INTO a (id)", 1)})
		st, err := r.Status(ctx, fixed)
		if err != nil || st.Dirty == nil || st.ResumeAt != 3 || len(st.Pending) != 1 {
			t.Fatalf("Status(fixed) = dirty %v resume at %d, %d pending, %v; want resume at 3", st.Dirty, st.ResumeAt, len(st.Pending), err)
		}
		got, err := r.Up(ctx, fixed)
		if err != nil || len(got) != 1 {
			t.Fatalf("Up(fixed) = %v, %v; want version 1 resumed", got, err)
		}
		if n := migratetest.Count(t, db, "a"); n != 3 {
			t.Errorf("a has %d rows, want 3 (1, 2 and 3, each once)", n)
		}
		rows, _ = r.Applied(ctx)
		if len(rows) != 1 || rows[0].Dirty || rows[0].StatementsApplied != 4 || rows[0].Checksum != fixed[0].Checksum || rows[0].LastError != "" {
			t.Errorf("Applied() = %+v, want a clean row at 4 of 4 with the fixed checksum", rows)
		}
	})
}

func TestFirstStatementFailureInNoTransactionFileLeavesNoRow(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string, db *sql.DB) {
		ms := load(t, map[string]string{"0001_x.up.sql": "-- slipway:no-transaction\nINSERT INTO missing (id) VALUES (1);\nCREATE TABLE b (id INT);"})
		r := &migrate.Runner{DB: db}
		if _, err := r.Up(context.Background(), ms); err == nil || !strings.Contains(err.Error(), "no statement of the file was applied") {
			t.Fatalf("Up() error = %v, want a failure that applied nothing", err)
		}
		if rows, _ := r.Applied(context.Background()); len(rows) != 0 {
			t.Errorf("Applied() = %+v, want no row", rows)
		}
	})
}

func TestChecksumDriftRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string, db *sql.DB) {
		ctx := context.Background()
		files := map[string]string{
			"0001_a.up.sql": "CREATE TABLE a (id INT);",
			"0003_c.up.sql": "CREATE TABLE c (id INT);",
		}
		r := &migrate.Runner{DB: db}
		if _, err := r.Up(ctx, load(t, files)); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			edit  func(map[string]string)
			check func(error) bool
		}{
			{"edited applied file", func(f map[string]string) { f["0001_a.up.sql"] = "CREATE TABLE a (id BIGINT);" },
				func(err error) bool { var de *migrate.DriftError; return errors.As(err, &de) && de.Version == 1 }},
			{"inserted before applied", func(f map[string]string) { f["0002_b.up.sql"] = "CREATE TABLE b (id INT);" },
				func(err error) bool { var oe *migrate.OrderError; return errors.As(err, &oe) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := map[string]string{}
				for k, v := range files {
					f[k] = v
				}
				tt.edit(f)
				ms := load(t, f)
				if _, err := r.Up(ctx, ms); !tt.check(err) {
					t.Errorf("Up() error = %v, want a refusal", err)
				}
				if _, err := r.Status(ctx, ms); !tt.check(err) {
					t.Errorf("Status() error = %v, want a refusal", err)
				}
			})
		}
	})
}

func TestDownToRunsOnlyReversibleDowns(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string, db *sql.DB) {
		ctx := context.Background()
		ms := load(t, map[string]string{
			"0001_a.up.sql":   "CREATE TABLE a (id INT);",
			"0001_a.down.sql": "DROP TABLE a;",
			"0002_b.up.sql":   "-- slipway:irreversible\nCREATE TABLE b (id INT);",
			"0002_b.down.sql": "DROP TABLE b;",
			"0003_c.up.sql":   "CREATE TABLE c (id INT);",
			"0003_c.down.sql": "DROP TABLE c;",
			"0004_d.up.sql":   "CREATE TABLE d (id INT);",
			"0004_d.down.sql": "DROP TABLE d;",
		})
		r := &migrate.Runner{DB: db}
		if _, err := r.Up(ctx, ms); err != nil {
			t.Fatal(err)
		}
		reverted, kept, err := r.DownTo(ctx, 0, nil)
		if err != nil {
			t.Fatalf("DownTo(0) error = %v", err)
		}
		if diff := cmp.Diff([]int64{4, 3}, reverted); diff != "" {
			t.Errorf("DownTo(0) reverted (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int64{2, 1}, kept); diff != "" {
			t.Errorf("DownTo(0) kept (-want +got):\n%s", diff)
		}
		for table, want := range map[string]bool{"a": true, "b": true, "c": false, "d": false} {
			if got := tableExists(t, db, table); got != want {
				t.Errorf("table %s exists = %v, want %v", table, got, want)
			}
		}
		st, err := r.Status(ctx, ms)
		if err != nil || st.Current != 2 || len(st.Pending) != 2 {
			t.Errorf("Status() = current %d, %d pending, %v; want 2 and 2 pending", st.Current, len(st.Pending), err)
		}
	})
}

func TestReleaseOlderThanDatabase(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string, db *sql.DB) {
		ctx := context.Background()
		newer := map[string]string{
			"0001_a.up.sql": "CREATE TABLE a (id INT);",
			"0002_b.up.sql": "CREATE TABLE b (id INT);",
			"0003_c.up.sql": "CREATE TABLE c (id INT);",
		}
		r := &migrate.Runner{DB: db}
		if _, err := r.Up(ctx, load(t, newer)); err != nil {
			t.Fatal(err)
		}
		older := load(t, map[string]string{"0001_a.up.sql": newer["0001_a.up.sql"], "0002_b.up.sql": newer["0002_b.up.sql"]})
		st, err := r.Status(ctx, older)
		if err != nil {
			t.Fatalf("Status(older release) error = %v, want none: an older release is an application rollback", err)
		}
		var ahead []int64
		for _, a := range st.Ahead {
			ahead = append(ahead, a.Version)
		}
		if st.Current != 3 || len(st.Pending) != 0 || !cmp.Equal(ahead, []int64{3}) {
			t.Errorf("Status(older release) = current %d, pending %d, ahead %v; want 3, 0, [3]", st.Current, len(st.Pending), ahead)
		}
		if got, err := r.Up(ctx, older); err != nil || len(got) != 0 {
			t.Errorf("Up(older release) = %v, %v; want nothing to do", got, err)
		}
	})
}

func TestLockHeldByAnotherSessionFailsFast(t *testing.T) {
	for _, engine := range []string{migrate.Postgres, migrate.MySQL} {
		t.Run(engine, func(t *testing.T) {
			db, _ := migratetest.Open(t, engine)
			ctx := context.Background()
			migratetest.Exec(t, db, "CREATE TABLE busy (id INT)")
			// Another session reads the table in an open transaction and
			// keeps its lock.
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.Exec("SELECT * FROM busy"); err != nil {
				t.Fatal(err)
			}
			ms := load(t, map[string]string{"0001_alter.up.sql": "ALTER TABLE busy ADD COLUMN note VARCHAR(10);"})
			r := &migrate.Runner{DB: db, LockTimeout: 500 * time.Millisecond}
			start := time.Now()
			_, err = r.Up(ctx, ms)
			took := time.Since(start)
			var se *migrate.StatementError
			if !errors.As(err, &se) || se.LockTimeout == 0 {
				t.Fatalf("Up() error = %v, want a *StatementError for a lock timeout", err)
			}
			if !strings.Contains(err.Error(), "lock_timeout") {
				t.Errorf("Up() error = %q, want it to name lock_timeout", err)
			}
			if took > 5*time.Second {
				t.Errorf("Up() took %s with a 500ms lock timeout, want it to fail fast", took)
			}
			tx.Rollback()
			if rows, _ := r.Applied(ctx); len(rows) != 0 {
				t.Errorf("Applied() = %+v, want nothing", rows)
			}
			if _, err := r.Up(ctx, ms); err != nil {
				t.Errorf("Up() after the lock was released = %v", err)
			}
		})
	}
}

func TestSecondRunnerWaitsThenNamesTheHolder(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string, db *sql.DB) {
		ctx := context.Background()
		var hold func()
		if engine == migrate.SQLite {
			// Another connection holds the write lock.
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
				t.Fatal(err)
			}
			hold = func() { conn.ExecContext(ctx, "ROLLBACK"); conn.Close() }
		} else {
			// A first runner is in the middle of a migration that waits
			// for a gate this test holds from its own connection; the
			// second runner starts once the first is seen blocked on
			// the gate, so the first holds the runner lock by then.
			gate, blocked := migrationGate(t, engine, db)
			first := load(t, map[string]string{"0001_gate.up.sql": gate})
			done := make(chan error, 1)
			go func() {
				_, err := (&migrate.Runner{DB: db, DeploymentID: "first-deploy", LockTimeout: time.Minute}).Up(ctx, first)
				done <- err
			}()
			release := blocked(done)
			hold = func() {
				release()
				if err := <-done; err != nil {
					t.Errorf("first runner: %v", err)
				}
			}
		}
		r := &migrate.Runner{DB: db, DeploymentID: "second", LockWait: 400 * time.Millisecond}
		start := time.Now()
		_, err := r.Up(ctx, load(t, map[string]string{"0001_slow.up.sql": sleepSQL(engine, 3) + ";"}))
		took := time.Since(start)
		hold()
		var le *migrate.LockError
		if !errors.As(err, &le) {
			t.Fatalf("Up() error = %v, want a *LockError", err)
		}
		if le.Waited < r.LockWait || took < r.LockWait {
			t.Errorf("Up() gave up after %s (LockError.Waited %s), want it to wait LockWait %s first", took, le.Waited, r.LockWait)
		}
		want := map[string]string{migrate.Postgres: "first-deploy", migrate.MySQL: "MySQL connection", migrate.SQLite: "write lock"}[engine]
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nothing was applied") {
			t.Errorf("Up() error = %q, want it to name the holder (%q) and say nothing was applied", err, want)
		}
	})
}

// migrationGate holds a lock on a dedicated connection of db and returns
// a migration that waits for it, and blocked: blocked waits until a
// session of this database is seen waiting for the gate (failing the
// test if the runner ends first, done, or after 30s) and returns the
// function that opens the gate.
func migrationGate(t *testing.T, engine string, db *sql.DB) (string, func(done <-chan error) func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var gate, waiting, open string
	switch engine {
	case migrate.Postgres:
		const key = 7214
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("SELECT pg_advisory_lock(%d)", key)); err != nil {
			t.Fatal(err)
		}
		gate = fmt.Sprintf("SELECT pg_advisory_xact_lock(%d);", key)
		waiting = fmt.Sprintf(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %d
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, key)
		open = fmt.Sprintf("SELECT pg_advisory_unlock(%d)", key)
	case migrate.MySQL:
		var name string
		if err := conn.QueryRowContext(ctx, "SELECT CONCAT(DATABASE(), '_gate')").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "DO GET_LOCK('"+name+"', 0)"); err != nil {
			t.Fatal(err)
		}
		gate = "DO GET_LOCK('" + name + "', 60);\nDO RELEASE_LOCK('" + name + "');"
		waiting = "SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%GET_LOCK(''" + name + "'', 60)%' AND ID <> CONNECTION_ID()"
		open = "DO RELEASE_LOCK('" + name + "')"
	default:
		t.Fatalf("no gate for %s", engine)
	}
	return gate, func(done <-chan error) func() {
		deadline := time.Now().Add(30 * time.Second)
		for {
			var n int
			if err := conn.QueryRowContext(ctx, waiting).Scan(&n); err != nil {
				t.Fatalf("look for the first runner waiting at the gate: %v", err)
			}
			if n > 0 {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("the first runner ended (%v) before it was seen waiting at the gate", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("the first runner was not seen waiting at the gate within 30s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		return func() {
			if _, err := conn.ExecContext(ctx, open); err != nil {
				t.Errorf("open the gate: %v", err)
			}
		}
	}
}

func TestSessionTimeoutsAreSet(t *testing.T) {
	for _, engine := range []string{migrate.Postgres, migrate.MySQL} {
		t.Run(engine, func(t *testing.T) {
			db, _ := migratetest.Open(t, engine)
			show := map[string]string{
				migrate.Postgres: "INSERT INTO seen (v) SELECT current_setting('lock_timeout') || ' ' || current_setting('statement_timeout');",
				migrate.MySQL:    "INSERT INTO seen (v) SELECT CONCAT(@@SESSION.lock_wait_timeout, ' ', @@SESSION.innodb_lock_wait_timeout);",
			}[engine]
			ms := load(t, map[string]string{"0001_t.up.sql": "CREATE TABLE seen (v VARCHAR(100));", "0002_t.up.sql": show})
			r := &migrate.Runner{DB: db, LockTimeout: 3 * time.Second, StatementTimeout: 2 * time.Minute}
			if _, err := r.Up(context.Background(), ms); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := db.QueryRow("SELECT v FROM seen").Scan(&got); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{migrate.Postgres: "3s 2min", migrate.MySQL: "3 3"}[engine]
			if got != want {
				t.Errorf("session timeouts = %q, want %q", got, want)
			}
		})
	}
}
