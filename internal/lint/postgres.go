package lint

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	pgq "github.com/pganalyze/pg_query_go/v6"
	pgquery "github.com/wasilibs/go-pgquery"
	"github.com/wasilibs/go-pgquery/parser"
)

// postgresAnalyzer reads statements with PostgreSQL's own parser
// (libpg_query compiled to WebAssembly and run by wazero, so no cgo). The
// module is compiled on the first parse in a process, which takes about a
// second; WarmUp does it ahead of time.
type postgresAnalyzer struct{}

var warm struct {
	once sync.Once
	took time.Duration
}

// WarmUp compiles the PostgreSQL parser, once per process, and returns how
// long that took (zero after the first call).
func WarmUp() time.Duration {
	var took time.Duration
	warm.once.Do(func() {
		start := time.Now()
		pgquery.Parse("SELECT 1")
		took = time.Since(start)
		warm.took = took
	})
	return took
}

func (postgresAnalyzer) analyze(sql string) ([]op, *syntaxError) {
	WarmUp()
	tree, err := pgquery.Parse(sql)
	if err != nil {
		se := &syntaxError{msg: err.Error(), line: 1}
		var pe *parser.Error
		if errors.As(err, &pe) && pe.Cursorpos > 0 && pe.Cursorpos <= len(sql)+1 {
			se.line = 1 + strings.Count(sql[:pe.Cursorpos-1], "\n")
		}
		return nil, se
	}
	var ops []op
	for _, raw := range tree.GetStmts() {
		ops = append(ops, pgOps(raw.GetStmt())...)
	}
	return ops, nil
}

func relName(rv *pgq.RangeVar) string {
	if rv == nil {
		return ""
	}
	if rv.Schemaname != "" && rv.Schemaname != "public" {
		return rv.Schemaname + "." + rv.Relname
	}
	return rv.Relname
}

// objName names a dropped object: a list of String nodes (schema, name).
func objName(n *pgq.Node) string {
	var parts []string
	if l := n.GetList(); l != nil {
		for _, it := range l.Items {
			parts = append(parts, it.GetString_().GetSval())
		}
	} else if s := n.GetString_(); s != nil {
		parts = append(parts, s.Sval)
	}
	if len(parts) == 2 && parts[0] == "public" {
		parts = parts[1:]
	}
	return strings.Join(parts, ".")
}

