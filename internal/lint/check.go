package lint

import (
	"fmt"
	"strconv"
	"strings"
)

// opKind is what a statement (or one clause of an ALTER TABLE) does.
type opKind int

const (
	opCreateTable opKind = iota + 1
	opDropTable
	opDropColumn
	opDropDatabase
	opDropSchema
	opRenameTable
	opRenameColumn
	opAddColumn
	opSetNotNull
	opDropNotNull
	opAddConstraint
	opValidateConstraint
	opAlterType
	opCreateIndex
	opDropIndex
	opTruncate
	opDeleteAll
	opSetting
	opLocking // any other statement that takes a table lock
)

// op is the engine-neutral form of what a statement does; the analyzers
// of each engine produce it from that engine's parse tree.
type op struct {
	kind  opKind
	line  int
	table string
	// column is the column concerned; newName the name after a rename.
	column, newName string
	// typ is the column's (new) type, lower case: varchar(20), int4.
	typ string
	// An added column: NOT NULL, with a default, how that default is
	// computed (volatile: per row, so the table is rewritten).
	notNull, hasDefault, volatile, generated bool
	// A constraint: unique, check, foreign, primary; its name; NOT VALID;
	// USING INDEX (a unique constraint over an index built beforehand).
	constraint string
	conName    string
	notValid   bool
	usingIndex bool
	// An index or drop: CONCURRENTLY, UNIQUE, IF [NOT] EXISTS, CASCADE.
	concurrently, unique, ifExists, cascade bool
	// ALTER TYPE ... USING: a conversion, so a rewrite.
	using bool
	// A SET: the setting and whether it turns the timeout off.
	setting  string
	disables bool
	// columns of a created table, for the schema model.
	columns []column
	// oldType/oldNull describe a MySQL MODIFY/CHANGE's column as the
	// schema knew it (filled by check).
}

// column is a column as the schema model knows it.
type column struct {
	name    string
	typ     string
	notNull bool
}

// schema is what earlier migrations created: table → column → column.
type schema map[string]map[string]column

func (s schema) col(table, name string) (column, bool) {
	c, ok := s[table][name]
	return c, ok
}

func (s schema) put(table string, c column) {
	if s[table] == nil {
		s[table] = map[string]column{}
	}
	s[table][c.name] = c
}

// fileCtx is what the rules know while they walk one file.
type fileCtx struct {
	engine string
	file   string
	// tx: the file runs in one transaction.
	tx bool
	// created: tables created earlier in this file (empty, so index and
	// constraint rules do not apply to them).
	created map[string]bool
	// notValid: constraints added NOT VALID earlier in this file.
	notValid map[string]bool
	// sessionTimeouts: the runner sets lock_timeout and statement_timeout.
	sessionTimeouts bool
	lockTimeout     int // 1 set by the file, -1 turned off by the file
	stmtTimeout     int
	sch             schema
}

// effect is what an operation does to the running release.
type effect struct {
	class Class
	why   string
}

func (fc *fileCtx) applies(rule string) bool {
	r, ok := byID[rule]
	return ok && r.AppliesTo(fc.engine)
}

