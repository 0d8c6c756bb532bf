package migrate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	type stmt struct {
		SQL  string
		Line int
	}
	tests := []struct {
		name, dialect, src string
		want               []stmt
	}{
		{"two statements", Postgres, "CREATE TABLE a (id int);\nDROP TABLE b;", []stmt{{"CREATE TABLE a (id int)", 1}, {"DROP TABLE b", 2}}},
		{"no final semicolon", SQLite, "SELECT 1;\n\n  SELECT 2\n", []stmt{{"SELECT 1", 1}, {"SELECT 2", 3}}},
		{"semicolons in strings and comments", Postgres, "-- a; b\nINSERT INTO t VALUES ('x;y', \"q;\"); /* c; */ SELECT 1;", []stmt{{"INSERT INTO t VALUES ('x;y', \"q;\")", 2}, {"SELECT 1", 2}}},
		{"doubled quote", SQLite, "SELECT 'it''s; fine';SELECT 2;", []stmt{{"SELECT 'it''s; fine'", 1}, {"SELECT 2", 1}}},
		{"dollar quoted function", Postgres, "CREATE FUNCTION f() RETURNS int AS $body$\nBEGIN\n  RETURN 1;\nEND;\n$body$ LANGUAGE plpgsql;\nSELECT f();",
			[]stmt{{"CREATE FUNCTION f() RETURNS int AS $body$\nBEGIN\n  RETURN 1;\nEND;\n$body$ LANGUAGE plpgsql", 1}, {"SELECT f()", 6}}},
		{"positional parameter is not a dollar quote", Postgres, "PREPARE p AS SELECT $1;SELECT 2;", []stmt{{"PREPARE p AS SELECT $1", 1}, {"SELECT 2", 1}}},
		{"nested comment", Postgres, "/* a /* b; */ c; */ SELECT 1;", []stmt{{"SELECT 1", 1}}},
		{"E string backslash", Postgres, "SELECT E'a\\';b';SELECT 2;", []stmt{{"SELECT E'a\\';b'", 1}, {"SELECT 2", 1}}},
		{"mysql backslash and hash comment", MySQL, "# c;\nSELECT 'a\\';b';\nSELECT `x;y` FROM t;", []stmt{{"SELECT 'a\\';b'", 2}, {"SELECT `x;y` FROM t", 3}}},
		{"sqlite trigger body", SQLite, "CREATE TRIGGER tr AFTER INSERT ON a BEGIN\n  UPDATE b SET n = n + 1;\n  SELECT CASE WHEN 1 THEN 2 END;\nEND;\nSELECT 1;",
			[]stmt{{"CREATE TRIGGER tr AFTER INSERT ON a BEGIN\n  UPDATE b SET n = n + 1;\n  SELECT CASE WHEN 1 THEN 2 END;\nEND", 1}, {"SELECT 1", 5}}},
		{"mysql procedure with END IF", MySQL, "CREATE PROCEDURE p() BEGIN\n IF 1 THEN SELECT 1; END IF;\n CASE WHEN 1 THEN SELECT 2; END CASE;\nEND;\nSELECT 3;",
			[]stmt{{"CREATE PROCEDURE p() BEGIN\n IF 1 THEN SELECT 1; END IF;\n CASE WHEN 1 THEN SELECT 2; END CASE;\nEND", 1}, {"SELECT 3", 5}}},
		{"postgres begin atomic", Postgres, "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;",
			[]stmt{{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END", 1}, {"SELECT 3", 2}}},
		{"only comments", Postgres, "-- nothing\n/* here */\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []stmt
			for _, s := range Split(tt.src, tt.dialect).Statements {
				got = append(got, stmt{s.SQL, s.Line})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Split(%q) (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

func TestSplitComments(t *testing.T) {
	src := "-- slipway:ignore ban-drop-table legacy\nDROP TABLE a; -- trailing note\n-- before b\nDROP TABLE b /* inside */;\n-- at the end"
	sc := Split(src, Postgres)
	var got [][]Comment
	for _, s := range sc.Statements {
		got = append(got, s.Comments)
	}
	want := [][]Comment{
		{{"slipway:ignore ban-drop-table legacy", 1}, {"trailing note", 2}},
		{{"before b", 3}, {"inside", 4}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Split() comments (-want +got):\n%s", diff)
	}
	if len(sc.Comments) != 5 {
		t.Errorf("Split() file comments = %d, want 5", len(sc.Comments))
	}
}
