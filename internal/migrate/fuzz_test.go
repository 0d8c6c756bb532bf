package migrate

import (
	"strings"
	"testing"
)

// fuzzDialects maps the fuzzer's byte to a dialect.
var fuzzDialects = []string{Postgres, MySQL, SQLite}

// FuzzSplit checks the statement splitter on any input, for each dialect.
// The properties it checks, which hold for any text:
//   - every statement is the text at its Offset, non-empty, with no ASCII
//     space around it (SQL's white space; U+3000 and the like are not),
//     and on the Line its Offset is on;
//   - statements come in order and do not overlap;
//   - comments come in order of line, and a statement's comments are
//     among the file's;
//   - a statement split again on its own is that one statement;
//   - the statements joined with ";" on a line of its own split into the
//     same statements.
func FuzzSplit(f *testing.F) {
	f.Fuzz(func(t *testing.T, src string, dialect byte) {
		d := fuzzDialects[int(dialect)%len(fuzzDialects)]
		sc := Split(src, d)
		end := 0
		for i, st := range sc.Statements {
			if st.SQL == "" || strings.TrimFunc(st.SQL, isSpace) != st.SQL {
				t.Fatalf("Split(%q, %s) statement %d = %q, want text with no space around it", src, d, i, st.SQL)
			}
			if st.Offset < end || st.Offset+len(st.SQL) > len(src) || src[st.Offset:st.Offset+len(st.SQL)] != st.SQL {
				t.Fatalf("Split(%q, %s) statement %d = %q at %d, want the text at its offset, after the previous one (ends at %d)", src, d, i, st.SQL, st.Offset, end)
			}
			end = st.Offset + len(st.SQL)
			if want := 1 + strings.Count(src[:st.Offset], "\n"); st.Line != want {
				t.Fatalf("Split(%q, %s) statement %d line = %d, want %d", src, d, i, st.Line, want)
			}
			for _, c := range st.Comments {
				if !containsComment(sc.Comments, c) {
					t.Fatalf("Split(%q, %s) statement %d comment %+v is not among the file's", src, d, i, c)
				}
			}
			alone := Split(st.SQL, d).Statements
			if len(alone) != 1 || alone[0].SQL != st.SQL {
				t.Fatalf("Split(%q, %s) statement %d = %q, split on its own = %q; want the same one statement", src, d, i, st.SQL, sqls(alone))
			}
		}
		lines := 1 + strings.Count(src, "\n")
		for i, c := range sc.Comments {
			if c.Line < 1 || c.Line > lines || (i > 0 && c.Line < sc.Comments[i-1].Line) {
				t.Fatalf("Split(%q, %s) comment %d at line %d, want lines in order within 1..%d", src, d, i, c.Line, lines)
			}
		}
		if len(sc.Statements) == 0 {
			return
		}
		joined := strings.Join(sqls(sc.Statements), "\n;\n")
		if got, want := sqls(Split(joined, d).Statements), sqls(sc.Statements); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("Split(%q, %s) = %q; joined and split again = %q, want the same", src, d, want, got)
		}
	})
}

func sqls(sts []Statement) []string {
	out := make([]string, len(sts))
	for i, s := range sts {
		out[i] = s.SQL
	}
	return out
}

func containsComment(all []Comment, c Comment) bool {
	for _, a := range all {
		if a == c {
			return true
		}
	}
	return false
}
