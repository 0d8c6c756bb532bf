package migrate

import (
	"strings"
)

// Dialects a script is split for. They differ in quoting (MySQL's
// backslash escapes and backticks, PostgreSQL's dollar quotes and nested
// comments, SQLite's [brackets]) and in compound statements (a trigger body
// between BEGIN and END).
const (
	Postgres = "postgres"
	MySQL    = "mysql"
	SQLite   = "sqlite"
)

// Statement is one statement of a migration file.
type Statement struct {
	// SQL is the statement without its terminating semicolon and without
	// the comments before it.
	SQL string
	// Line is the 1-based line of the statement's first token.
	Line int
	// Offset is the byte offset of SQL in the file.
	Offset int
	// Comments are the comments that belong to the statement: those on the
	// lines before it (since the previous statement), inside it, and after
	// its semicolon on the same line.
	Comments []Comment
}

// Comment is one comment of a migration file, without its markers.
type Comment struct {
	Text string
	Line int
}

// Script is a migration file split into statements.
type Script struct {
	Statements []Statement
	// Comments are all the file's comments, in order.
	Comments []Comment
}

// Split splits src into statements for dialect. It understands the
// dialect's string, identifier and comment syntax, PostgreSQL's dollar
// quoting and BEGIN ATOMIC bodies, and the BEGIN ... END bodies of
// triggers, functions and procedures in MySQL and SQLite, so a semicolon
// inside any of them does not end a statement. It does not understand the
// mysql client's DELIMITER command, which is not SQL.
func Split(src, dialect string) Script {
	s := splitter{src: src, dialect: dialect, line: 1}
	s.run()
	return s.out
}

type splitter struct {
	src     string
	dialect string
	i       int
	line    int
	out     Script

	// the statement being read
	start     int // offset of its first token, -1 before it
	startLine int
	pending   []Comment // comments since the previous statement
	words     []string  // its first few words, upper case
	compound  bool
	depth     int
	lastWord  string
	closeLine int // line of the last statement's semicolon, for trailing comments
}

func (s *splitter) run() {
	s.start = -1
	s.closeLine = -1
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\n':
			s.line++
			s.i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			s.i++
		case c == '-' && s.peek(1) == '-':
			s.lineComment(2)
		case c == '#' && s.dialect == MySQL:
			s.lineComment(1)
		case c == '/' && s.peek(1) == '*':
			s.blockComment()
		case c == ';':
			if s.start >= 0 && s.depth > 0 {
				s.i++
				continue
			}
			s.finish(s.i)
			s.i++
			s.closeLine = s.line
		default:
			s.token()
		}
	}
	s.finish(len(s.src))
	// Comments after the last statement belong to no statement but count
	// for the file.
}

func (s *splitter) peek(n int) byte {
	if s.i+n < len(s.src) {
		return s.src[s.i+n]
	}
	return 0
}

func (s *splitter) addComment(text string, line int) {
	c := Comment{Text: strings.TrimSpace(text), Line: line}
	s.out.Comments = append(s.out.Comments, c)
	if s.start < 0 && line == s.closeLine && len(s.out.Statements) > 0 {
		last := &s.out.Statements[len(s.out.Statements)-1]
		last.Comments = append(last.Comments, c)
		return
	}
	s.pending = append(s.pending, c)
}

func (s *splitter) lineComment(marker int) {
	line := s.line
	j := strings.IndexByte(s.src[s.i:], '\n')
	end := len(s.src)
	if j >= 0 {
		end = s.i + j
	}
	s.addComment(s.src[s.i+marker:end], line)
	s.i = end
}

func (s *splitter) blockComment() {
	line := s.line
	begin := s.i + 2
	depth := 0
	for s.i < len(s.src) {
		switch {
		case s.src[s.i] == '/' && s.peek(1) == '*':
			depth++
			s.i += 2
			continue
		case s.src[s.i] == '*' && s.peek(1) == '/':
			// Only PostgreSQL nests block comments.
			if depth--; depth == 0 || s.dialect != Postgres {
				end := s.i
				s.i += 2
				s.addComment(s.src[begin:end], line)
				return
			}
			s.i += 2
			continue
		case s.src[s.i] == '\n':
			s.line++
		}
		s.i++
	}
	s.addComment(s.src[begin:], line)
}

