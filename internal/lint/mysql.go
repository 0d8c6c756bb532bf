package lint

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values in parse trees
)

// mysqlAnalyzer reads statements with the TiDB parser, which accepts
// MySQL's grammar (and most of MariaDB's). A parser is not safe for
// concurrent use, so each analyzer keeps its own, from a pool.
type mysqlAnalyzer struct{ p *parser.Parser }

var mysqlParsers = sync.Pool{New: func() any { return parser.New() }}

func newMySQL() *mysqlAnalyzer { return &mysqlAnalyzer{p: mysqlParsers.Get().(*parser.Parser)} }

func (a *mysqlAnalyzer) release() { mysqlParsers.Put(a.p) }

var tidbLineRE = regexp.MustCompile(`line (\d+) column \d+`)

func (a *mysqlAnalyzer) analyze(sql string) ([]op, *syntaxError) {
	stmts, _, err := a.p.Parse(sql, "", "")
	if err != nil {
		msg := err.Error()
		// "[parser:1064]You have an error in your SQL syntax; check the
		// manual that corresponds to your TiDB version ... line 1 column 20 near ..."
		if i := strings.Index(msg, "]"); strings.HasPrefix(msg, "[parser:") && i > 0 {
			msg = msg[i+1:]
		}
		msg = strings.Replace(msg, "; check the manual that corresponds to your TiDB version for the right syntax to use", "", 1)
		line := 1
		if m := tidbLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, &syntaxError{msg: strings.TrimSpace(msg), line: line}
	}
	var ops []op
	for _, s := range stmts {
		ops = append(ops, myOps(s)...)
	}
	return ops, nil
}

func tableName(t *ast.TableName) string {
	if t == nil {
		return ""
	}
	return strings.ToLower(t.Name.O)
}

func myOps(n ast.StmtNode) []op {
	switch s := n.(type) {
	case *ast.CreateTableStmt:
		o := op{kind: opCreateTable, table: tableName(s.Table), ifExists: s.IfNotExists}
		for _, c := range s.Cols {
			d := myColumn(c)
			o.columns = append(o.columns, column{name: d.column, typ: d.typ, notNull: d.notNull})
		}
		return []op{o}
	case *ast.DropTableStmt:
		if s.IsView {
			return nil
		}
		var ops []op
		for _, t := range s.Tables {
			ops = append(ops, op{kind: opDropTable, table: tableName(t), ifExists: s.IfExists})
		}
		return ops
	case *ast.DropDatabaseStmt:
		return []op{{kind: opDropDatabase, table: s.Name.O}}
	case *ast.RenameTableStmt:
		var ops []op
		for _, tt := range s.TableToTables {
			ops = append(ops, op{kind: opRenameTable, table: tableName(tt.OldTable), newName: tableName(tt.NewTable)})
		}
		return ops
	case *ast.TruncateTableStmt:
		return []op{{kind: opTruncate, table: tableName(s.Table)}}
	case *ast.DeleteStmt:
		if s.Where == nil && s.TableRefs != nil && s.TableRefs.TableRefs != nil {
			if ts, ok := s.TableRefs.TableRefs.Left.(*ast.TableSource); ok {
				if tn, ok := ts.Source.(*ast.TableName); ok {
					return []op{{kind: opDeleteAll, table: tableName(tn)}}
				}
			}
		}
	case *ast.CreateIndexStmt:
		return []op{{kind: opCreateIndex, table: tableName(s.Table), conName: s.IndexName, unique: s.KeyType == ast.IndexKeyTypeUnique,
			ifExists: s.IfNotExists, concurrently: true}}
	case *ast.DropIndexStmt:
		return []op{{kind: opDropIndex, table: tableName(s.Table), conName: s.IndexName, ifExists: s.IfExists, concurrently: true}}
	case *ast.SetStmt:
		var ops []op
		for _, v := range s.Variables {
			name := strings.ToLower(v.Name)
			if name != "lock_wait_timeout" {
				continue
			}
			off := false
			if ve, ok := v.Value.(ast.ValueExpr); ok {
				if n, err := strconv.ParseFloat(strings.TrimSpace(toString(ve.GetValue())), 64); err == nil && n >= 86400 {
					off = true
				}
			}
			if _, ok := v.Value.(*ast.DefaultExpr); ok {
				off = true
			}
			ops = append(ops, op{kind: opSetting, setting: name, disables: off})
		}
		return ops
	case *ast.AlterTableStmt:
		return myAlter(tableName(s.Table), s.Specs)
	}
	return nil
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	return ""
}

