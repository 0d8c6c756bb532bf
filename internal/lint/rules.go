package lint

// Severity is how bad a finding is: an error fails `slipway migrations
// lint` (exit 1) and blocks a deploy; a warning does neither.
type Severity string

// Severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Class says what a migration does to the release that is running while
// it is applied.
type Class string

// Classes, from the mildest.
const (
	// Expand: the running release keeps working.
	Expand Class = "expand"
	// Contract: it breaks the running release (a rename, a tightened
	// column, a changed type).
	Contract Class = "contract"
	// Destructive: it loses data.
	Destructive Class = "destructive"
)

func (c Class) rank() int {
	switch c {
	case Contract:
		return 1
	case Destructive:
		return 2
	}
	return 0
}

// Engines a rule applies to.
const (
	pg    = 1 << iota // PostgreSQL
	my                // MySQL and MariaDB
	lite              // SQLite
	every = pg | my | lite
)

// Rule is one lint rule. IDs follow squawk's names; AtlasCode is the
// equivalent Atlas analyzer code where there is one.
type Rule struct {
	ID        string
	AtlasCode string
	Severity  Severity
	// Class is what a finding of the rule makes its migration (at least).
	Class   Class
	Summary string
	engines int
}

// Rule ids.
const (
	SyntaxError                = "syntax-error"
	InvalidIgnore              = "invalid-ignore"
	EngineRejects              = "engine-rejects"
	BanDropTable               = "ban-drop-table"
	BanDropColumn              = "ban-drop-column"
	BanDropDatabase            = "ban-drop-database"
	RenamingTable              = "renaming-table"
	RenamingColumn             = "renaming-column"
	AddingRequiredField        = "adding-required-field"
	AddingNotNullableField     = "adding-not-nullable-field"
	DisallowedUniqueConstraint = "disallowed-unique-constraint"
	RequireConcurrentIndex     = "require-concurrent-index-creation"
	RequireConcurrentIndexDrop = "require-concurrent-index-deletion"
	BanConcurrentIndexInTx     = "ban-concurrent-index-creation-in-transaction"
	AddingFieldWithDefault     = "adding-field-with-default"
	ConstraintMissingNotValid  = "constraint-missing-not-valid"
	AddingForeignKey           = "adding-foreign-key-constraint"
	ChangingColumnType         = "changing-column-type"
	BanDropNotNull             = "ban-drop-not-null"
	BanTruncateCascade         = "ban-truncate-cascade"
	PreferRobustStmts          = "prefer-robust-stmts"
	RequireLockTimeout         = "require-lock-timeout"
	RequireStatementTimeout    = "require-statement-timeout"
)

// Rules lists every rule.
var Rules = []Rule{
	{SyntaxError, "", Error, Expand, "the statement does not parse", every},
	{InvalidIgnore, "", Error, Expand, "a slipway:ignore annotation without a known rule or a reason", every},
	{EngineRejects, "", Error, Expand, "the engine itself rejects the statement when it runs it (SQLite: run on a scratch database after the earlier migrations)", lite},
	{BanDropTable, "DS102", Error, Destructive, "dropping a table loses its data and breaks the running release", every},
	{BanDropColumn, "DS103", Error, Destructive, "dropping a column loses its data and breaks the running release", every},
	{BanDropDatabase, "", Error, Destructive, "dropping a database loses everything in it", every},
	{RenamingTable, "BC101", Error, Contract, "the running release still uses the old table name", every},
	{RenamingColumn, "BC102", Error, Contract, "the running release still uses the old column name", every},
	{AddingRequiredField, "MF103", Error, Contract, "a NOT NULL column without a default fails on existing rows and on the running release's inserts", every},
	{AddingNotNullableField, "MF104", Error, Contract, "SET NOT NULL scans the table under an exclusive lock and rejects the running release's NULL writes", pg | my},
	{DisallowedUniqueConstraint, "MF101", Error, Contract, "a UNIQUE constraint builds its index under an exclusive lock and fails on existing duplicates", pg | my},
	{RequireConcurrentIndex, "PG101", Error, Expand, "CREATE INDEX without CONCURRENTLY blocks writes to the table while it builds", pg},
	{RequireConcurrentIndexDrop, "PG102", Error, Expand, "DROP INDEX without CONCURRENTLY takes an exclusive lock on the table", pg},
	{BanConcurrentIndexInTx, "PG103", Error, Expand, "CONCURRENTLY cannot run inside a transaction", pg},
	{AddingFieldWithDefault, "PG302", Error, Expand, "a volatile default rewrites the whole table under an exclusive lock", pg},
	{ConstraintMissingNotValid, "PG305", Error, Expand, "a constraint added without NOT VALID scans the table under a lock", pg},
	{AddingForeignKey, "PG306", Warning, Expand, "a foreign key locks both tables while it validates every row", pg | my},
	{ChangingColumnType, "PG301", Error, Contract, "changing a column's type rewrites the table under an exclusive lock and may break the running release", pg | my},
	{BanDropNotNull, "", Error, Contract, "the running release may not expect NULLs in the column", pg | my},
	{BanTruncateCascade, "", Error, Destructive, "TRUNCATE ... CASCADE empties every table that references this one", pg},
	{PreferRobustStmts, "", Warning, Expand, "a statement outside a transaction may be retried: make it safe to run twice", every},
	{RequireLockTimeout, "", Warning, Expand, "a statement that takes a lock without lock_timeout can queue every query on the table behind it", pg | my},
	{RequireStatementTimeout, "", Warning, Expand, "a statement without statement_timeout can hold its lock without bound", pg},
}

var byID = func() map[string]Rule {
	m := map[string]Rule{}
	for _, r := range Rules {
		m[r.ID] = r
	}
	return m
}()

// Lookup returns the rule with id.
func Lookup(id string) (Rule, bool) {
	r, ok := byID[id]
	return r, ok
}

func engineBit(engine string) int {
	switch engine {
	case "mysql":
		return my
	case "sqlite":
		return lite
	}
	return pg
}

// AppliesTo reports whether the rule checks migrations for engine.
func (r Rule) AppliesTo(engine string) bool { return r.engines&engineBit(engine) != 0 }