// check runs the rules on one operation and updates the file's context.
func (fc *fileCtx) check(o op) ([]Finding, effect) {
	var out []Finding
	add := func(rule, format string, a ...any) {
		if fc.applies(rule) {
			out = append(out, finding(fc.file, o.line, rule, fmt.Sprintf(format, a...)))
		}
	}
	var eff effect
	contract := func(format string, a ...any) { eff = effect{Contract, fmt.Sprintf(format, a...)} }
	destroy := func(format string, a ...any) { eff = effect{Destructive, fmt.Sprintf(format, a...)} }
	isNew := fc.created[o.table]
	tbl := o.table

	// Rules about timeouts and retries look at every statement that locks.
	if o.locks() && !isNew {
		fc.timeouts(o, add)
	}
	if !fc.tx && !o.robust() && fc.applies(PreferRobustStmts) {
		add(PreferRobustStmts, "%s runs outside a transaction, so a retry may run it again: %s", o.describe(), o.robustHint())
	}

	switch o.kind {
	case opCreateTable:
		fc.created[tbl] = true
		delete(fc.sch, tbl)
		for _, c := range o.columns {
			fc.sch.put(tbl, c)
		}
	case opDropTable:
		delete(fc.sch, tbl)
		if isNew {
			break
		}
		add(BanDropTable, "DROP TABLE %s deletes the table and its data, and the running release still uses it: stop using it in one release, drop it in a later one (the snapshot taken before migrating is the only way back)", tbl)
		destroy("drops table %s", tbl)
	case opDropColumn:
		delete(fc.sch[tbl], o.column)
		if isNew {
			break
		}
		add(BanDropColumn, "dropping column %s.%s deletes its data, and the running release may still read or write it: stop using it in one release, drop it in a later one", tbl, o.column)
		destroy("drops column %s.%s", tbl, o.column)
	case opDropDatabase:
		add(BanDropDatabase, "DROP DATABASE %s deletes every table in it", tbl)
		destroy("drops database %s", tbl)
	case opDropSchema:
		destroy("drops schema %s", tbl)
	case opRenameTable:
		if c, ok := fc.sch[tbl]; ok {
			fc.sch[o.newName] = c
			delete(fc.sch, tbl)
		}
		if isNew {
			fc.created[o.newName] = true
			break
		}
		add(RenamingTable, "renaming table %s to %s breaks the running release, which still uses the old name: create the new table (or a view) alongside, move the code, then drop the old name in a later release", tbl, o.newName)
		contract("renames table %s to %s", tbl, o.newName)
	case opRenameColumn:
		if c, ok := fc.sch.col(tbl, o.column); ok {
			delete(fc.sch[tbl], o.column)
			c.name = o.newName
			fc.sch.put(tbl, c)
		}
		if isNew {
			break
		}
		add(RenamingColumn, "renaming column %s.%s to %s breaks the running release, which still uses the old name: add the new column, write both, backfill, move reads, then drop the old one in a later release", tbl, o.column, o.newName)
		contract("renames column %s.%s to %s", tbl, o.column, o.newName)
	case opAddColumn:
		fc.sch.put(tbl, column{name: o.column, typ: o.typ, notNull: o.notNull})
		if isNew {
			break
		}
		if o.notNull && !o.hasDefault && !o.generated {
			add(AddingRequiredField, "column %s.%s is NOT NULL without a default: the migration fails if the table has rows, and the running release's inserts fail because they do not set it; add it nullable (or with a default), backfill, then add NOT NULL", tbl, o.column)
			contract("adds required column %s.%s", tbl, o.column)
		}
		if o.volatile {
			add(AddingFieldWithDefault, "column %s.%s gets a volatile default (%s): PostgreSQL rewrites the whole table under an ACCESS EXCLUSIVE lock to fill it; add the column without a default, set the default, then backfill in batches", tbl, o.column, o.typ)
		}
		fc.constraintRules(o, add, contract)
	case opSetNotNull:
		if c, ok := fc.sch.col(tbl, o.column); ok {
			c.notNull = true
			fc.sch.put(tbl, c)
		}
		if isNew {
			break
		}
		add(AddingNotNullableField, "SET NOT NULL on %s.%s scans the whole table under an ACCESS EXCLUSIVE lock, and the running release's writes of NULL start failing: add CHECK (%s IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (PostgreSQL 12+ uses the constraint and skips the scan)", tbl, o.column, o.column)
		contract("makes %s.%s NOT NULL", tbl, o.column)
	case opDropNotNull:
		if c, ok := fc.sch.col(tbl, o.column); ok {
			c.notNull = false
			fc.sch.put(tbl, c)
		}
		if isNew {
			break
		}
		add(BanDropNotNull, "dropping NOT NULL on %s.%s lets NULLs in that the running release may not handle", tbl, o.column)
		contract("drops NOT NULL on %s.%s", tbl, o.column)
	case opAddConstraint:
		if isNew {
			break
		}
		fc.constraintRules(o, add, contract)
	case opValidateConstraint:
		if fc.notValid[o.conName] && fc.tx {
			add(ConstraintMissingNotValid, "constraint %s is added NOT VALID and validated in the same transaction, so the table stays locked while every row is checked: validate it in a later migration", o.conName)
		}
	case opAlterType:
		old, known := fc.sch.col(tbl, o.column)
		fc.sch.put(tbl, column{name: o.column, typ: o.typ, notNull: old.notNull || o.notNull})
		if isNew {
			break
		}
		if fc.engine == "mysql" {
			fc.mysqlModify(o, old, known, add, contract)
			break
		}
		if !o.using && binaryCompatible(old.typ, known, o.typ) {
			break
		}
		from := "its current type"
		if known {
			from = old.typ
		}
		add(ChangingColumnType, "changing %s.%s from %s to %s rewrites the table under an ACCESS EXCLUSIVE lock and may break the running release: add a new column, backfill it, and switch over (only binary-compatible changes, such as varchar(n) to text or a longer varchar, are free)", tbl, o.column, from, o.typ)
		contract("changes the type of %s.%s to %s", tbl, o.column, o.typ)
	case opCreateIndex:
		if o.concurrently && fc.tx {
			add(BanConcurrentIndexInTx, "CREATE INDEX CONCURRENTLY cannot run inside a transaction, and this file runs in one: put it in its own file with -- slipway:no-transaction")
		}
		if isNew {
			break
		}
		if !o.concurrently {
			add(RequireConcurrentIndex, "CREATE INDEX on %s without CONCURRENTLY blocks every write to the table until the index is built: use CREATE INDEX CONCURRENTLY in a file marked -- slipway:no-transaction", tbl)
		}
		if o.unique && fc.engine == "mysql" {
			add(DisallowedUniqueConstraint, "a UNIQUE index on %s fails if the table has duplicates, and then rejects the running release's duplicate writes: check for duplicates first", tbl)
			contract("adds a unique index on %s", tbl)
		}
	case opDropIndex:
		if o.concurrently && fc.tx {
			add(BanConcurrentIndexInTx, "DROP INDEX CONCURRENTLY cannot run inside a transaction, and this file runs in one: put it in its own file with -- slipway:no-transaction")
		}
		if !o.concurrently {
			add(RequireConcurrentIndexDrop, "DROP INDEX %s without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table: use DROP INDEX CONCURRENTLY in a file marked -- slipway:no-transaction", o.conName)
		}
	case opTruncate:
		if o.cascade {
			add(BanTruncateCascade, "TRUNCATE %s CASCADE also empties every table with a foreign key to it", tbl)
		}
		destroy("truncates %s", tbl)
	case opDeleteAll:
		destroy("deletes every row of %s", tbl)
	case opSetting:
		on := 1
		if o.disables {
			on = -1
		}
		switch o.setting {
		case "lock_timeout", "lock_wait_timeout":
			fc.lockTimeout = on
		case "statement_timeout":
			fc.stmtTimeout = on
		}
	}
	return out, eff
}

