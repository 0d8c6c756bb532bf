package lint

import (
	"fmt"
	"sort"
	"strings"

	"github.com/slipway-deploy/slipway/internal/migrate"
)

// Finding is one problem at one line of one file.
type Finding struct {
	File      string   `json:"file"`
	Line      int      `json:"line"`
	Rule      string   `json:"rule"`
	Severity  Severity `json:"severity"`
	AtlasCode string   `json:"atlas_code"`
	Message   string   `json:"message"`
	// Ignored findings were suppressed by a slipway:ignore annotation,
	// whose reason is Reason. They count for the migration's class but not
	// as errors.
	Ignored bool   `json:"-"`
	Reason  string `json:"-"`
}

// Result is the lint verdict on one migration.
type Result struct {
	Version int64
	Name    string
	File    string
	// Class is the worst class among its findings and effects.
	Class Class
	// Effects explain the class: one line per statement that contracts or
	// destroys, including ones no rule reports (a plain TRUNCATE).
	Effects  []string
	Findings []Finding
	// Reversible reports whether a rollback may run its down migration;
	// Irreversible says why not.
	Reversible   bool
	Irreversible string
	// Mode is how the runner will apply it: in one transaction or
	// statement by statement.
	Mode string
	// Notes are things the linter could not check.
	Notes []string
}

// Errors counts the findings of severity error that are not ignored.
func (r Result) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == Error && !f.Ignored {
			n++
		}
	}
	return n
}

// Key is how the manifest names the migration: its version and name as
// in the file name, 0003_add_email.
func (r Result) Key() string {
	if i := strings.Index(r.File, ".up.sql"); i > 0 {
		return r.File[:i]
	}
	return fmt.Sprintf("%04d_%s", r.Version, r.Name)
}

// Options shape a lint run.
type Options struct {
	// Engine is postgres (the default), mysql or sqlite.
	Engine string
	// NoSessionTimeouts says the files will be run by something other than
	// Slipway's runner, which sets lock_timeout and statement_timeout on
	// its session: then every file must set them itself.
	NoSessionTimeouts bool
}

func (o Options) engine() string {
	switch o.Engine {
	case migrate.MySQL, "mariadb":
		return migrate.MySQL
	case migrate.SQLite:
		return migrate.SQLite
	}
	return migrate.Postgres
}

// analyzer turns one statement into the operations the rules look at.
type analyzer interface {
	// analyze returns the statement's operations, or a syntax error with
	// the line (relative to the statement, 1-based) where it was found.
	analyze(sql string) ([]op, *syntaxError)
}

// scratchRunner is an analyzer that also runs the statements on a scratch
// database of the engine itself (SQLite's), in order, so that what the
// engine rejects only when it runs a statement is found too.
type scratchRunner interface {
	// run runs an up statement and returns the engine's message when it
	// rejects it.
	run(stmt string) string
	// tryDown runs a down migration's statements and undoes them; it
	// returns the index of the first one rejected and the message, or -1.
	tryDown(stmts []string) (int, string)
	// stop stops the runs after a rejection in file: what follows may
	// depend on the statement rejected.
	stop(file string)
	stoppedBy() string
}

type syntaxError struct {
	msg  string
	line int
}

// Lint checks migrations, in version order, for engine. Findings of down
// files are limited to syntax errors: a down file is expected to drop what
// its up file created.
func Lint(ms []migrate.Migration, opts Options) []Result {
	engine := opts.engine()
	a := newAnalyzer(engine)
	sch := schema{}
	out := make([]Result, 0, len(ms))
	for _, m := range ms {
		out = append(out, lintOne(a, sch, m, engine, opts))
	}
	if r, ok := a.(interface{ release() }); ok {
		r.release()
	}
	return out
}

func newAnalyzer(engine string) analyzer {
	switch engine {
	case migrate.MySQL:
		return newMySQL()
	case migrate.SQLite:
		return newSQLite()
	}
	return postgresAnalyzer{}
}

