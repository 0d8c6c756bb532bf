package migrate

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/slipway-deploy/slipway/internal/litedb"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// OpenDB opens the database a secret describes and checks that it answers.
// Errors from the driver may quote the connection string, so callers scrub
// them with secret.Scrub before showing them.
func OpenDB(ctx context.Context, d secret.Database) (*sql.DB, error) {
	var db *sql.DB
	var err error
	switch d.Family() {
	case "sqlite":
		return litedb.Open(d.Path)
	case "postgres":
		db, err = sql.Open("pgx", d.URL())
	case "mysql":
		db, err = sql.Open("mysql", d.URL()+"?multiStatements=true&parseTime=true")
	default:
		return nil, fmt.Errorf("open database: engine %q is not supported", d.Engine)
	}
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