func (fc *fileCtx) constraintRules(o op, add func(string, string, ...any), contract func(string, ...any)) {
	switch o.constraint {
	case "unique", "primary":
		if o.usingIndex {
			break
		}
		add(DisallowedUniqueConstraint, "adding a %s constraint to %s builds its index under an ACCESS EXCLUSIVE lock and fails on existing duplicates: CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX", strings.ToUpper(o.constraint), o.table)
		contract("adds a %s constraint to %s", o.constraint, o.table)
	case "check":
		if o.notValid {
			fc.notValid[o.conName] = true
			break
		}
		add(ConstraintMissingNotValid, "adding a CHECK constraint to %s without NOT VALID checks every row while the table is locked: add it NOT VALID, then VALIDATE CONSTRAINT in a later migration", o.table)
	case "foreign":
		if o.notValid {
			fc.notValid[o.conName] = true
			break
		}
		if fc.engine == "mysql" {
			add(AddingForeignKey, "adding a foreign key to %s locks it and checks every row: on a large table, add it in a quiet hour or check the data and add it with foreign_key_checks=0", o.table)
			break
		}
		add(AddingForeignKey, "adding a foreign key to %s without NOT VALID locks it and the referenced table while every row is checked: add it NOT VALID, then VALIDATE CONSTRAINT in a later migration", o.table)
	}
}

// mysqlModify checks MODIFY/CHANGE COLUMN, which restates the column.
func (fc *fileCtx) mysqlModify(o op, old column, known bool, add func(string, string, ...any), contract func(string, ...any)) {
	if !known {
		return
	}
	if o.notNull && !old.notNull {
		add(AddingNotNullableField, "making %s.%s NOT NULL fails on existing NULLs and rejects the running release's NULL writes", o.table, o.column)
		contract("makes %s.%s NOT NULL", o.table, o.column)
	}
	if !o.notNull && old.notNull {
		add(BanDropNotNull, "dropping NOT NULL on %s.%s lets NULLs in that the running release may not handle", o.table, o.column)
		contract("drops NOT NULL on %s.%s", o.table, o.column)
	}
	if old.typ != o.typ && !mysqlWidening(old.typ, o.typ) {
		add(ChangingColumnType, "changing %s.%s from %s to %s copies the table and may break the running release: add a new column, backfill it, and switch over", o.table, o.column, old.typ, o.typ)
		contract("changes the type of %s.%s to %s", o.table, o.column, o.typ)
	}
}

