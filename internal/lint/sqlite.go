package lint

import (
	"context"
	"database/sql"
	"strings"

	_ "modernc.org/sqlite" // registers "sqlite"
)

// sqliteAnalyzer checks statements with SQLite itself, on a scratch
// in-memory database of its own: each statement is prepared there for its
// syntax, then run (the up migrations, in order), so that the later
// statements and files resolve the tables and columns the earlier ones
// made, and whatever SQLite rejects when it runs a statement (an unknown
// table or column, a function it does not have, a non-constant default
// added to a table) is found before a deploy runs into it. The rules read
// what they can with PostgreSQL's parser, whose grammar covers the DDL they
// are about. Statements only SQLite reads (AUTOINCREMENT, say) are checked
// by SQLite but not by the rules; the result says how many.
type sqliteAnalyzer struct {
	db *sql.DB
	// stopped is set once a statement was rejected: what follows may
	// depend on it, so it is not run (only its syntax is checked).
	stopped string
}

func newSQLite() *sqliteAnalyzer {
	// One connection, never closed while the lint runs: an in-memory
	// database lives as long as its connection.
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		return &sqliteAnalyzer{}
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return &sqliteAnalyzer{db: db}
}

func (a *sqliteAnalyzer) release() {
	if a.db != nil {
		a.db.Close()
	}
}

// sqliteMessage is SQLite's own message, without the driver's prefix and
// result code: "no such table: users".
func sqliteMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "SQL logic error") && i > 0 {
		msg = msg[i+2:]
	}
	if i := strings.LastIndex(msg, " ("); i > 0 && strings.HasSuffix(msg, ")") {
		msg = msg[:i]
	}
	return msg
}

func (a *sqliteAnalyzer) analyze(stmt string) ([]op, *syntaxError) {
	if a.db != nil {
		p, err := a.db.PrepareContext(context.Background(), stmt)
		if err == nil {
			p.Close()
		} else if msg := err.Error(); strings.Contains(msg, "syntax error") || strings.Contains(msg, "incomplete input") || strings.Contains(msg, "unrecognized token") {
			// Prepare also resolves names ("no such table"): those are
			// found when the statement runs (run), on the schema the
			// earlier migrations made.
			return nil, &syntaxError{msg: sqliteMessage(err), line: 1}
		}
	}
	ops, serr := postgresAnalyzer{}.analyze(stmt)
	if serr != nil {
		return nil, &syntaxError{} // SQLite reads it; PostgreSQL does not
	}
	return ops, nil
}

// run runs an up statement on the scratch database and returns SQLite's
// message when it rejects it ("" when it ran, or when an earlier rejection
// stopped the runs).
func (a *sqliteAnalyzer) run(stmt string) string {
	if a.db == nil || a.stopped != "" {
		return ""
	}
	if _, err := a.db.ExecContext(context.Background(), stmt); err != nil {
		return sqliteMessage(err)
	}
	return ""
}

// tryDown runs a down migration's statements in a transaction that is
// rolled back, on the schema its up migration made, and returns the index
// of the first statement SQLite rejects and its message (-1 when none is).
func (a *sqliteAnalyzer) tryDown(stmts []string) (int, string) {
	if a.db == nil || a.stopped != "" {
		return -1, ""
	}
	ctx := context.Background()
	conn, err := a.db.Conn(ctx)
	if err != nil {
		return -1, ""
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SAVEPOINT slipway_lint_down"); err != nil {
		return -1, ""
	}
	defer func() {
		conn.ExecContext(ctx, "ROLLBACK TO slipway_lint_down")
		conn.ExecContext(ctx, "RELEASE slipway_lint_down")
	}()
	for i, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return i, sqliteMessage(err)
		}
	}
	return -1, ""
}

func (a *sqliteAnalyzer) stop(file string) { a.stopped = file }

func (a *sqliteAnalyzer) stoppedBy() string { return a.stopped }
