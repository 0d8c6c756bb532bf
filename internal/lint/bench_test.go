package lint

import (
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/slipway-deploy/slipway/internal/migrate"
)

// thousand returns 1,000 migration files of a few statements each, a mix
// of the statements real migrations hold.
func thousand(b *testing.B) []migrate.Migration {
	b.Helper()
	bodies := []string{
		"CREATE TABLE t%[1]d (id bigint PRIMARY KEY, name varchar(50) NOT NULL, created_at timestamptz DEFAULT now());\nCREATE INDEX t%[1]d_name ON t%[1]d (name);",
		"ALTER TABLE t%[2]d ADD COLUMN note text;\nUPDATE t%[2]d SET note = 'x' WHERE id < 100;",
		"-- slipway:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t%[2]d_note ON t%[2]d (note);",
		"ALTER TABLE t%[2]d ADD CONSTRAINT t%[2]d_name_len CHECK (length(name) < 40) NOT VALID;",
		"-- slipway:ignore ban-drop-column unused since v3\nALTER TABLE t%[2]d DROP COLUMN note;",
	}
	fsys := fstest.MapFS{}
	for v := 1; v <= 1000; v++ {
		body := fmt.Sprintf(bodies[v%len(bodies)], v, max(1, v-1))
		fsys[fmt.Sprintf("%04d_m.up.sql", v)] = &fstest.MapFile{Data: []byte(body)}
	}
	ms, err := migrate.Load(fsys)
	if err != nil {
		b.Fatal(err)
	}
	return ms
}

// BenchmarkLint1000 lints 1,000 migration files with PostgreSQL's parser
// (compiled beforehand: see BenchmarkParserWarmUp).
func BenchmarkLint1000(b *testing.B) {
	ms := thousand(b)
	WarmUp()
	for b.Loop() {
		rs := Lint(ms, Options{})
		if len(rs) != 1000 {
			b.Fatal(len(rs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*1000), "µs/file")
}

// BenchmarkLint1000MySQL is BenchmarkLint1000 with the TiDB parser.
func BenchmarkLint1000MySQL(b *testing.B) {
	ms := thousand(b)
	for b.Loop() {
		Lint(ms, Options{Engine: "mysql"})
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*1000), "µs/file")
}

// BenchmarkParserWarmUp reports what the first parse in a process costs:
// compiling libpg_query's WebAssembly (measured once; TestMain or an
// earlier benchmark may already have paid it, then it reports 0).
func BenchmarkParserWarmUp(b *testing.B) {
	var took time.Duration
	for b.Loop() {
		took += WarmUp()
	}
	b.ReportMetric(float64(warm.took.Milliseconds()), "ms-first-compile")
	_ = took
}