func pgOps(n *pgq.Node) []op {
	switch {
	case n.GetCreateStmt() != nil:
		s := n.GetCreateStmt()
		o := op{kind: opCreateTable, table: relName(s.Relation), ifExists: s.IfNotExists}
		for _, e := range s.TableElts {
			if cd := e.GetColumnDef(); cd != nil {
				c := columnOf(cd)
				o.columns = append(o.columns, column{name: cd.Colname, typ: c.typ, notNull: c.notNull})
			}
		}
		return []op{o}
	case n.GetDropStmt() != nil:
		s := n.GetDropStmt()
		var ops []op
		for _, obj := range s.Objects {
			o := op{table: objName(obj), ifExists: s.MissingOk, cascade: s.Behavior == pgq.DropBehavior_DROP_CASCADE, concurrently: s.Concurrent}
			switch s.RemoveType {
			case pgq.ObjectType_OBJECT_TABLE:
				o.kind = opDropTable
			case pgq.ObjectType_OBJECT_INDEX:
				o.kind, o.conName, o.table = opDropIndex, o.table, ""
			case pgq.ObjectType_OBJECT_SCHEMA:
				o.kind = opDropSchema
			default:
				continue
			}
			ops = append(ops, o)
		}
		return ops
	case n.GetDropdbStmt() != nil:
		return []op{{kind: opDropDatabase, table: n.GetDropdbStmt().Dbname}}
	case n.GetRenameStmt() != nil:
		s := n.GetRenameStmt()
		switch s.RenameType {
		case pgq.ObjectType_OBJECT_TABLE:
			return []op{{kind: opRenameTable, table: relName(s.Relation), newName: s.Newname}}
		case pgq.ObjectType_OBJECT_COLUMN:
			return []op{{kind: opRenameColumn, table: relName(s.Relation), column: s.Subname, newName: s.Newname}}
		}
	case n.GetIndexStmt() != nil:
		s := n.GetIndexStmt()
		return []op{{kind: opCreateIndex, table: relName(s.Relation), conName: s.Idxname, concurrently: s.Concurrent, unique: s.Unique, ifExists: s.IfNotExists}}
	case n.GetTruncateStmt() != nil:
		s := n.GetTruncateStmt()
		var ops []op
		for _, r := range s.Relations {
			ops = append(ops, op{kind: opTruncate, table: relName(r.GetRangeVar()), cascade: s.Behavior == pgq.DropBehavior_DROP_CASCADE})
		}
		return ops
	case n.GetDeleteStmt() != nil:
		s := n.GetDeleteStmt()
		if s.WhereClause == nil {
			return []op{{kind: opDeleteAll, table: relName(s.Relation)}}
		}
	case n.GetVariableSetStmt() != nil:
		s := n.GetVariableSetStmt()
		name := strings.ToLower(s.Name)
		if name != "lock_timeout" && name != "statement_timeout" {
			return nil
		}
		off := s.Kind != pgq.VariableSetKind_VAR_SET_VALUE
		if len(s.Args) == 1 {
			if c := s.Args[0].GetAConst(); c != nil {
				off = off || (c.GetIval() != nil && c.GetIval().Ival == 0) || (c.GetSval() != nil && strings.TrimSpace(c.GetSval().Sval) == "0")
			}
		}
		return []op{{kind: opSetting, setting: name, disables: off}}
	case n.GetAlterTableStmt() != nil:
		s := n.GetAlterTableStmt()
		if s.Objtype != pgq.ObjectType_OBJECT_TABLE {
			return nil
		}
		return alterOps(relName(s.Relation), s.Cmds)
	case n.GetClusterStmt() != nil:
		return []op{{kind: opLocking}}
	}
	return nil
}

func alterOps(table string, cmds []*pgq.Node) []op {
	var ops []op
	for _, n := range cmds {
		c := n.GetAlterTableCmd()
		if c == nil {
			continue
		}
		switch c.Subtype {
		case pgq.AlterTableType_AT_AddColumn:
			cd := c.Def.GetColumnDef()
			if cd == nil {
				continue
			}
			o := columnOf(cd)
			o.kind, o.table, o.column, o.ifExists = opAddColumn, table, cd.Colname, c.MissingOk
			ops = append(ops, o)
		case pgq.AlterTableType_AT_DropColumn:
			ops = append(ops, op{kind: opDropColumn, table: table, column: c.Name, ifExists: c.MissingOk})
		case pgq.AlterTableType_AT_SetNotNull:
			ops = append(ops, op{kind: opSetNotNull, table: table, column: c.Name})
		case pgq.AlterTableType_AT_DropNotNull:
			ops = append(ops, op{kind: opDropNotNull, table: table, column: c.Name})
		case pgq.AlterTableType_AT_AlterColumnType:
			cd := c.Def.GetColumnDef()
			o := op{kind: opAlterType, table: table, column: c.Name}
			if cd != nil {
				o.typ = typeString(cd.TypeName)
				o.using = cd.RawDefault != nil
			}
			ops = append(ops, o)
		case pgq.AlterTableType_AT_AddConstraint:
			con := c.Def.GetConstraint()
			if con == nil {
				continue
			}
			o := op{kind: opAddConstraint, table: table, conName: con.Conname, notValid: con.SkipValidation, usingIndex: con.Indexname != ""}
			switch con.Contype {
			case pgq.ConstrType_CONSTR_UNIQUE:
				o.constraint = "unique"
			case pgq.ConstrType_CONSTR_PRIMARY:
				o.constraint = "primary"
			case pgq.ConstrType_CONSTR_CHECK:
				o.constraint = "check"
			case pgq.ConstrType_CONSTR_FOREIGN:
				o.constraint = "foreign"
			case pgq.ConstrType_CONSTR_EXCLUSION:
				o.kind = opLocking
			}
			ops = append(ops, o)
		case pgq.AlterTableType_AT_ValidateConstraint:
			ops = append(ops, op{kind: opValidateConstraint, table: table, conName: c.Name})
		default:
			ops = append(ops, op{kind: opLocking, table: table})
		}
	}
	return ops
}

