package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Table is the state table's name.
const Table = "slipway_migrations"

// Defaults for the Runner's timeouts.
const (
	DefaultLockWait         = time.Minute
	DefaultLockTimeout      = 5 * time.Second
	DefaultStatementTimeout = 15 * time.Minute
)

// Applied is one row of the state table.
type Applied struct {
	Version  int64
	Name     string
	Checksum string
	// AppliedAt is when the migration started; Duration how long it took.
	AppliedAt         time.Time
	Duration          time.Duration
	StatementsApplied int
	StatementsTotal   int
	// Dirty marks a migration that stopped part way: StatementsApplied of
	// its statements are applied, the next one failed with LastError.
	Dirty          bool
	DeploymentID   string
	Reversible     bool
	Down           string
	NoTransaction  bool
	LastError      string
	ErrorRetryable bool
	// progress is the hash of the statements applied so far (see Resume).
	progress string
}

// Status is the database's position against a release's migrations.
type Status struct {
	// Current is the highest applied version (0 when none).
	Current int64
	Applied []Applied
	// Pending are the release's migrations not yet applied, in order. A
	// dirty migration that will be resumed is the first of them.
	Pending []Migration
	// Ahead are applied versions the release does not know: the database is
	// ahead of the release (an application rollback). Not an error.
	Ahead []Applied
	// Dirty is the migration that stopped part way, when the release can
	// resume it at statement ResumeAt (1-based).
	Dirty    *Applied
	ResumeAt int
}

// DriftError reports an applied migration whose file changed since.
type DriftError struct {
	Version        int64
	Name           string
	Applied, Found string
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("migration %d_%s was applied with checksum %.12s but the release has %.12s: an applied migration (or one before it) was edited, renamed or reordered; restore the original files and add a new migration for the change", e.Version, e.Name, e.Applied, e.Found)
}

// OrderError reports a new migration numbered below one already applied.
type OrderError struct {
	Version      int64
	Name         string
	AboveApplied int64
}

func (e *OrderError) Error() string {
	return fmt.Sprintf("migration %d_%s is not applied but version %d already is: migrations apply in order, so it would never run where its author expected; renumber it above %d", e.Version, e.Name, e.AboveApplied, e.AboveApplied)
}

// DirtyError reports a migration that stopped part way and cannot be
// resumed as the release stands.
type DirtyError struct {
	Version           int64
	Name              string
	StatementsApplied int
	StatementsTotal   int
	LastError         string
	// Reason says why the runner will not resume, and what to do.
	Reason string
}

func (e *DirtyError) Error() string {
	msg := fmt.Sprintf("migration %d_%s is dirty: it stopped after %d of %d statements", e.Version, e.Name, e.StatementsApplied, e.StatementsTotal)
	if e.LastError != "" {
		msg += fmt.Sprintf(" (statement %d failed: %s)", e.StatementsApplied+1, e.LastError)
	}
	if e.Reason == "" {
		return msg + fmt.Sprintf("; fix the failing statement in the release and deploy again to resume at statement %d", e.StatementsApplied+1)
	}
	return msg + "; " + e.Reason
}

// StatementError reports the statement of a migration that failed.
type StatementError struct {
	Version   int64
	Name      string
	File      string
	Statement int // 1-based
	Total     int
	Line      int
	Err       error
	// Transaction is set when the file ran in one transaction: nothing of
	// it remains. Otherwise Applied statements stay and, when there are
	// any, the migration is dirty.
	Transaction bool
	Applied     int
	// LockTimeout is set when the statement gave up waiting for a lock.
	LockTimeout time.Duration
	Down        bool
}

