// Package sqlite is the embedded environment's ledger: the same method set
// as the DynamoDB ledger, in one SQLite file. It is its own package so that
// Lambdas, which use DynamoDB, do not link the SQLite driver.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/litedb"
)

// Store is the embedded ledger.
type Store struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS deployments (
	id TEXT PRIMARY KEY,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	version TEXT NOT NULL,
	previous_version TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL,
	status TEXT NOT NULL,
	execution_id TEXT NOT NULL DEFAULT '',
	trigger_json TEXT NOT NULL DEFAULT '{}',
	started_at TEXT NOT NULL,
	finished_at TEXT NOT NULL DEFAULT '',
	error TEXT NOT NULL DEFAULT '',
	cause TEXT NOT NULL DEFAULT '',
	summary TEXT NOT NULL DEFAULT '',
	snapshot_id TEXT NOT NULL DEFAULT '',
	schema_before INTEGER NOT NULL DEFAULT -1,
	schema_after INTEGER NOT NULL DEFAULT -1,
	target_deployment_id TEXT NOT NULL DEFAULT '',
	rolled_back_by TEXT NOT NULL DEFAULT '',
	report TEXT NOT NULL DEFAULT '',
	watch_until TEXT NOT NULL DEFAULT '',
	observed TEXT NOT NULL DEFAULT '',
	config TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS deployments_env ON deployments (app, environment, started_at);
CREATE TABLE IF NOT EXISTS steps (
	deployment_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	stage TEXT NOT NULL,
	status TEXT NOT NULL,
	message TEXT NOT NULL,
	at TEXT NOT NULL,
	detail TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (deployment_id, seq)
);
CREATE TABLE IF NOT EXISTS instance_results (
	deployment_id TEXT NOT NULL,
	command_id TEXT NOT NULL,
	wave INTEGER NOT NULL,
	instance_id TEXT NOT NULL,
	action TEXT NOT NULL,
	version TEXT NOT NULL,
	status TEXT NOT NULL,
	exit_code INTEGER NOT NULL,
	output TEXT NOT NULL DEFAULT '',
	started_at TEXT NOT NULL DEFAULT '',
	finished_at TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (deployment_id, command_id, instance_id)
);
CREATE TABLE IF NOT EXISTS locks (
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	kind TEXT NOT NULL,
	owner TEXT NOT NULL,
	deployment_id TEXT NOT NULL DEFAULT '',
	message TEXT NOT NULL DEFAULT '',
	acquired_at TEXT NOT NULL,
	expires_at TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (app, environment, kind)
);
CREATE TABLE IF NOT EXISTS events (
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	at TEXT NOT NULL,
	source TEXT NOT NULL,
	kind TEXT NOT NULL,
	message TEXT NOT NULL,
	deployment_id TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_env ON events (app, environment, at);
CREATE TABLE IF NOT EXISTS pending (
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	version TEXT NOT NULL,
	trigger_json TEXT NOT NULL,
	at TEXT NOT NULL,
	PRIMARY KEY (app, environment)
);
CREATE TABLE IF NOT EXISTS approvals (
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	deployment_id TEXT NOT NULL,
	execution_id TEXT NOT NULL,
	version TEXT NOT NULL,
	token TEXT NOT NULL,
	summary TEXT NOT NULL,
	requested_at TEXT NOT NULL,
	decision TEXT NOT NULL DEFAULT '',
	decided_by TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	decided_at TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (app, environment, deployment_id)
);
`

// Open opens (creating if needed) the ledger at path.
func Open(path string) (*Store, error) {
	db, err := litedb.Open(path)
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create ledger schema in %s: %w", path, err)
	}
	if err := upgrade(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("upgrade ledger schema in %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// columns added since the first schema: a ledger an older Slipway created
// gets them on open.
var added = []struct{ table, column, decl string }{
	{"deployments", "observed", "TEXT NOT NULL DEFAULT ''"},
	{"deployments", "config", "TEXT NOT NULL DEFAULT ''"},
}

func upgrade(db *sql.DB) error {
	for _, a := range added {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, a.table, a.column).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := db.Exec(`ALTER TABLE ` + a.table + ` ADD COLUMN ` + a.column + ` ` + a.decl); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func ts(t time.Time) string      { return ledger.FormatTime(t) }
func parseTS(s string) time.Time { return ledger.ParseTime(s) }

func observedJSON(o *contract.Observation) string {
	if o == nil {
		return ""
	}
	b, _ := json.Marshal(o)
	return string(b)
}

func configJSON(c *contract.ConfigPrint) string {
	if c == nil {
		return ""
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// PutDeployment inserts or replaces a deployment record.
func (s *Store) PutDeployment(ctx context.Context, d ledger.Deployment) error {
	trig, _ := json.Marshal(d.Trigger)
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO deployments
		(id, app, environment, version, previous_version, kind, status, execution_id, trigger_json, started_at, finished_at,
		 error, cause, summary, snapshot_id, schema_before, schema_after, target_deployment_id, rolled_back_by, report, watch_until, observed, config)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		d.ID, d.App, d.Environment, d.Version, d.PreviousVersion, d.Kind, d.Status, d.ExecutionID, string(trig),
		ts(d.StartedAt), ts(d.FinishedAt), d.Error, d.Cause, d.Summary, d.SnapshotID, d.SchemaBefore, d.SchemaAfter,
		d.TargetDeploymentID, d.RolledBackBy, string(d.Report), ts(d.WatchUntil), observedJSON(d.Observed), configJSON(d.Config))
	if err != nil {
		return fmt.Errorf("put deployment %s: %w", d.ID, err)
	}
	return nil
}

const deploymentCols = `id, app, environment, version, previous_version, kind, status, execution_id, trigger_json, started_at,
	finished_at, error, cause, summary, snapshot_id, schema_before, schema_after, target_deployment_id, rolled_back_by, report, watch_until, observed, config`

func scanDeployment(row interface{ Scan(...any) error }) (ledger.Deployment, error) {
	var d ledger.Deployment
	var trig, started, finished, report, watch, observed, cfg string
	err := row.Scan(&d.ID, &d.App, &d.Environment, &d.Version, &d.PreviousVersion, &d.Kind, &d.Status, &d.ExecutionID, &trig,
		&started, &finished, &d.Error, &d.Cause, &d.Summary, &d.SnapshotID, &d.SchemaBefore, &d.SchemaAfter,
		&d.TargetDeploymentID, &d.RolledBackBy, &report, &watch, &observed, &cfg)
	if err != nil {
		return d, err
	}
	if observed != "" {
		d.Observed = &contract.Observation{}
		if err := json.Unmarshal([]byte(observed), d.Observed); err != nil {
			return d, fmt.Errorf("decode the observation of %s: %w", d.ID, err)
		}
	}
	if cfg != "" {
		d.Config = &contract.ConfigPrint{}
		if err := json.Unmarshal([]byte(cfg), d.Config); err != nil {
			return d, fmt.Errorf("decode the configuration print of %s: %w", d.ID, err)
		}
	}
	_ = json.Unmarshal([]byte(trig), &d.Trigger)
	d.StartedAt, d.FinishedAt, d.WatchUntil = parseTS(started), parseTS(finished), parseTS(watch)
	if report != "" {
		d.Report = json.RawMessage(report)
	}
	return d, nil
}

// GetDeployment returns a deployment, or ledger.ErrNotFound.
func (s *Store) GetDeployment(ctx context.Context, id string) (ledger.Deployment, error) {
	d, err := scanDeployment(s.db.QueryRowContext(ctx, `SELECT `+deploymentCols+` FROM deployments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("deployment %s: %w", id, ledger.ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("get deployment %s: %w", id, err)
	}
	return d, nil
}

// UpdateDeployment applies fn to a deployment in one transaction.
func (s *Store) UpdateDeployment(ctx context.Context, id string, fn func(*ledger.Deployment) error) (ledger.Deployment, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ledger.Deployment{}, fmt.Errorf("update deployment %s: %w", id, err)
	}
	defer tx.Rollback()
	d, err := scanDeployment(tx.QueryRowContext(ctx, `SELECT `+deploymentCols+` FROM deployments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("deployment %s: %w", id, ledger.ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("update deployment %s: %w", id, err)
	}
	if err := fn(&d); err != nil {
		return d, err
	}
	trig, _ := json.Marshal(d.Trigger)
	_, err = tx.ExecContext(ctx, `UPDATE deployments SET version=?, previous_version=?, kind=?, status=?, execution_id=?, trigger_json=?,
		started_at=?, finished_at=?, error=?, cause=?, summary=?, snapshot_id=?, schema_before=?, schema_after=?,
		target_deployment_id=?, rolled_back_by=?, report=?, watch_until=?, observed=?, config=? WHERE id=?`,
		d.Version, d.PreviousVersion, d.Kind, d.Status, d.ExecutionID, string(trig), ts(d.StartedAt), ts(d.FinishedAt),
		d.Error, d.Cause, d.Summary, d.SnapshotID, d.SchemaBefore, d.SchemaAfter, d.TargetDeploymentID, d.RolledBackBy,
		string(d.Report), ts(d.WatchUntil), observedJSON(d.Observed), configJSON(d.Config), id)
	if err != nil {
		return d, fmt.Errorf("update deployment %s: %w", id, err)
	}
	return d, tx.Commit()
}

// ListDeployments returns an environment's deployments, newest first. An
// empty env lists every environment of app; limit <= 0 means all.
func (s *Store) ListDeployments(ctx context.Context, app, env string, limit int) ([]ledger.Deployment, error) {
	q := `SELECT ` + deploymentCols + ` FROM deployments WHERE app = ? AND (? = '' OR environment = ?) ORDER BY started_at DESC, id DESC`
	args := []any{app, env, env}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deployments of %s/%s: %w", app, env, err)
	}
	defer rows.Close()
	var out []ledger.Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, fmt.Errorf("list deployments of %s/%s: %w", app, env, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// AddStep appends a step to a deployment, numbering it.
func (s *Store) AddStep(ctx context.Context, st ledger.Step) error {
	if st.At.IsZero() {
		st.At = time.Now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO steps (deployment_id, seq, stage, status, message, at, detail)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE deployment_id = ?), ?, ?, ?, ?, ?)`,
		st.DeploymentID, st.DeploymentID, st.Stage, st.Status, st.Message, ts(st.At), string(st.Detail))
	if err != nil {
		return fmt.Errorf("add %s step to deployment %s: %w", st.Stage, st.DeploymentID, err)
	}
	return nil
}

// Steps returns a deployment's steps in order.
func (s *Store) Steps(ctx context.Context, deploymentID string) ([]ledger.Step, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT deployment_id, seq, stage, status, message, at, detail FROM steps WHERE deployment_id = ? ORDER BY seq`, deploymentID)
	if err != nil {
		return nil, fmt.Errorf("list steps of %s: %w", deploymentID, err)
	}
	defer rows.Close()
	var out []ledger.Step
	for rows.Next() {
		var st ledger.Step
		var at, detail string
		if err := rows.Scan(&st.DeploymentID, &st.Seq, &st.Stage, &st.Status, &st.Message, &at, &detail); err != nil {
			return nil, err
		}
		st.At = parseTS(at)
		if detail != "" {
			st.Detail = json.RawMessage(detail)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// PutInstanceResults records per-instance results (replacing earlier
// results of the same command and instance).
func (s *Store) PutInstanceResults(ctx context.Context, results []ledger.InstanceResult) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put instance results: %w", err)
	}
	defer tx.Rollback()
	for _, r := range results {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO instance_results
			(deployment_id, command_id, wave, instance_id, action, version, status, exit_code, output, started_at, finished_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			r.DeploymentID, r.CommandID, r.Wave, r.InstanceID, r.Action, r.Version, r.Status, r.ExitCode, r.Output,
			ts(r.StartedAt), ts(r.FinishedAt))
		if err != nil {
			return fmt.Errorf("put result of %s on %s: %w", r.CommandID, r.InstanceID, err)
		}
	}
	return tx.Commit()
}

// InstanceResults returns a deployment's per-instance results in the order
// they were recorded.
func (s *Store) InstanceResults(ctx context.Context, deploymentID string) ([]ledger.InstanceResult, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT deployment_id, command_id, wave, instance_id, action, version, status, exit_code, output,
		started_at, finished_at FROM instance_results WHERE deployment_id = ? ORDER BY rowid`, deploymentID)
	if err != nil {
		return nil, fmt.Errorf("list instance results of %s: %w", deploymentID, err)
	}
	defer rows.Close()
	var out []ledger.InstanceResult
	for rows.Next() {
		var r ledger.InstanceResult
		var started, finished string
		if err := rows.Scan(&r.DeploymentID, &r.CommandID, &r.Wave, &r.InstanceID, &r.Action, &r.Version, &r.Status, &r.ExitCode,
			&r.Output, &started, &finished); err != nil {
			return nil, err
		}
		r.StartedAt, r.FinishedAt = parseTS(started), parseTS(finished)
		out = append(out, r)
	}
	return out, rows.Err()
}

