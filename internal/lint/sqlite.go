package lint

import (
	"context"
	"database/sql"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // registers "sqlite"
)

// sqliteAnalyzer checks syntax with SQLite itself (each statement is
// prepared, not run, on an empty in-memory database) and reads what it can
// with PostgreSQL's parser, whose grammar covers the DDL the rules are
// about. Statements only SQLite reads (AUTOINCREMENT, say) are checked for
// syntax but not by the rules; the result says how many.
type sqliteAnalyzer struct{ db *sql.DB }

var sqliteMem struct {
	once sync.Once
	db   *sql.DB
	err  error
}

func newSQLite() *sqliteAnalyzer {
	sqliteMem.once.Do(func() {
		sqliteMem.db, sqliteMem.err = sql.Open("sqlite", "file::memory:")
		if sqliteMem.err == nil {
			sqliteMem.db.SetMaxOpenConns(1)
		}
	})
	return &sqliteAnalyzer{db: sqliteMem.db}
}

func (a *sqliteAnalyzer) analyze(stmt string) ([]op, *syntaxError) {
	if a.db != nil {
		p, err := a.db.PrepareContext(context.Background(), stmt)
		if err == nil {
			p.Close()
		} else if msg := err.Error(); strings.Contains(msg, "syntax error") || strings.Contains(msg, "incomplete input") || strings.Contains(msg, "unrecognized token") {
			// Prepare also resolves names ("no such table"): those are not
			// syntax, and the table may well exist where the file runs.
			if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "SQL logic error") && i > 0 {
				msg = msg[i+2:]
			}
			return nil, &syntaxError{msg: msg, line: 1}
		}
	}
	ops, serr := postgresAnalyzer{}.analyze(stmt)
	if serr != nil {
		return nil, &syntaxError{} // SQLite reads it; PostgreSQL does not
	}
	return ops, nil
}