func (e *StatementError) Error() string {
	file := e.File
	if file == "" {
		file = fmt.Sprintf("%d_%s", e.Version, e.Name)
		if e.Down {
			file += " (down)"
		}
	}
	where := fmt.Sprintf("migration %s, statement %d", file, e.Statement)
	if e.Total > 0 {
		where += fmt.Sprintf(" of %d", e.Total)
	}
	if e.Line > 0 {
		where += fmt.Sprintf(" (line %d)", e.Line)
	}
	msg := fmt.Sprintf("%s: %v", where, e.Err)
	if e.LockTimeout > 0 {
		msg += fmt.Sprintf("; it waited lock_timeout (%s) for a lock another session holds and gave up rather than block the application behind it: find the long transaction holding the table (pg_stat_activity, or SHOW PROCESSLIST on MySQL), let it finish, and deploy again", e.LockTimeout)
	}
	switch {
	case e.Down && e.Transaction:
		msg += "; the down migration ran in one transaction, so the schema is unchanged"
	case e.Down:
		msg += fmt.Sprintf("; %d of its statements ran before it: the schema is between the two versions", e.Applied)
	case e.Transaction:
		msg += "; the file ran in one transaction, so none of it was applied"
	case e.Applied == 0:
		msg += "; no statement of the file was applied"
	default:
		msg += fmt.Sprintf("; statements 1-%d stay applied and the migration is marked dirty: deploy again (with the statement fixed, if it was wrong) to resume at statement %d", e.Applied, e.Statement)
	}
	return msg
}

func (e *StatementError) Unwrap() error { return e.Err }

// Runner applies migrations to one database. Up and DownTo run on one
// dedicated connection under the runner lock (pg_try_advisory_lock on
// PostgreSQL, GET_LOCK on MySQL, the write lock on SQLite), with the
// session's lock and statement timeouts set, so two runners never apply a
// migration twice.
type Runner struct {
	DB *sql.DB
	// Engine is postgres, mysql or sqlite; empty means DB's driver says.
	Engine       string
	DeploymentID string
	Now          func() time.Time
	// LockWait is how long to wait for another runner's lock (default 1m).
	LockWait time.Duration
	// LockTimeout and StatementTimeout bound each statement's wait for a
	// lock and its run (defaults 5s and 15m). SQLite has neither.
	LockTimeout      time.Duration
	StatementTimeout time.Duration
	// Retry resumes a dirty migration whose failed statement is unchanged,
	// even when its error was not one that a retry may cure.
	Retry bool
	// Progress, when set, is told about each migration as it runs.
	Progress func(Event)
}

// Event is a step of a run, for progress output.
type Event struct {
	Version  int64
	Name     string
	Action   string // apply, resume, applied, revert, reverted
	Duration time.Duration
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) lockWait() time.Duration {
	if r.LockWait > 0 {
		return r.LockWait
	}
	return DefaultLockWait
}

func (r *Runner) lockTimeout() time.Duration {
	if r.LockTimeout > 0 {
		return r.LockTimeout
	}
	return DefaultLockTimeout
}

func (r *Runner) statementTimeout() time.Duration {
	if r.StatementTimeout > 0 {
		return r.StatementTimeout
	}
	return DefaultStatementTimeout
}

func (r *Runner) dialect() (dialect, error) {
	e := r.Engine
	if e == "" {
		e = Engine(r.DB)
	}
	return dialectFor(e)
}

func (r *Runner) progress(ev Event) {
	if r.Progress != nil {
		r.Progress(ev)
	}
}

const selectColumns = `version, name, checksum, applied_at, duration_ms, statements_applied, statements_total, dirty,
	deployment_id, reversible, down_sql, no_transaction, progress_checksum, last_error, error_retryable`

// exists reports whether the state table exists, without creating it.
func exists(ctx context.Context, q execer, d dialect) (bool, error) {
	var n int
	var err error
	switch d.name() {
	case Postgres:
		err = q.QueryRowContext(ctx, "SELECT count(*) FROM pg_catalog.pg_class WHERE oid = to_regclass($1)", Table).Scan(&n)
	case MySQL:
		err = q.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", Table).Scan(&n)
	default:
		err = q.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", Table).Scan(&n)
	}
	if err != nil {
		return false, fmt.Errorf("look for %s: %w", Table, err)
	}
	return n > 0, nil
}