// AcquireLease takes the environment's lease for owner until now+ttl. It
// fails with *ledger.HeldError if a person froze the environment or another owner
// holds an unexpired lease. Taking a lease one already holds extends it.
func (s *Store) AcquireLease(ctx context.Context, app, env, owner, deploymentID string, ttl time.Duration, now time.Time) (ledger.Lock, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ledger.Lock{}, fmt.Errorf("acquire lease on %s/%s: %w", app, env, err)
	}
	defer tx.Rollback()
	locks, err := queryLocks(ctx, tx, app, env)
	if err != nil {
		return ledger.Lock{}, err
	}
	for _, l := range locks {
		if l.Kind == ledger.LockManual {
			return ledger.Lock{}, &ledger.HeldError{Lock: l}
		}
		if l.Kind == ledger.LockLease && l.Owner != owner && now.Before(l.ExpiresAt) {
			return ledger.Lock{}, &ledger.HeldError{Lock: l}
		}
	}
	l := ledger.Lock{App: app, Environment: env, Kind: ledger.LockLease, Owner: owner, DeploymentID: deploymentID, AcquiredAt: now, ExpiresAt: now.Add(ttl)}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO locks (app, environment, kind, owner, deployment_id, message, acquired_at, expires_at)
		VALUES (?,?,?,?,?,?,?,?)`, app, env, ledger.LockLease, owner, deploymentID, "", ts(now), ts(l.ExpiresAt)); err != nil {
		return ledger.Lock{}, fmt.Errorf("acquire lease on %s/%s: %w", app, env, err)
	}
	return l, tx.Commit()
}

// ReleaseLease releases the environment's lease if owner holds it. It
// reports whether there was one; releasing nothing is not an error.
func (s *Store) ReleaseLease(ctx context.Context, app, env, owner string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM locks WHERE app = ? AND environment = ? AND kind = ? AND owner = ?`, app, env, ledger.LockLease, owner)
	if err != nil {
		return false, fmt.Errorf("release lease of %s: %w", owner, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// BreakLease deletes the environment's lease whoever holds it, expired or
// not: a person clearing a stuck deployment's lease (`slipway unlock
// --force`). It returns the lease it broke, and false when there was none.
// A manual lock is left alone.
func (s *Store) BreakLease(ctx context.Context, app, env string) (ledger.Lock, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ledger.Lock{}, false, fmt.Errorf("break the lease on %s/%s: %w", app, env, err)
	}
	defer tx.Rollback()
	locks, err := queryLocks(ctx, tx, app, env)
	if err != nil {
		return ledger.Lock{}, false, err
	}
	for _, l := range locks {
		if l.Kind != ledger.LockLease {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM locks WHERE app = ? AND environment = ? AND kind = ?`, app, env, ledger.LockLease); err != nil {
			return ledger.Lock{}, false, fmt.Errorf("break the lease on %s/%s: %w", app, env, err)
		}
		return l, true, tx.Commit()
	}
	return ledger.Lock{}, false, nil
}

// Locks returns the holds on an environment.
func (s *Store) Locks(ctx context.Context, app, env string) ([]ledger.Lock, error) {
	return queryLocks(ctx, s.db, app, env)
}

// Freeze sets a manual lock: no automation deploys until Unfreeze.
func (s *Store) Freeze(ctx context.Context, app, env, owner, message string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO locks (app, environment, kind, owner, message, acquired_at) VALUES (?,?,?,?,?,?)`,
		app, env, ledger.LockManual, owner, message, ts(now))
	if err != nil {
		return fmt.Errorf("freeze %s/%s: %w", app, env, err)
	}
	return nil
}

// Unfreeze removes a manual lock.
func (s *Store) Unfreeze(ctx context.Context, app, env string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM locks WHERE app = ? AND environment = ? AND kind = ?`, app, env, ledger.LockManual)
	if err != nil {
		return false, fmt.Errorf("unfreeze %s/%s: %w", app, env, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func queryLocks(ctx context.Context, db querier, app, env string) ([]ledger.Lock, error) {
	rows, err := db.QueryContext(ctx, `SELECT app, environment, kind, owner, deployment_id, message, acquired_at, expires_at
		FROM locks WHERE app = ? AND environment = ? ORDER BY kind`, app, env)
	if err != nil {
		return nil, fmt.Errorf("read locks on %s/%s: %w", app, env, err)
	}
	defer rows.Close()
	var out []ledger.Lock
	for rows.Next() {
		var l ledger.Lock
		var acq, exp string
		if err := rows.Scan(&l.App, &l.Environment, &l.Kind, &l.Owner, &l.DeploymentID, &l.Message, &acq, &exp); err != nil {
			return nil, err
		}
		l.AcquiredAt, l.ExpiresAt = parseTS(acq), parseTS(exp)
		out = append(out, l)
	}
	return out, rows.Err()
}

// AddEvent records an event.
func (s *Store) AddEvent(ctx context.Context, e ledger.Event) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO events (app, environment, at, source, kind, message, deployment_id, detail) VALUES (?,?,?,?,?,?,?,?)`,
		e.App, e.Environment, ts(e.At), e.Source, e.Kind, e.Message, e.DeploymentID, string(e.Detail))
	if err != nil {
		return fmt.Errorf("add %s event on %s/%s: %w", e.Kind, e.App, e.Environment, err)
	}
	return nil
}

// Events returns an environment's events, newest first; limit <= 0 means all.
func (s *Store) Events(ctx context.Context, app, env string, limit int) ([]ledger.Event, error) {
	q := `SELECT app, environment, at, source, kind, message, deployment_id, detail FROM events WHERE app = ? AND environment = ? ORDER BY at DESC, rowid DESC`
	args := []any{app, env}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events of %s/%s: %w", app, env, err)
	}
	defer rows.Close()
	var out []ledger.Event
	for rows.Next() {
		var e ledger.Event
		var at, detail string
		if err := rows.Scan(&e.App, &e.Environment, &at, &e.Source, &e.Kind, &e.Message, &e.DeploymentID, &detail); err != nil {
			return nil, err
		}
		e.At = parseTS(at)
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetPending makes p the environment's queued push, replacing any other.
func (s *Store) SetPending(ctx context.Context, p ledger.Pending) error {
	trig, _ := json.Marshal(p.Trigger)
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO pending (app, environment, version, trigger_json, at) VALUES (?,?,?,?,?)`,
		p.App, p.Environment, p.Version, string(trig), ts(p.At))
	if err != nil {
		return fmt.Errorf("queue %s on %s/%s: %w", p.Version, p.App, p.Environment, err)
	}
	return nil
}

// GetPending returns the environment's queued push, if any.
func (s *Store) GetPending(ctx context.Context, app, env string) (ledger.Pending, bool, error) {
	var p ledger.Pending
	var trig, at string
	err := s.db.QueryRowContext(ctx, `SELECT app, environment, version, trigger_json, at FROM pending WHERE app = ? AND environment = ?`, app, env).
		Scan(&p.App, &p.Environment, &p.Version, &trig, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("read the queued push of %s/%s: %w", app, env, err)
	}
	_ = json.Unmarshal([]byte(trig), &p.Trigger)
	p.At = parseTS(at)
	return p, true, nil
}

// ClearPending removes the queued push if it is still version.
func (s *Store) ClearPending(ctx context.Context, app, env, version string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM pending WHERE app = ? AND environment = ? AND version = ?`, app, env, version)
	if err != nil {
		return false, fmt.Errorf("clear the queued push of %s/%s: %w", app, env, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// PutApproval records an approval request (or replaces it).
func (s *Store) PutApproval(ctx context.Context, a ledger.Approval) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO approvals (app, environment, deployment_id, execution_id, version, token, summary,
		requested_at, decision, decided_by, reason, decided_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		a.App, a.Environment, a.DeploymentID, a.ExecutionID, a.Version, a.Token, a.Summary, ts(a.RequestedAt),
		a.Decision, a.DecidedBy, a.Reason, ts(a.DecidedAt))
	if err != nil {
		return fmt.Errorf("record the approval request of %s: %w", a.DeploymentID, err)
	}
	return nil
}

const approvalCols = `app, environment, deployment_id, execution_id, version, token, summary, requested_at, decision, decided_by, reason, decided_at`

func scanApproval(row interface{ Scan(...any) error }) (ledger.Approval, error) {
	var a ledger.Approval
	var req, dec string
	err := row.Scan(&a.App, &a.Environment, &a.DeploymentID, &a.ExecutionID, &a.Version, &a.Token, &a.Summary, &req, &a.Decision, &a.DecidedBy, &a.Reason, &dec)
	a.RequestedAt, a.DecidedAt = parseTS(req), parseTS(dec)
	return a, err
}

// GetApproval returns a deployment's approval request, or ErrNotFound.
func (s *Store) GetApproval(ctx context.Context, app, env, deploymentID string) (ledger.Approval, error) {
	a, err := scanApproval(s.db.QueryRowContext(ctx, `SELECT `+approvalCols+` FROM approvals WHERE app = ? AND environment = ? AND deployment_id = ?`, app, env, deploymentID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("approval of %s: %w", deploymentID, ledger.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("read the approval of %s: %w", deploymentID, err)
	}
	return a, nil
}

// DecideApproval records a decision once: a second decision fails with
// *ledger.DecidedError.
func (s *Store) DecideApproval(ctx context.Context, app, env, deploymentID, decision, by, reason string, now time.Time) (ledger.Approval, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ledger.Approval{}, fmt.Errorf("decide the approval of %s: %w", deploymentID, err)
	}
	defer tx.Rollback()
	a, err := scanApproval(tx.QueryRowContext(ctx, `SELECT `+approvalCols+` FROM approvals WHERE app = ? AND environment = ? AND deployment_id = ?`, app, env, deploymentID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("approval of %s: %w", deploymentID, ledger.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("decide the approval of %s: %w", deploymentID, err)
	}
	if a.Decision != ledger.ApprovalPending {
		return a, &ledger.DecidedError{Approval: a}
	}
	a.Decision, a.DecidedBy, a.Reason, a.DecidedAt = decision, by, reason, now
	if _, err := tx.ExecContext(ctx, `UPDATE approvals SET decision = ?, decided_by = ?, reason = ?, decided_at = ? WHERE app = ? AND environment = ? AND deployment_id = ?`,
		decision, by, reason, ts(now), app, env, deploymentID); err != nil {
		return a, fmt.Errorf("decide the approval of %s: %w", deploymentID, err)
	}
	return a, tx.Commit()
}

// Approvals lists an environment's approval requests, newest first.
func (s *Store) Approvals(ctx context.Context, app, env string) ([]ledger.Approval, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+approvalCols+` FROM approvals WHERE app = ? AND environment = ? ORDER BY requested_at DESC`, app, env)
	if err != nil {
		return nil, fmt.Errorf("list approvals of %s/%s: %w", app, env, err)
	}
	defer rows.Close()
	var out []ledger.Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