func myAlter(table string, specs []*ast.AlterTableSpec) []op {
	var ops []op
	for _, sp := range specs {
		switch sp.Tp {
		case ast.AlterTableAddColumns:
			for _, c := range sp.NewColumns {
				o := myColumn(c)
				o.kind, o.table, o.ifExists = opAddColumn, table, sp.IfNotExists
				ops = append(ops, o)
			}
		case ast.AlterTableDropColumn:
			ops = append(ops, op{kind: opDropColumn, table: table, column: strings.ToLower(sp.OldColumnName.Name.O), ifExists: sp.IfExists})
		case ast.AlterTableRenameColumn:
			ops = append(ops, op{kind: opRenameColumn, table: table, column: strings.ToLower(sp.OldColumnName.Name.O), newName: strings.ToLower(sp.NewColumnName.Name.O)})
		case ast.AlterTableRenameTable:
			ops = append(ops, op{kind: opRenameTable, table: table, newName: tableName(sp.NewTable)})
		case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
			if len(sp.NewColumns) == 0 {
				continue
			}
			o := myColumn(sp.NewColumns[0])
			if sp.Tp == ast.AlterTableChangeColumn && sp.OldColumnName != nil {
				old := strings.ToLower(sp.OldColumnName.Name.O)
				if old != o.column {
					ops = append(ops, op{kind: opRenameColumn, table: table, column: old, newName: o.column})
				}
			}
			o.kind, o.table = opAlterType, table
			ops = append(ops, o)
		case ast.AlterTableAddConstraint:
			c := sp.Constraint
			if c == nil {
				continue
			}
			o := op{kind: opAddConstraint, table: table, conName: c.Name}
			switch c.Tp {
			case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
				o.constraint = "unique"
			case ast.ConstraintPrimaryKey:
				o.constraint = "primary"
			case ast.ConstraintForeignKey:
				o.constraint = "foreign"
			case ast.ConstraintCheck:
				// MySQL checks every row and has no NOT VALID: nothing to advise.
				o.kind = opLocking
			default:
				// A plain index: MySQL builds it online (ALGORITHM=INPLACE).
				o.kind = opCreateIndex
				o.concurrently = true
			}
			ops = append(ops, o)
		default:
			ops = append(ops, op{kind: opLocking, table: table})
		}
	}
	return ops
}

func myColumn(c *ast.ColumnDef) op {
	o := op{column: strings.ToLower(c.Name.Name.O)}
	if c.Tp != nil {
		o.typ = strings.ToLower(c.Tp.CompactStr())
		if mysql.HasNotNullFlag(c.Tp.GetFlag()) {
			o.notNull = true
		}
	}
	for _, opt := range c.Options {
		switch opt.Tp {
		case ast.ColumnOptionNotNull, ast.ColumnOptionPrimaryKey:
			o.notNull = true
		case ast.ColumnOptionNull:
			o.notNull = false
		case ast.ColumnOptionDefaultValue:
			o.hasDefault = true
		case ast.ColumnOptionAutoIncrement:
			o.hasDefault = true
		case ast.ColumnOptionGenerated:
			o.generated = true
		case ast.ColumnOptionUniqKey:
			o.constraint = "unique"
		case ast.ColumnOptionReference:
			o.constraint = "foreign"
		}
	}
	return o
}