// ensure creates the state table, or adds the columns an older Slipway's
// table lacks. It runs under the runner lock.
func ensure(ctx context.Context, q execer, d dialect) error {
	ok, err := exists(ctx, q, d)
	if err != nil {
		return err
	}
	cols := d.columns()
	if !ok {
		defs := make([]string, len(cols))
		for i, c := range cols {
			defs[i] = c.name + " " + c.ddl
		}
		if _, err := q.ExecContext(ctx, "CREATE TABLE "+Table+" (\n\t"+strings.Join(defs, ",\n\t")+"\n)"); err != nil {
			return fmt.Errorf("create %s: %w", Table, err)
		}
		return nil
	}
	rows, err := q.QueryContext(ctx, "SELECT * FROM "+Table+" WHERE 1 = 0")
	if err != nil {
		return fmt.Errorf("read %s: %w", Table, err)
	}
	have, err := rows.Columns()
	rows.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", Table, err)
	}
	got := map[string]bool{}
	for _, h := range have {
		got[strings.ToLower(h)] = true
	}
	for _, c := range cols {
		if got[c.name] {
			continue
		}
		ddl := c.ddl
		if d.name() == MySQL {
			// MySQL text columns take no default, so added ones allow NULL.
			ddl = strings.Replace(ddl, "TEXT NOT NULL", "TEXT NULL", 1)
		}
		if _, err := q.ExecContext(ctx, "ALTER TABLE "+Table+" ADD COLUMN "+c.name+" "+ddl); err != nil {
			return fmt.Errorf("add column %s to %s: %w", c.name, Table, err)
		}
	}
	return nil
}

// Applied returns the state table's rows in version order. It only reads:
// a database without the table has no rows.
func (r *Runner) Applied(ctx context.Context) ([]Applied, error) {
	d, err := r.dialect()
	if err != nil {
		return nil, err
	}
	return readApplied(ctx, r.DB, d)
}

func readApplied(ctx context.Context, q execer, d dialect) ([]Applied, error) {
	ok, err := exists(ctx, q, d)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, "SELECT "+selectColumns+" FROM "+Table+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Table, err)
	}
	defer rows.Close()
	var out []Applied
	for rows.Next() {
		var a Applied
		var at timeValue
		var ms int64
		var down, progress, lastErr sql.NullString
		var noTx, retryable sql.NullBool
		if err := rows.Scan(&a.Version, &a.Name, &a.Checksum, &at, &ms, &a.StatementsApplied, &a.StatementsTotal, &a.Dirty,
			&a.DeploymentID, &a.Reversible, &down, &noTx, &progress, &lastErr, &retryable); err != nil {
			return nil, fmt.Errorf("read %s: %w", Table, err)
		}
		a.AppliedAt, a.Duration = at.t, time.Duration(ms)*time.Millisecond
		a.Down, a.NoTransaction, a.progress, a.LastError, a.ErrorRetryable = down.String, noTx.Bool, progress.String, lastErr.String, retryable.Bool
		out = append(out, a)
	}
	return out, rows.Err()
}

// timeValue scans a timestamp stored natively or as RFC 3339 text.
type timeValue struct{ t time.Time }

func (v *timeValue) Scan(src any) error {
	switch s := src.(type) {
	case time.Time:
		v.t = s
	case string:
		v.t = parseTime(s)
	case []byte:
		v.t = parseTime(string(s))
	}
	return nil
}

func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Status compares the database with the release's migrations. It returns
// a *DriftError, *OrderError or *DirtyError when the database must not be
// migrated with this release.
func (r *Runner) Status(ctx context.Context, ms []Migration) (Status, error) {
	d, err := r.dialect()
	if err != nil {
		return Status{}, err
	}
	applied, err := readApplied(ctx, r.DB, d)
	if err != nil {
		return Status{}, err
	}
	return r.status(applied, ms, d)
}

