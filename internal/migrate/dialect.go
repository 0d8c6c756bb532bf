package migrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
)

// execer is what *sql.Conn and *sql.Tx have in common.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dialect is what differs between the engines: the state table's types,
// the runner lock, session timeouts and how errors are recognised.
type dialect interface {
	name() string
	rebind(q string) string
	columns() []column
	// prepare names the session and sets its timeouts.
	prepare(ctx context.Context, c *sql.Conn, r *Runner) error
	// lock takes the runner lock, waiting up to wait; unlock releases it.
	// ok reports whether the run succeeded (SQLite commits either way).
	lock(ctx context.Context, c *sql.Conn, wait time.Duration) error
	unlock(ctx context.Context, c *sql.Conn) error
	// unit starts an atomic unit (a transaction, or a savepoint inside
	// SQLite's lock transaction).
	unit(ctx context.Context, c *sql.Conn) (execer, func() error, func() error, error)
	// atomic reports whether statement can be rolled back with its unit
	// (MySQL commits DDL implicitly).
	atomic(statement string) bool
	timeArg(t time.Time) any
	lockTimeout(err error) bool
	retryable(err error) bool
}

// column is one column of the state table.
type column struct{ name, ddl string }

func dialectFor(engine string) (dialect, error) {
	switch engine {
	case Postgres:
		return postgresDialect{}, nil
	case MySQL:
		return mysqlDialect{}, nil
	case SQLite:
		return sqliteDialect{}, nil
	}
	return nil, fmt.Errorf("migrate: engine %q is not supported (postgres, mysql or sqlite)", engine)
}

// Engine reports the engine family of db's driver: postgres, mysql or sqlite.
func Engine(db *sql.DB) string {
	switch db.Driver().(type) {
	case *stdlib.Driver:
		return Postgres
	case *mysql.MySQLDriver, mysql.MySQLDriver:
		return MySQL
	case *sqlite.Driver:
		return SQLite
	}
	return ""
}

// lockKey is the advisory lock key (PostgreSQL) and lock name (MySQL) of
// the runner lock.
var lockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("slipway:" + Table))
	return int64(h.Sum64() & math.MaxInt64)
}()

// --- PostgreSQL ---

type postgresDialect struct{}

func (postgresDialect) name() string { return Postgres }