// timeouts runs the timeout rules for a statement that takes a lock.
func (fc *fileCtx) timeouts(o op, add func(string, string, ...any)) {
	lockName := "lock_timeout"
	if fc.engine == "mysql" {
		lockName = "lock_wait_timeout"
	}
	switch {
	case fc.lockTimeout < 0:
		add(RequireLockTimeout, "this file turns %s off before %s, so it can wait for its lock without bound while every query on the table queues behind it: leave Slipway's %s in place", lockName, o.describe(), lockName)
	case fc.lockTimeout == 0 && !fc.sessionTimeouts:
		add(RequireLockTimeout, "%s runs without %s: SET %s first (Slipway's runner sets it; this check is for files run some other way)", o.describe(), lockName, lockName)
	}
	switch {
	case fc.stmtTimeout < 0:
		add(RequireStatementTimeout, "this file turns statement_timeout off before %s, so it can hold its lock without bound: leave Slipway's statement_timeout in place", o.describe())
	case fc.stmtTimeout == 0 && !fc.sessionTimeouts:
		add(RequireStatementTimeout, "%s runs without statement_timeout: SET statement_timeout first (Slipway's runner sets it; this check is for files run some other way)", o.describe())
	}
}

func (o op) locks() bool {
	switch o.kind {
	case opDropTable, opDropColumn, opRenameTable, opRenameColumn, opAddColumn, opSetNotNull, opDropNotNull,
		opAddConstraint, opValidateConstraint, opAlterType, opTruncate, opLocking:
		return true
	case opCreateIndex, opDropIndex:
		return !o.concurrently
	}
	return false
}

// robust reports whether running the statement twice is harmless.
func (o op) robust() bool {
	switch o.kind {
	case opCreateTable, opDropTable, opDropColumn, opAddColumn, opCreateIndex, opDropIndex:
		return o.ifExists
	case opRenameTable, opRenameColumn, opAddConstraint:
		return false
	}
	return true
}

func (o op) robustHint() string {
	switch o.kind {
	case opCreateTable, opCreateIndex, opAddColumn:
		return "add IF NOT EXISTS"
	case opDropTable, opDropColumn, opDropIndex:
		return "add IF EXISTS"
	}
	return "guard it, or give it a file of its own"
}

func (o op) describe() string {
	switch o.kind {
	case opCreateTable:
		return "CREATE TABLE " + o.table
	case opDropTable:
		return "DROP TABLE " + o.table
	case opCreateIndex:
		return "CREATE INDEX on " + o.table
	case opDropIndex:
		return "DROP INDEX " + o.conName
	case opAddColumn:
		return "ADD COLUMN " + o.table + "." + o.column
	case opDropColumn:
		return "DROP COLUMN " + o.table + "." + o.column
	case opAddConstraint:
		return "ADD CONSTRAINT on " + o.table
	case opRenameTable, opRenameColumn:
		return "the rename on " + o.table
	}
	return "ALTER TABLE " + o.table
}

// binaryCompatible reports whether PostgreSQL changes a column from old to
// typ without rewriting the table. An unknown old type is assumed to be a
// string type when typ is text or an unbounded varchar.
func binaryCompatible(old string, known bool, typ string) bool {
	if !known {
		return typ == "text" || typ == "varchar"
	}
	if old == typ {
		return true
	}
	ob, on := typeParts(old)
	nb, nn := typeParts(typ)
	switch {
	case (ob == "varchar" || ob == "text") && (typ == "text" || typ == "varchar"):
		return true
	case ob == "varchar" && nb == "varchar":
		return len(nn) == 1 && len(on) == 1 && nn[0] >= on[0]
	case ob == "varbit" && nb == "varbit":
		return len(nn) == 1 && len(on) == 1 && nn[0] >= on[0]
	case ob == "numeric" && nb == "numeric":
		if len(nn) == 0 {
			return true
		}
		return len(on) >= 1 && len(nn) >= 1 && nn[0] >= on[0] && scale(on) == scale(nn)
	case ob == "cidr" && nb == "inet":
		return true
	}
	return false
}

// mysqlWidening reports whether a MySQL change only lengthens a varchar.
func mysqlWidening(old, typ string) bool {
	ob, on := typeParts(old)
	nb, nn := typeParts(typ)
	return ob == "varchar" && nb == "varchar" && len(on) == 1 && len(nn) == 1 && nn[0] >= on[0]
}

func scale(mods []int) int {
	if len(mods) > 1 {
		return mods[1]
	}
	return 0
}

// typeParts splits "numeric(10,2)" into "numeric" and [10 2].
func typeParts(t string) (string, []int) {
	base, rest, ok := strings.Cut(t, "(")
	if !ok {
		return t, nil
	}
	var mods []int
	for _, p := range strings.Split(strings.TrimSuffix(rest, ")"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err == nil {
			mods = append(mods, n)
		}
	}
	return base, mods
}