func (r *Runner) status(applied []Applied, ms []Migration, d dialect) (Status, error) {
	st := Status{Applied: applied}
	byVersion := map[int64]Migration{}
	for _, m := range ms {
		byVersion[m.Version] = m
	}
	done := map[int64]bool{}
	var dirty *Applied
	var drift error
	for i, a := range applied {
		st.Current = max(st.Current, a.Version)
		done[a.Version] = true
		m, known := byVersion[a.Version]
		if !known {
			st.Ahead = append(st.Ahead, a)
			if a.Dirty {
				return st, &DirtyError{Version: a.Version, Name: a.Name, StatementsApplied: a.StatementsApplied, StatementsTotal: a.StatementsTotal, LastError: a.LastError,
					Reason: "this release does not have that migration: deploy the release that does, so it can resume it"}
			}
			continue
		}
		if a.Dirty {
			dirty = &applied[i]
			continue
		}
		if m.Checksum != a.Checksum && drift == nil {
			drift = &DriftError{Version: a.Version, Name: a.Name, Applied: a.Checksum, Found: m.Checksum}
		}
	}
	for _, m := range ms {
		if !done[m.Version] {
			st.Pending = append(st.Pending, m)
		}
	}
	if len(st.Pending) > 0 {
		// Every applied version the release knows must be below the first
		// pending one; versions it does not know (Ahead) are a newer
		// release's and are reported, not refused.
		for _, a := range applied {
			if _, known := byVersion[a.Version]; known && a.Version > st.Pending[0].Version {
				return st, &OrderError{Version: st.Pending[0].Version, Name: st.Pending[0].Name, AboveApplied: a.Version}
			}
		}
		if len(st.Ahead) > 0 && st.Pending[0].Version < st.Ahead[len(st.Ahead)-1].Version {
			return st, &OrderError{Version: st.Pending[0].Version, Name: st.Pending[0].Name, AboveApplied: st.Ahead[len(st.Ahead)-1].Version}
		}
	}
	// A new file numbered below applied ones also changes their chained
	// checksums; the order error says more, so it comes first.
	if drift != nil {
		return st, drift
	}
	if dirty != nil {
		m := byVersion[dirty.Version]
		at, err := r.resumable(*dirty, m, d)
		if err != nil {
			return st, err
		}
		st.Dirty, st.ResumeAt = dirty, at
		st.Pending = append([]Migration{m}, st.Pending...)
	}
	return st, nil
}

// resumable decides whether a dirty migration can be resumed with the
// release's file m, and at which statement. The statements already applied
// must be unchanged. The failed statement is run again when the file was
// fixed, when its error is one a retry may cure (a lock or statement
// timeout, a deadlock, a lost connection), or when Retry is set.
func (r *Runner) resumable(a Applied, m Migration, d dialect) (int, error) {
	stmts := Split(m.Up, d.name()).Statements
	refuse := func(reason string) error {
		return &DirtyError{Version: a.Version, Name: a.Name, StatementsApplied: a.StatementsApplied, StatementsTotal: a.StatementsTotal, LastError: a.LastError, Reason: reason}
	}
	if a.StatementsApplied > len(stmts) || progressChecksum(stmts[:a.StatementsApplied]) != a.progress {
		return 0, refuse(fmt.Sprintf("the release changed statements 1-%d, which are already applied: restore them exactly as they ran, fix only statement %d or later, and deploy again", a.StatementsApplied, a.StatementsApplied+1))
	}
	if m.Checksum == a.Checksum && a.LastError != "" && !a.ErrorRetryable && !r.Retry {
		return 0, refuse(fmt.Sprintf("the release still has the same file, so statement %d would fail the same way: fix it (statements 1-%d must stay as they are) and deploy again; or, if what made it fail is fixed in the database, run `slipway migrations up --retry`", a.StatementsApplied+1, a.StatementsApplied))
	}
	return a.StatementsApplied + 1, nil
}

