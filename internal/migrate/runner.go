package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Table is the state table's name.
const Table = "slipway_migrations"

// Applied is one row of the state table.
type Applied struct {
	Version           int64
	Name              string
	Checksum          string
	AppliedAt         time.Time
	Duration          time.Duration
	StatementsApplied int
	StatementsTotal   int
	Dirty             bool
	DeploymentID      string
	Reversible        bool
	Down              string
}

// Status is the database's position against a release's migrations.
type Status struct {
	// Current is the highest applied version (0 when none).
	Current int64
	Applied []Applied
	// Pending are the release's migrations not yet applied, in order.
	Pending []Migration
	// Ahead are applied versions the release does not know: the database is
	// ahead of the release (an application rollback). Not an error.
	Ahead []Applied
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

// DirtyError reports a migration that stopped part way.
type DirtyError struct {
	Version           int64
	Name              string
	StatementsApplied int
	StatementsTotal   int
}

func (e *DirtyError) Error() string {
	return fmt.Sprintf("migration %d_%s is dirty: it stopped after %d of %d statements; fix the failing statement in the release and deploy again to resume at statement %d", e.Version, e.Name, e.StatementsApplied, e.StatementsTotal, e.StatementsApplied+1)
}

// Runner applies migrations to one database.
type Runner struct {
	DB           *sql.DB
	DeploymentID string
	Now          func() time.Time
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

const createTable = `CREATE TABLE IF NOT EXISTS ` + Table + ` (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	checksum TEXT NOT NULL,
	applied_at TEXT NOT NULL,
	duration_ms INTEGER NOT NULL,
	statements_applied INTEGER NOT NULL,
	statements_total INTEGER NOT NULL,
	dirty INTEGER NOT NULL DEFAULT 0,
	deployment_id TEXT NOT NULL DEFAULT '',
	reversible INTEGER NOT NULL DEFAULT 0,
	down_sql TEXT NOT NULL DEFAULT ''
)`

func (r *Runner) ensure(ctx context.Context) error {
	if _, err := r.DB.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("create %s: %w", Table, err)
	}
	return nil
}

// Applied returns the state table's rows in version order.
func (r *Runner) Applied(ctx context.Context) ([]Applied, error) {
	if err := r.ensure(ctx); err != nil {
		return nil, err
	}
	rows, err := r.DB.QueryContext(ctx, `SELECT version, name, checksum, applied_at, duration_ms, statements_applied, statements_total,
		dirty, deployment_id, reversible, down_sql FROM `+Table+` ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Table, err)
	}
	defer rows.Close()
	var out []Applied
	for rows.Next() {
		var a Applied
		var at string
		var ms int64
		if err := rows.Scan(&a.Version, &a.Name, &a.Checksum, &at, &ms, &a.StatementsApplied, &a.StatementsTotal, &a.Dirty,
			&a.DeploymentID, &a.Reversible, &a.Down); err != nil {
			return nil, fmt.Errorf("read %s: %w", Table, err)
		}
		a.AppliedAt, _ = time.Parse(time.RFC3339Nano, at)
		a.Duration = time.Duration(ms) * time.Millisecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// Status compares the database with the release's migrations. It returns
// a *DirtyError or *DriftError when the database must not be migrated.
func (r *Runner) Status(ctx context.Context, ms []Migration) (Status, error) {
	applied, err := r.Applied(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{Applied: applied}
	byVersion := map[int64]Migration{}
	for _, m := range ms {
		byVersion[m.Version] = m
	}
	done := map[int64]bool{}
	for _, a := range applied {
		if a.Version > st.Current {
			st.Current = a.Version
		}
		done[a.Version] = true
		m, known := byVersion[a.Version]
		if !known {
			st.Ahead = append(st.Ahead, a)
			continue
		}
		if a.Dirty {
			return st, &DirtyError{Version: a.Version, Name: a.Name, StatementsApplied: a.StatementsApplied, StatementsTotal: a.StatementsTotal}
		}
		if m.Checksum != a.Checksum {
			return st, &DriftError{Version: a.Version, Name: a.Name, Applied: a.Checksum, Found: m.Checksum}
		}
	}
	for _, m := range ms {
		if !done[m.Version] {
			st.Pending = append(st.Pending, m)
		}
	}
	return st, nil
}

// StatementError reports the statement of a migration that failed.
type StatementError struct {
	Version   int64
	Name      string
	Statement int
	Err       error
}

func (e *StatementError) Error() string {
	return fmt.Sprintf("migration %d_%s, statement %d: %v", e.Version, e.Name, e.Statement, e.Err)
}

func (e *StatementError) Unwrap() error { return e.Err }

// Up applies every pending migration in order, each file in one transaction
// with its state row, and returns the versions applied.
func (r *Runner) Up(ctx context.Context, ms []Migration) ([]int64, error) {
	st, err := r.Status(ctx, ms)
	if err != nil {
		return nil, err
	}
	if len(st.Ahead) > 0 && len(st.Pending) > 0 && st.Pending[0].Version < st.Ahead[len(st.Ahead)-1].Version {
		return nil, fmt.Errorf("migration %d_%s is older than version %d already applied, which this release does not know: renumber it above %d",
			st.Pending[0].Version, st.Pending[0].Name, st.Ahead[len(st.Ahead)-1].Version, st.Ahead[len(st.Ahead)-1].Version)
	}
	var done []int64
	for _, m := range st.Pending {
		if err := r.apply(ctx, m); err != nil {
			return done, err
		}
		done = append(done, m.Version)
	}
	return done, nil
}

func (r *Runner) apply(ctx context.Context, m Migration) error {
	start := r.now()
	tx, err := r.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply migration %d_%s: %w", m.Version, m.Name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.Up); err != nil {
		return &StatementError{Version: m.Version, Name: m.Name, Statement: 1, Err: err}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO `+Table+` (version, name, checksum, applied_at, duration_ms, statements_applied,
		statements_total, dirty, deployment_id, reversible, down_sql) VALUES (?,?,?,?,?,?,?,0,?,?,?)`,
		m.Version, m.Name, m.Checksum, start.UTC().Format(time.RFC3339Nano), r.now().Sub(start).Milliseconds(), 1, 1,
		r.DeploymentID, m.Reversible(), m.Down)
	if err != nil {
		return fmt.Errorf("record migration %d_%s: %w", m.Version, m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration %d_%s: %w", m.Version, m.Name, err)
	}
	return nil
}

// ErrNothingToRevert is returned by DownTo when no applied migration
// matches.
var ErrNothingToRevert = errors.New("nothing to revert")

// DownTo reverts applied migrations above version, newest first, running
// the down SQL stored when each was applied. Only migrations for which
// include returns true are considered (nil means all). It stops at the first
// migration that is not reversible: that one and everything below it stay,
// and are returned as kept.
func (r *Runner) DownTo(ctx context.Context, version int64, include func(Applied) bool) (reverted, kept []int64, err error) {
	applied, err := r.Applied(ctx)
	if err != nil {
		return nil, nil, err
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
		if !a.Reversible {
			for _, k := range todo[i:] {
				kept = append(kept, k.Version)
			}
			return reverted, kept, nil
		}
		tx, err := r.DB.BeginTx(ctx, nil)
		if err != nil {
			return reverted, kept, fmt.Errorf("revert migration %d_%s: %w", a.Version, a.Name, err)
		}
		if _, err := tx.ExecContext(ctx, a.Down); err != nil {
			tx.Rollback()
			return reverted, kept, &StatementError{Version: a.Version, Name: a.Name + " (down)", Statement: 1, Err: err}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+Table+` WHERE version = ?`, a.Version); err != nil {
			tx.Rollback()
			return reverted, kept, fmt.Errorf("revert migration %d_%s: %w", a.Version, a.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return reverted, kept, fmt.Errorf("commit revert of migration %d_%s: %w", a.Version, a.Name, err)
		}
		reverted = append(reverted, a.Version)
	}
	return reverted, kept, nil
}