// begin marks the start of a statement at the current offset.
func (s *splitter) begin() {
	if s.start < 0 {
		s.start, s.startLine = s.i, s.line
		s.closeLine = -1
	}
}

func (s *splitter) token() {
	s.begin()
	c := s.src[s.i]
	switch {
	case c == '\'':
		backslash := s.dialect == MySQL
		if s.dialect == Postgres && s.i > 0 && (s.src[s.i-1] == 'E' || s.src[s.i-1] == 'e') && (s.i < 2 || !isWordByte(s.src[s.i-2])) {
			backslash = true
		}
		s.quoted('\'', backslash)
	case c == '"':
		s.quoted('"', s.dialect == MySQL)
	case c == '`' && s.dialect != Postgres:
		s.quoted('`', false)
	case c == '[' && s.dialect == SQLite:
		s.quoted(']', false)
	case c == '$' && s.dialect == Postgres:
		s.dollar()
	case isWordStart(c):
		j := s.i
		for j < len(s.src) && isWordByte(s.src[j]) {
			j++
		}
		s.word(strings.ToUpper(s.src[s.i:j]))
		s.i = j
	default:
		s.i++
	}
}

// quoted skips a quoted string or identifier; a doubled quote is an
// escaped quote, and so is a backslash-escaped one where backslash is set.
func (s *splitter) quoted(q byte, backslash bool) {
	s.i++
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\n':
			s.line++
		case backslash && c == '\\':
			s.i++
			if s.i < len(s.src) && s.src[s.i] == '\n' {
				s.line++
			}
		case c == q:
			if s.peek(1) == q {
				s.i++
			} else {
				s.i++
				return
			}
		}
		s.i++
	}
}

// dollar skips a PostgreSQL dollar-quoted string ($$...$$, $tag$...$tag$);
// a positional parameter ($1) is left alone.
func (s *splitter) dollar() {
	j := s.i + 1
	for j < len(s.src) && (isWordByte(s.src[j])) && s.src[j] != '$' {
		j++
	}
	if j >= len(s.src) || s.src[j] != '$' || (j > s.i+1 && s.src[s.i+1] >= '0' && s.src[s.i+1] <= '9') {
		s.i++
		return
	}
	tag := s.src[s.i : j+1]
	end := strings.Index(s.src[j+1:], tag)
	if end < 0 {
		s.line += strings.Count(s.src[s.i:], "\n")
		s.i = len(s.src)
		return
	}
	stop := j + 1 + end + len(tag)
	s.line += strings.Count(s.src[s.i:stop], "\n")
	s.i = stop
}

// word tracks the statement's first words and, in the body of a trigger,
// function or procedure, the BEGIN/CASE ... END nesting.
func (s *splitter) word(w string) {
	prev := s.lastWord
	s.lastWord = w
	if len(s.words) < 12 {
		s.words = append(s.words, w)
		if len(s.words) > 1 && s.words[0] == "CREATE" {
			switch w {
			case "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT":
				s.compound = s.dialect != Postgres
			}
		}
	}
	switch {
	case s.dialect == Postgres:
		// A SQL-standard function body: BEGIN ATOMIC ... END.
		if w == "ATOMIC" && prev == "BEGIN" && s.words[0] == "CREATE" {
			s.depth++
		} else if w == "CASE" && s.depth > 0 {
			s.depth++
		} else if w == "END" && s.depth > 0 {
			s.depth--
		}
	case s.compound:
		switch w {
		case "BEGIN", "CASE":
			if w == "CASE" && prev == "END" {
				break // END CASE: the END closed it
			}
			s.depth++
		case "END":
			if s.depth > 0 {
				s.depth--
			}
		case "IF", "LOOP", "WHILE", "REPEAT":
			// END IF, END LOOP ...: the END before it closed nothing.
			if prev == "END" {
				s.depth++
			}
		}
	}
}

func (s *splitter) finish(end int) {
	if s.start >= 0 {
		text := strings.TrimRightFunc(s.src[s.start:end], isSpace)
		s.out.Statements = append(s.out.Statements, Statement{SQL: text, Line: s.startLine, Offset: s.start, Comments: s.pending})
		s.pending = nil
	}
	s.start, s.words, s.compound, s.depth, s.lastWord = -1, nil, false, 0, ""
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}

func isWordStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isWordByte(c byte) bool { return isWordStart(c) || (c >= '0' && c <= '9') || c == '$' }