func progressChecksum(stmts []Statement) string {
	h := sha256.New()
	for _, s := range stmts {
		h.Write([]byte(s.SQL))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// session is one run under the runner lock.
type session struct {
	r    *Runner
	d    dialect
	conn *sql.Conn
}

// withLock runs fn on a dedicated connection under the runner lock, after
// setting the session's timeouts and making sure the state table exists.
func (r *Runner) withLock(ctx context.Context, fn func(s *session) error) (err error) {
	d, err := r.dialect()
	if err != nil {
		return err
	}
	conn, err := r.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}
	defer conn.Close()
	if err := d.prepare(ctx, conn, r); err != nil {
		return err
	}
	if err := d.lock(ctx, conn, r.lockWait()); err != nil {
		return err
	}
	defer func() {
		if uerr := d.unlock(context.WithoutCancel(ctx), conn); uerr != nil && err == nil {
			err = fmt.Errorf("release the migration lock: %w", uerr)
		}
	}()
	if err := ensure(ctx, conn, d); err != nil {
		return err
	}
	return fn(&session{r: r, d: d, conn: conn})
}

// Up applies every pending migration in order and returns the versions
// applied (a resumed dirty migration included). Each file runs in one
// transaction with its state row, unless it says -- slipway:no-transaction
// (or, on MySQL, contains statements that commit implicitly): then it runs
// statement by statement, its progress recorded after each, so that a
// failure leaves it dirty and the next run resumes at the failed statement.
func (r *Runner) Up(ctx context.Context, ms []Migration) ([]int64, error) {
	var done []int64
	err := r.withLock(ctx, func(s *session) error {
		applied, err := readApplied(ctx, s.conn, s.d)
		if err != nil {
			return err
		}
		st, err := r.status(applied, ms, s.d)
		if err != nil {
			return err
		}
		for i, m := range st.Pending {
			from := 1
			if i == 0 && st.Dirty != nil {
				from = st.ResumeAt
			}
			if err := s.apply(ctx, m, from, st.Dirty); err != nil {
				return err
			}
			done = append(done, m.Version)
		}
		return nil
	})
	return done, err
}

// Mode says how a migration runs on an engine: "transaction", or
// "statement by statement" with the reason.
func Mode(m Migration, engine string) string {
	d, err := dialectFor(engine)
	if err != nil {
		return "transaction"
	}
	if m.NoTransaction {
		return "statement by statement (slipway:no-transaction)"
	}
	if !allAtomic(Split(m.Up, engine).Statements, d) {
		return "statement by statement (MySQL commits DDL implicitly)"
	}
	return "transaction"
}

func allAtomic(stmts []Statement, d dialect) bool {
	if len(stmts) <= 1 {
		return true
	}
	for _, st := range stmts {
		if !d.atomic(st.SQL) {
			return false
		}
	}
	return true
}

func (s *session) apply(ctx context.Context, m Migration, from int, dirty *Applied) error {
	stmts := Split(m.Up, s.d.name()).Statements
	start := s.r.now()
	if dirty != nil && dirty.Version == m.Version {
		s.r.progress(Event{Version: m.Version, Name: m.Name, Action: "resume"})
		start = dirty.AppliedAt
	} else {
		s.r.progress(Event{Version: m.Version, Name: m.Name, Action: "apply"})
	}
	resume := dirty != nil && dirty.Version == m.Version
	var err error
	if !m.NoTransaction && !resume && allAtomic(stmts, s.d) {
		err = s.applyTx(ctx, m, stmts, start)
	} else {
		err = s.applySteps(ctx, m, stmts, from, start, resume)
	}
	if err == nil {
		s.r.progress(Event{Version: m.Version, Name: m.Name, Action: "applied", Duration: s.r.now().Sub(start)})
	}
	return err
}

func (s *session) stmtError(m Migration, stmts []Statement, i int, err error, tx bool, applied int) error {
	se := &StatementError{Version: m.Version, Name: m.Name, File: m.UpFile, Statement: i + 1, Total: len(stmts), Line: stmts[i].Line,
		Err: err, Transaction: tx, Applied: applied}
	if s.d.lockTimeout(err) {
		se.LockTimeout = s.r.lockTimeout()
	}
	return se
}

const insertRow = `INSERT INTO ` + Table + ` (` + `version, name, checksum, applied_at, duration_ms, statements_applied, statements_total, dirty,
	deployment_id, reversible, down_sql, no_transaction, progress_checksum, last_error, error_retryable) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func (s *session) applyTx(ctx context.Context, m Migration, stmts []Statement, start time.Time) error {
	q, commit, rollback, err := s.d.unit(ctx, s.conn)
	if err != nil {
		return fmt.Errorf("apply migration %d_%s: %w", m.Version, m.Name, err)
	}
	for i, st := range stmts {
		if _, err := q.ExecContext(ctx, st.SQL); err != nil {
			rollback()
			return s.stmtError(m, stmts, i, err, true, 0)
		}
	}
	_, err = q.ExecContext(ctx, s.d.rebind(insertRow), m.Version, m.Name, m.Checksum, s.d.timeArg(start), s.r.now().Sub(start).Milliseconds(),
		len(stmts), len(stmts), false, s.r.DeploymentID, m.Reversible(), m.Down, false, progressChecksum(stmts), "", false)
	if err != nil {
		rollback()
		return fmt.Errorf("record migration %d_%s: %w", m.Version, m.Name, err)
	}
	if err := commit(); err != nil {
		rollback()
		return fmt.Errorf("commit migration %d_%s: %w", m.Version, m.Name, err)
	}
	return nil
}

// applySteps runs statements from (1-based) one at a time, recording the
// progress after each. The row is written dirty before the first statement
// and made clean after the last; a failure leaves it dirty, unless nothing
// of the file was applied.
func (s *session) applySteps(ctx context.Context, m Migration, stmts []Statement, from int, start time.Time, resume bool) error {
	q := s.conn
	if !resume {
		_, err := q.ExecContext(ctx, s.d.rebind(insertRow), m.Version, m.Name, m.Checksum, s.d.timeArg(start), 0,
			0, len(stmts), true, s.r.DeploymentID, m.Reversible(), m.Down, true, progressChecksum(nil), "", false)
		if err != nil {
			return fmt.Errorf("record migration %d_%s: %w", m.Version, m.Name, err)
		}
	} else {
		_, err := q.ExecContext(ctx, s.d.rebind(`UPDATE `+Table+` SET checksum = ?, statements_total = ?, deployment_id = ?, reversible = ?, down_sql = ?, no_transaction = ? WHERE version = ?`),
			m.Checksum, len(stmts), s.r.DeploymentID, m.Reversible(), m.Down, true, m.Version)
		if err != nil {
			return fmt.Errorf("record migration %d_%s: %w", m.Version, m.Name, err)
		}
	}
	// The context of the bookkeeping outlives a cancelled statement.
	book := context.WithoutCancel(ctx)
	for i := from - 1; i < len(stmts); i++ {
		if _, err := q.ExecContext(ctx, stmts[i].SQL); err != nil {
			if i == 0 {
				// Nothing of the file was applied: no trace, nothing dirty.
				q.ExecContext(book, s.d.rebind(`DELETE FROM `+Table+` WHERE version = ?`), m.Version)
			} else {
				q.ExecContext(book, s.d.rebind(`UPDATE `+Table+` SET last_error = ?, error_retryable = ? WHERE version = ?`),
					truncate(err.Error(), 2000), s.d.retryable(err), m.Version)
			}
			return s.stmtError(m, stmts, i, err, false, i)
		}
		_, err := q.ExecContext(book, s.d.rebind(`UPDATE `+Table+` SET statements_applied = ?, progress_checksum = ?, last_error = '', error_retryable = ? WHERE version = ?`),
			i+1, progressChecksum(stmts[:i+1]), false, m.Version)
		if err != nil {
			return fmt.Errorf("record progress of migration %d_%s after statement %d: %w", m.Version, m.Name, i+1, err)
		}
	}
	_, err := q.ExecContext(book, s.d.rebind(`UPDATE `+Table+` SET dirty = ?, duration_ms = ? WHERE version = ?`),
		false, s.r.now().Sub(start).Milliseconds(), m.Version)
	if err != nil {
		return fmt.Errorf("record migration %d_%s: %w", m.Version, m.Name, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// DownTo reverts applied migrations above version, newest first, running
// the down SQL stored when each was applied (so a rollback works even when
// the older release lacks the file). Only migrations for which include
// returns true are considered (nil means all). It stops at the first
// migration that is not reversible, or dirty: that one and everything below
// it stay, and are returned as kept.
func (r *Runner) DownTo(ctx context.Context, version int64, include func(Applied) bool) (reverted, kept []int64, err error) {
	err = r.withLock(ctx, func(s *session) error {
		applied, err := readApplied(ctx, s.conn, s.d)
		if err != nil {
			return err
		}
		var todo []Applied
		for i := len(applied) - 1; i >= 0; i-- {
			a := applied[i]
			if a.Version <= version || (include != nil && !include(a)) {
				continue
			}
			todo = append(todo, a)
		}
		for i, a := range todo {
			if !a.Reversible || a.Dirty || strings.TrimSpace(a.Down) == "" {
				for _, k := range todo[i:] {
					kept = append(kept, k.Version)
				}
				return nil
			}
			r.progress(Event{Version: a.Version, Name: a.Name, Action: "revert"})
			if err := s.revert(ctx, a); err != nil {
				return err
			}
			r.progress(Event{Version: a.Version, Name: a.Name, Action: "reverted"})
			reverted = append(reverted, a.Version)
		}
		return nil
	})
	return reverted, kept, err
}

func (s *session) revert(ctx context.Context, a Applied) error {
	stmts := Split(a.Down, s.d.name()).Statements
	del := s.d.rebind(`DELETE FROM ` + Table + ` WHERE version = ?`)
	if allAtomic(stmts, s.d) {
		q, commit, rollback, err := s.d.unit(ctx, s.conn)
		if err != nil {
			return fmt.Errorf("revert migration %d_%s: %w", a.Version, a.Name, err)
		}
		for i, st := range stmts {
			if _, err := q.ExecContext(ctx, st.SQL); err != nil {
				rollback()
				se := s.downError(a, stmts, i, err)
				se.Transaction = true
				return se
			}
		}
		if _, err := q.ExecContext(ctx, del, a.Version); err != nil {
			rollback()
			return fmt.Errorf("revert migration %d_%s: %w", a.Version, a.Name, err)
		}
		if err := commit(); err != nil {
			rollback()
			return fmt.Errorf("commit revert of migration %d_%s: %w", a.Version, a.Name, err)
		}
		return nil
	}
	for i, st := range stmts {
		if _, err := s.conn.ExecContext(ctx, st.SQL); err != nil {
			return s.downError(a, stmts, i, err)
		}
	}
	if _, err := s.conn.ExecContext(context.WithoutCancel(ctx), del, a.Version); err != nil {
		return fmt.Errorf("revert migration %d_%s: %w", a.Version, a.Name, err)
	}
	return nil
}

func (s *session) downError(a Applied, stmts []Statement, i int, err error) *StatementError {
	se := &StatementError{Version: a.Version, Name: a.Name, Statement: i + 1, Total: len(stmts), Line: stmts[i].Line, Err: err, Applied: i, Down: true}
	if s.d.lockTimeout(err) {
		se.LockTimeout = s.r.lockTimeout()
	}
	return se
}