// columnOf reads a column definition: its type, NOT NULL, its default and
// whether that default is volatile, and inline constraints.
func columnOf(cd *pgq.ColumnDef) op {
	o := op{typ: typeString(cd.TypeName), notNull: cd.IsNotNull}
	switch o.typ {
	case "serial", "serial4", "bigserial", "serial8", "smallserial", "serial2":
		o.hasDefault, o.volatile = true, true
	}
	if cd.RawDefault != nil {
		o.hasDefault = true
		o.volatile = o.volatile || volatile(cd.RawDefault)
	}
	for _, cn := range cd.Constraints {
		con := cn.GetConstraint()
		if con == nil {
			continue
		}
		switch con.Contype {
		case pgq.ConstrType_CONSTR_NOTNULL, pgq.ConstrType_CONSTR_PRIMARY:
			o.notNull = true
			if con.Contype == pgq.ConstrType_CONSTR_PRIMARY {
				o.constraint = "primary"
			}
		case pgq.ConstrType_CONSTR_DEFAULT:
			o.hasDefault = true
			o.volatile = o.volatile || volatile(con.RawExpr)
		case pgq.ConstrType_CONSTR_IDENTITY:
			o.hasDefault = true
		case pgq.ConstrType_CONSTR_GENERATED:
			o.generated, o.volatile = true, true
		case pgq.ConstrType_CONSTR_UNIQUE:
			o.constraint = "unique"
		case pgq.ConstrType_CONSTR_CHECK:
			o.constraint, o.notValid = "check", con.SkipValidation
		case pgq.ConstrType_CONSTR_FOREIGN:
			o.constraint, o.notValid = "foreign", con.SkipValidation
		}
	}
	return o
}

// stableFuncs are functions PostgreSQL evaluates once for the whole
// ALTER TABLE, so a default using them does not rewrite the table.
var stableFuncs = map[string]bool{
	"now": true, "statement_timestamp": true, "transaction_timestamp": true, "current_setting": true,
	"lower": true, "upper": true, "to_jsonb": true, "jsonb_build_object": true, "json_build_object": true, "array": true,
}

// volatile reports whether a default expression may differ per row.
func volatile(n *pgq.Node) bool {
	if n == nil {
		return false
	}
	switch {
	case n.GetAConst() != nil, n.GetSqlvalueFunction() != nil:
		return false
	case n.GetTypeCast() != nil:
		return volatile(n.GetTypeCast().Arg)
	case n.GetFuncCall() != nil:
		f := n.GetFuncCall()
		name := ""
		if len(f.Funcname) > 0 {
			name = f.Funcname[len(f.Funcname)-1].GetString_().GetSval()
		}
		if !stableFuncs[name] {
			return true
		}
		for _, a := range f.Args {
			if volatile(a) {
				return true
			}
		}
		return false
	case n.GetAExpr() != nil:
		return volatile(n.GetAExpr().Lexpr) || volatile(n.GetAExpr().Rexpr)
	case n.GetAArrayExpr() != nil:
		for _, e := range n.GetAArrayExpr().Elements {
			if volatile(e) {
				return true
			}
		}
		return false
	}
	return true
}

// typeString renders a type as varchar(20), numeric(10,2), int4, text.
func typeString(t *pgq.TypeName) string {
	if t == nil || len(t.Names) == 0 {
		return ""
	}
	name := t.Names[len(t.Names)-1].GetString_().GetSval()
	switch name {
	case "bpchar":
		name = "char"
	}
	var mods []string
	for _, m := range t.Typmods {
		if c := m.GetAConst(); c != nil && c.GetIval() != nil {
			mods = append(mods, fmt.Sprint(c.GetIval().Ival))
		}
	}
	s := name
	if len(mods) > 0 {
		s += "(" + strings.Join(mods, ",") + ")"
	}
	if len(t.ArrayBounds) > 0 {
		s += "[]"
	}
	return s
}