func lintOne(a analyzer, sch schema, m migrate.Migration, engine string, opts Options) Result {
	res := Result{Version: m.Version, Name: m.Name, File: m.UpFile, Class: Expand, Mode: migrate.Mode(m, engine)}
	fc := &fileCtx{engine: engine, file: m.UpFile, tx: res.Mode == "transaction", created: map[string]bool{},
		notValid: map[string]bool{}, sessionTimeouts: !opts.NoSessionTimeouts, sch: sch}
	script := migrate.Split(m.Up, engine)
	unparsed := 0
	runner, _ := a.(scratchRunner)
	if runner != nil && runner.stoppedBy() != "" {
		res.Notes = append(res.Notes, fmt.Sprintf("not run on SQLite: %s was rejected before it, and this file may depend on it (syntax checked only)", runner.stoppedBy()))
		runner = nil
	}
	for _, st := range script.Statements {
		ignores, bad := parseIgnores(st.Comments)
		for _, b := range bad {
			res.Findings = append(res.Findings, finding(m.UpFile, b.line, InvalidIgnore, b.msg))
		}
		ops, serr := a.analyze(st.SQL)
		var fs []Finding
		if serr != nil {
			if serr.msg == "" {
				unparsed++
			} else {
				fs = append(fs, finding(m.UpFile, st.Line+serr.line-1, SyntaxError, serr.msg))
			}
		}
		if runner != nil && serr != nil && serr.msg != "" {
			runner.stop(m.UpFile)
			runner = nil
		}
		if runner != nil {
			if msg := runner.run(st.SQL); msg != "" {
				fs = append(fs, finding(m.UpFile, st.Line, EngineRejects, "SQLite rejects this statement: "+msg))
				runner.stop(m.UpFile)
				runner = nil
			}
		}
		for _, o := range ops {
			o.line = st.Line
			f, effect := fc.check(o)
			fs = append(fs, f...)
			if effect.class.rank() > Expand.rank() {
				res.Effects = append(res.Effects, fmt.Sprintf("line %d: %s", st.Line, effect.why))
				if effect.class.rank() > res.Class.rank() {
					res.Class = effect.class
				}
			}
		}
		for i := range fs {
			if reason, ok := ignores[fs[i].Rule]; ok {
				fs[i].Ignored, fs[i].Reason = true, reason
			}
			if r, ok := Lookup(fs[i].Rule); ok && r.Class.rank() > res.Class.rank() {
				res.Class = r.Class
			}
		}
		res.Findings = append(res.Findings, fs...)
	}
	if unparsed > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d statement(s) use SQLite syntax PostgreSQL's parser does not read: checked by SQLite for syntax only, not by the rules", unparsed))
	}
	if m.Down != "" {
		down := migrate.Split(m.Down, engine).Statements
		syntax := false
		for _, st := range down {
			if _, serr := a.analyze(st.SQL); serr != nil && serr.msg != "" {
				syntax = true
				res.Findings = append(res.Findings, finding(m.DownFile, st.Line+serr.line-1, SyntaxError, serr.msg+" (in the down migration, which would fail during a rollback)"))
			}
		}
		if runner != nil && !syntax {
			stmts := make([]string, len(down))
			for i, st := range down {
				stmts[i] = st.SQL
			}
			if i, msg := runner.tryDown(stmts); i >= 0 {
				res.Findings = append(res.Findings, finding(m.DownFile, down[i].Line, EngineRejects, "SQLite rejects this statement of the down migration, which would fail during a rollback: "+msg))
			}
		}
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		if res.Findings[i].File != res.Findings[j].File {
			return res.Findings[i].File == m.UpFile
		}
		return res.Findings[i].Line < res.Findings[j].Line
	})
	res.Reversible = m.Reversible()
	switch {
	case m.DownFile == "" || strings.TrimSpace(m.Down) == "":
		res.Irreversible = "no down migration"
	case m.Irreversible:
		res.Irreversible = "marked -- slipway:irreversible"
	case res.Class == Destructive:
		res.Reversible = false
		res.Irreversible = "destructive: a down migration cannot bring the data back (restore the snapshot)"
	}
	return res
}

func finding(file string, line int, rule, msg string) Finding {
	r := byID[rule]
	return Finding{File: file, Line: line, Rule: rule, Severity: r.Severity, AtlasCode: r.AtlasCode, Message: msg}
}

type badIgnore struct {
	line int
	msg  string
}

// parseIgnores reads "slipway:ignore <rule>[,<rule>...] <reason>" comments.
func parseIgnores(cs []migrate.Comment) (map[string]string, []badIgnore) {
	out := map[string]string{}
	var bad []badIgnore
	for _, c := range cs {
		rest, ok := strings.CutPrefix(c.Text, "slipway:ignore")
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) < 2 {
			bad = append(bad, badIgnore{c.Line, "slipway:ignore needs a rule and a reason: -- slipway:ignore <rule> <why this is safe>"})
			continue
		}
		reason := strings.TrimSpace(strings.SplitN(strings.TrimSpace(rest), fields[0], 2)[1])
		for _, id := range strings.Split(fields[0], ",") {
			if _, known := byID[id]; !known {
				bad = append(bad, badIgnore{c.Line, fmt.Sprintf("slipway:ignore names unknown rule %q", id)})
				continue
			}
			out[id] = reason
		}
	}
	return out, bad
}