func (postgresDialect) rebind(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (postgresDialect) columns() []column {
	return []column{
		{"version", "bigint PRIMARY KEY"},
		{"name", "text NOT NULL"},
		{"checksum", "text NOT NULL"},
		{"applied_at", "timestamptz NOT NULL"},
		{"duration_ms", "bigint NOT NULL DEFAULT 0"},
		{"statements_applied", "integer NOT NULL DEFAULT 0"},
		{"statements_total", "integer NOT NULL DEFAULT 0"},
		{"dirty", "boolean NOT NULL DEFAULT false"},
		{"deployment_id", "text NOT NULL DEFAULT ''"},
		{"reversible", "boolean NOT NULL DEFAULT false"},
		{"down_sql", "text NOT NULL DEFAULT ''"},
		{"no_transaction", "boolean NOT NULL DEFAULT false"},
		{"progress_checksum", "text NOT NULL DEFAULT ''"},
		{"last_error", "text NOT NULL DEFAULT ''"},
		{"error_retryable", "boolean NOT NULL DEFAULT false"},
	}
}

func (postgresDialect) prepare(ctx context.Context, c *sql.Conn, r *Runner) error {
	app := "slipway-migrate"
	if r.DeploymentID != "" {
		app += " " + r.DeploymentID
	}
	if len(app) > 63 {
		app = app[:63]
	}
	for _, q := range []string{
		"SELECT set_config('application_name', $1, false)",
		"SELECT set_config('lock_timeout', $1, false)",
		"SELECT set_config('statement_timeout', $1, false)",
	} {
		var arg string
		switch {
		case strings.Contains(q, "application_name"):
			arg = app
		case strings.Contains(q, "lock_timeout"):
			arg = strconv.FormatInt(r.lockTimeout().Milliseconds(), 10)
		default:
			arg = strconv.FormatInt(r.statementTimeout().Milliseconds(), 10)
		}
		var out string
		if err := c.QueryRowContext(ctx, q, arg).Scan(&out); err != nil {
			return fmt.Errorf("set session %s: %w", strings.Split(q, "'")[1], err)
		}
	}
	return nil
}

func (postgresDialect) lock(ctx context.Context, c *sql.Conn, wait time.Duration) error {
	return poll(ctx, wait, func() (bool, error) {
		var ok bool
		err := c.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", lockKey).Scan(&ok)
		return ok, err
	}, func() string {
		var pid int64
		var app, user, addr, state string
		var since time.Time
		err := c.QueryRowContext(ctx, `SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''),
				coalesce(host(a.client_addr), 'local socket'), coalesce(a.backend_start, now()), coalesce(a.state, '')
			FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
				AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND l.classid::bigint = $1 AND l.objid::bigint = $2
			LIMIT 1`, lockKey>>32, lockKey&0xffffffff).Scan(&pid, &app, &user, &addr, &since, &state)
		if err != nil {
			return ""
		}
		who := fmt.Sprintf("PostgreSQL backend pid %d", pid)
		if app != "" {
			who += fmt.Sprintf(" (%s)", app)
		}
		return fmt.Sprintf("%s, user %s from %s, connected since %s, now %s; if it is stuck, end it with SELECT pg_terminate_backend(%d)",
			who, user, addr, since.UTC().Format(time.RFC3339), state, pid)
	})
}

func (postgresDialect) unlock(ctx context.Context, c *sql.Conn) error {
	_, err := c.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", lockKey)
	return err
}

func (postgresDialect) unit(ctx context.Context, c *sql.Conn) (execer, func() error, func() error, error) {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	return tx, tx.Commit, tx.Rollback, nil
}

func (postgresDialect) atomic(string) bool { return true }

func (postgresDialect) timeArg(t time.Time) any { return t.UTC() }

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func (postgresDialect) lockTimeout(err error) bool { return pgCode(err) == "55P03" }

func (postgresDialect) retryable(err error) bool {
	switch code := pgCode(err); {
	case code == "55P03", code == "57014", code == "40001", code == "40P01", code == "57P01", strings.HasPrefix(code, "08"):
		return true
	}
	return errors.Is(err, driver.ErrBadConn) || pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

// --- MySQL and MariaDB ---

type mysqlDialect struct{}

const mysqlLockName = "CONCAT('slipway:', LEFT(SHA1(COALESCE(DATABASE(), '')), 40))"

func (mysqlDialect) name() string           { return MySQL }
func (mysqlDialect) rebind(q string) string { return q }

func (mysqlDialect) columns() []column {
	return []column{
		{"version", "BIGINT NOT NULL PRIMARY KEY"},
		{"name", "VARCHAR(255) NOT NULL"},
		{"checksum", "VARCHAR(64) NOT NULL"},
		{"applied_at", "DATETIME(6) NOT NULL"},
		{"duration_ms", "BIGINT NOT NULL DEFAULT 0"},
		{"statements_applied", "INT NOT NULL DEFAULT 0"},
		{"statements_total", "INT NOT NULL DEFAULT 0"},
		{"dirty", "BOOLEAN NOT NULL DEFAULT FALSE"},
		{"deployment_id", "VARCHAR(255) NOT NULL DEFAULT ''"},
		{"reversible", "BOOLEAN NOT NULL DEFAULT FALSE"},
		{"down_sql", "LONGTEXT NOT NULL"},
		{"no_transaction", "BOOLEAN NOT NULL DEFAULT FALSE"},
		{"progress_checksum", "VARCHAR(64) NOT NULL DEFAULT ''"},
		{"last_error", "TEXT NOT NULL"},
		{"error_retryable", "BOOLEAN NOT NULL DEFAULT FALSE"},
	}
}

func (mysqlDialect) prepare(ctx context.Context, c *sql.Conn, r *Runner) error {
	// lock_wait_timeout bounds metadata locks (DDL waiting behind a
	// transaction); innodb_lock_wait_timeout bounds row locks. Both take
	// whole seconds.
	secs := int64(math.Ceil(r.lockTimeout().Seconds()))
	if secs < 1 {
		secs = 1
	}
	if _, err := c.ExecContext(ctx, "SET SESSION lock_wait_timeout = ?, SESSION innodb_lock_wait_timeout = ?", secs, secs); err != nil {
		return fmt.Errorf("set session lock_wait_timeout: %w", err)
	}
	var version string
	if err := c.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	st := r.statementTimeout()
	var err error
	if strings.Contains(strings.ToLower(version), "mariadb") {
		_, err = c.ExecContext(ctx, "SET SESSION max_statement_time = ?", st.Seconds())
	} else {
		// MySQL bounds only SELECT statements.
		_, err = c.ExecContext(ctx, "SET SESSION max_execution_time = ?", st.Milliseconds())
	}
	if err != nil {
		return fmt.Errorf("set session statement timeout: %w", err)
	}
	return nil
}

func (mysqlDialect) lock(ctx context.Context, c *sql.Conn, wait time.Duration) error {
	return poll(ctx, wait, func() (bool, error) {
		var got sql.NullInt64
		// GET_LOCK waits up to its timeout itself; a short one keeps ctx responsive.
		err := c.QueryRowContext(ctx, "SELECT GET_LOCK("+mysqlLockName+", ?)", min(1, max(0, int(wait.Seconds())))).Scan(&got)
		return got.Valid && got.Int64 == 1, err
	}, func() string {
		var id sql.NullInt64
		if err := c.QueryRowContext(ctx, "SELECT IS_USED_LOCK("+mysqlLockName+")").Scan(&id); err != nil || !id.Valid {
			return ""
		}
		var user, host, command string
		var secs int64
		err := c.QueryRowContext(ctx, "SELECT USER, HOST, COMMAND, TIME FROM information_schema.PROCESSLIST WHERE ID = ?", id.Int64).Scan(&user, &host, &command, &secs)
		if err != nil {
			return fmt.Sprintf("MySQL connection %d; if it is stuck, end it with KILL %d", id.Int64, id.Int64)
		}
		return fmt.Sprintf("MySQL connection %d, user %s from %s, %s for %ds; if it is stuck, end it with KILL %d", id.Int64, user, host, command, secs, id.Int64)
	})
}

func (mysqlDialect) unlock(ctx context.Context, c *sql.Conn) error {
	_, err := c.ExecContext(ctx, "DO RELEASE_LOCK("+mysqlLockName+")")
	return err
}

func (mysqlDialect) unit(ctx context.Context, c *sql.Conn) (execer, func() error, func() error, error) {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	return tx, tx.Commit, tx.Rollback, nil
}

// atomic reports whether a MySQL statement stays inside a transaction:
// data changes do; DDL and most other statements commit implicitly.
func (mysqlDialect) atomic(statement string) bool {
	switch firstWord(statement) {
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH", "SET", "DO", "VALUES", "TABLE":
		return true
	}
	return false
}

func (mysqlDialect) timeArg(t time.Time) any { return t.UTC() }

func mysqlNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func (mysqlDialect) lockTimeout(err error) bool { return mysqlNumber(err) == 1205 }

func (mysqlDialect) retryable(err error) bool {
	switch mysqlNumber(err) {
	case 1205, 1213, 3024, 1969, 2006, 2013:
		return true
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn)
}

// --- SQLite ---

// sqliteDialect's runner lock is SQLite's own write lock: the run is one
// BEGIN IMMEDIATE transaction, each file a savepoint in it. Readers carry
// on (WAL); a second runner waits for the lock.
type sqliteDialect struct{}

func (sqliteDialect) name() string           { return SQLite }
func (sqliteDialect) rebind(q string) string { return q }

func (sqliteDialect) columns() []column {
	return []column{
		{"version", "INTEGER PRIMARY KEY"},
		{"name", "TEXT NOT NULL"},
		{"checksum", "TEXT NOT NULL"},
		{"applied_at", "TEXT NOT NULL"},
		{"duration_ms", "INTEGER NOT NULL DEFAULT 0"},
		{"statements_applied", "INTEGER NOT NULL DEFAULT 0"},
		{"statements_total", "INTEGER NOT NULL DEFAULT 0"},
		{"dirty", "INTEGER NOT NULL DEFAULT 0"},
		{"deployment_id", "TEXT NOT NULL DEFAULT ''"},
		{"reversible", "INTEGER NOT NULL DEFAULT 0"},
		{"down_sql", "TEXT NOT NULL DEFAULT ''"},
		{"no_transaction", "INTEGER NOT NULL DEFAULT 0"},
		{"progress_checksum", "TEXT NOT NULL DEFAULT ''"},
		{"last_error", "TEXT NOT NULL DEFAULT ''"},
		{"error_retryable", "INTEGER NOT NULL DEFAULT 0"},
	}
}

func (sqliteDialect) prepare(ctx context.Context, c *sql.Conn, r *Runner) error {
	// SQLite has no statement timeout; busy_timeout is its lock timeout,
	// set while waiting for the runner lock.
	return nil
}

func (sqliteDialect) lock(ctx context.Context, c *sql.Conn, wait time.Duration) error {
	if _, err := c.ExecContext(ctx, "PRAGMA busy_timeout = 50"); err != nil {
		return err
	}
	return poll(ctx, wait, func() (bool, error) {
		_, err := c.ExecContext(ctx, "BEGIN IMMEDIATE")
		if err == nil {
			return true, nil
		}
		if sqliteBusy(err) {
			return false, nil
		}
		return false, err
	}, func() string {
		return "another connection holds the SQLite database's write lock (SQLite cannot say which)"
	})
}

func (sqliteDialect) unlock(ctx context.Context, c *sql.Conn) error {
	_, err := c.ExecContext(ctx, "COMMIT")
	if err != nil {
		c.ExecContext(ctx, "ROLLBACK")
	}
	c.ExecContext(ctx, "PRAGMA busy_timeout = 10000")
	return err
}

func (sqliteDialect) unit(ctx context.Context, c *sql.Conn) (execer, func() error, func() error, error) {
	if _, err := c.ExecContext(ctx, "SAVEPOINT slipway_unit"); err != nil {
		return nil, nil, nil, err
	}
	commit := func() error {
		_, err := c.ExecContext(ctx, "RELEASE slipway_unit")
		return err
	}
	rollback := func() error {
		_, err := c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO slipway_unit")
		if err == nil {
			_, err = c.ExecContext(context.WithoutCancel(ctx), "RELEASE slipway_unit")
		}
		return err
	}
	return c, commit, rollback, nil
}

func (sqliteDialect) atomic(string) bool { return true }

func (sqliteDialect) timeArg(t time.Time) any { return t.UTC().Format(time.RFC3339Nano) }

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

func sqliteBusy(err error) bool { c := sqliteCode(err); return c == 5 || c == 6 }

func (sqliteDialect) lockTimeout(err error) bool { return sqliteBusy(err) }
func (sqliteDialect) retryable(err error) bool   { return sqliteBusy(err) }

// poll calls try until it succeeds or wait has passed, backing off from
// 50ms to 1s, and then returns a *LockError naming the holder.
func poll(ctx context.Context, wait time.Duration, try func() (bool, error), holder func() string) error {
	start := time.Now()
	delay := 50 * time.Millisecond
	for {
		ok, err := try()
		if err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		if ok {
			return nil
		}
		if time.Since(start) >= wait {
			return &LockError{Waited: time.Since(start).Round(time.Millisecond), Holder: holder()}
		}
		t := time.NewTimer(min(delay, max(wait-time.Since(start), time.Millisecond)))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("take the migration lock: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// LockError reports that another runner held the migration lock for
// longer than the runner was allowed to wait.
type LockError struct {
	Waited time.Duration
	// Holder describes the session that holds the lock, when the database
	// can tell.
	Holder string
}

func (e *LockError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another session (the database did not say which)"
	}
	return fmt.Sprintf("another migration runner holds the migration lock: waited %s for %s; nothing was applied: let it finish and deploy again (migrations.lock_wait in slipway.yaml sets how long to wait)", e.Waited, holder)
}

func firstWord(s string) string {
	s = strings.TrimLeft(s, " \t\r\n(")
	end := strings.IndexFunc(s, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if end < 0 {
		end = len(s)
	}
	return strings.ToUpper(s[:end])
}
