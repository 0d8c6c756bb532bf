package migrate_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/migrate/migratetest"
)

// small200 returns 200 small migrations whose tables carry prefix, so
// every benchmark round works on tables of its own.
func small200(b *testing.B, prefix string) []migrate.Migration {
	b.Helper()
	fsys := fstest.MapFS{}
	for v := 1; v <= 200; v++ {
		fsys[fmt.Sprintf("%04d_step.up.sql", v)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
			"CREATE TABLE %s_%d (id INT PRIMARY KEY, note VARCHAR(20));\nINSERT INTO %s_%d (id, note) VALUES (1, 'x');", prefix, v, prefix, v))}
		fsys[fmt.Sprintf("%04d_step.down.sql", v)] = &fstest.MapFile{Data: []byte(fmt.Sprintf("DROP TABLE %s_%d;", prefix, v))}
	}
	ms, err := migrate.Load(fsys)
	if err != nil {
		b.Fatal(err)
	}
	return ms
}

func benchApply(b *testing.B, db *sql.DB) {
	ctx := context.Background()
	round := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		round++
		ms := small200(b, fmt.Sprintf("r%d", round))
		if _, err := db.Exec("DROP TABLE IF EXISTS " + migrate.Table); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		got, err := (&migrate.Runner{DB: db}).Up(ctx, ms)
		if err != nil || len(got) != 200 {
			b.Fatalf("Up() = %d applied, %v", len(got), err)
		}
		b.StopTimer()
		dropRound(b, db, fmt.Sprintf("r%d", round))
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*200)/1000, "ms/migration")
}

// BenchmarkApply200SQLite applies 200 small migrations to SQLite.
func BenchmarkApply200SQLite(b *testing.B) { benchApply(b, migratetest.SQLite(b)) }

// BenchmarkApply200Postgres applies 200 small migrations to PostgreSQL.
func BenchmarkApply200Postgres(b *testing.B) { benchApply(b, migratetest.Postgres(b)) }

// BenchmarkApply200MySQL applies 200 small migrations to MariaDB/MySQL
// (statement by statement: MySQL commits DDL implicitly).
func BenchmarkApply200MySQL(b *testing.B) { benchApply(b, migratetest.MySQL(b)) }

// benchDirect executes the same SQL as benchApply, each file in one
// transaction, with no runner: no lock, no state table, no splitting.
func benchDirect(b *testing.B, db *sql.DB) {
	ctx := context.Background()
	round := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		round++
		ms := small200(b, fmt.Sprintf("d%d", round))
		b.StartTimer()
		for _, m := range ms {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, st := range migrate.Split(m.Up, migrate.Engine(db)).Statements {
				if _, err := tx.ExecContext(ctx, st.SQL); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		dropRound(b, db, fmt.Sprintf("d%d", round))
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*200)/1000, "ms/migration")
}

// BenchmarkRunnerOverheadSQLite compares the runner with executing the
// same SQL directly; the difference in ms/migration is the runner's cost.
func BenchmarkRunnerOverheadSQLite(b *testing.B) {
	b.Run("runner", func(b *testing.B) { benchApply(b, migratetest.SQLite(b)) })
	b.Run("direct", func(b *testing.B) { benchDirect(b, migratetest.SQLite(b)) })
}

// BenchmarkRunnerOverheadPostgres is BenchmarkRunnerOverheadSQLite on
// PostgreSQL.
func BenchmarkRunnerOverheadPostgres(b *testing.B) {
	b.Run("runner", func(b *testing.B) { benchApply(b, migratetest.Postgres(b)) })
	b.Run("direct", func(b *testing.B) { benchDirect(b, migratetest.Postgres(b)) })
}

// dropRound drops a round's tables, so that every round starts from a
// catalog of the same size.
func dropRound(b *testing.B, db *sql.DB, prefix string) {
	for v := 1; v <= 200; v++ {
		if _, err := db.Exec(fmt.Sprintf("DROP TABLE %s_%d", prefix, v)); err != nil {
			b.Fatal(err)
		}
	}
}
