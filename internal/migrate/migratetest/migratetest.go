// Package migratetest gives database tests a fresh, empty database on the
// local PostgreSQL or MariaDB/MySQL server (or a SQLite file), dropped when
// the test ends. When the server cannot be reached the test is skipped,
// except under CI=true, where a missing database fails it.
//
// The servers are found at SLIPWAY_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/postgres) and SLIPWAY_TEST_MYSQL
// (default root@tcp(127.0.0.1:3306)/).
package migratetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Postgres returns a new database on the local PostgreSQL server.
func Postgres(t testing.TB) *sql.DB {
	t.Helper()
	db, _ := Open(t, migrate.Postgres)
	return db
}

// MySQL returns a new database on the local MariaDB or MySQL server.
func MySQL(t testing.TB) *sql.DB {
	t.Helper()
	db, _ := Open(t, migrate.MySQL)
	return db
}

// SQLite returns a new SQLite database in the test's temporary directory.
func SQLite(t testing.TB) *sql.DB {
	t.Helper()
	db, _ := Open(t, migrate.SQLite)
	return db
}

// Engines lists the engines every runner test runs on.
var Engines = []string{migrate.SQLite, migrate.Postgres, migrate.MySQL}

// Open returns a new database of engine and the secret that describes it
// (for code that connects by itself, such as pg_dump).
func Open(t testing.TB, engine string) (*sql.DB, secret.Database) {
	t.Helper()
	ctx := context.Background()
	name := "slipway_test_" + random()
	var d secret.Database
	switch engine {
	case migrate.SQLite:
		d = secret.Database{Engine: "sqlite", Path: filepath.Join(t.TempDir(), name+".db")}
	case migrate.Postgres:
		u, err := url.Parse(env("SLIPWAY_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"))
		if err != nil {
			t.Fatalf("SLIPWAY_TEST_POSTGRES: %v", err)
		}
		admin := serverDB(t, "pgx", u.String(), "PostgreSQL")
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatalf("create database %s: %v", name, err)
		}
		t.Cleanup(func() {
			if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("drop database %s: %v", name, err)
			}
			admin.Close()
		})
		port, _ := strconv.Atoi(u.Port())
		pw, _ := u.User.Password()
		d = secret.Database{Engine: "postgres", Host: u.Hostname(), Port: port, Username: u.User.Username(), Password: secret.NewValue(pw), DBName: name}
	case migrate.MySQL:
		dsn := env("SLIPWAY_TEST_MYSQL", "root@tcp(127.0.0.1:3306)/")
		admin := serverDB(t, "mysql", dsn, "MariaDB/MySQL")
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatalf("create database %s: %v", name, err)
		}
		t.Cleanup(func() {
			if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name); err != nil {
				t.Errorf("drop database %s: %v", name, err)
			}
			admin.Close()
		})
		d = mysqlSecret(dsn, name)
	default:
		t.Fatalf("migratetest: unknown engine %q", engine)
	}
	db, err := migrate.OpenDB(ctx, d)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { db.Close() })
	return db, d
}

// ServerURL returns the URL of the local server of engine (postgres or
// mysql) for code that creates its own databases there, as `slipway local
// init --database` does: postgres://USER[:PASSWORD]@HOST:PORT/ADMINDB or
// mysql://USER[:PASSWORD]@HOST:PORT. The test is skipped when the server
// cannot be reached (failed under CI=true).
func ServerURL(t testing.TB, engine string) string {
	t.Helper()
	switch engine {
	case migrate.Postgres:
		raw := env("SLIPWAY_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
		serverDB(t, "pgx", raw, "PostgreSQL").Close()
		return raw
	case migrate.MySQL:
		dsn := env("SLIPWAY_TEST_MYSQL", "root@tcp(127.0.0.1:3306)/")
		serverDB(t, "mysql", dsn, "MariaDB/MySQL").Close()
		d := mysqlSecret(dsn, "")
		u := url.URL{Scheme: "mysql", Host: fmt.Sprintf("%s:%d", d.Host, d.Port), User: url.User(d.Username)}
		if !d.Password.IsZero() {
			u.User = url.UserPassword(d.Username, d.Password.Reveal())
		}
		return u.String()
	}
	t.Fatalf("migratetest: no server for engine %q", engine)
	return ""
}

// Random returns a random lowercase hex name part, for databases a test
// creates itself.
func Random() string { return random() }

// serverDB connects to a server, skipping the test when it is unreachable
// (failing it under CI=true).
func serverDB(t testing.TB, driver, dsn, what string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not reachable and CI=true, so this test must not be skipped: %v", what, err)
		}
		t.Skipf("%s is not reachable (%v); start it to run this test", what, err)
	}
	return db
}

func mysqlSecret(dsn, name string) secret.Database {
	// user[:password]@tcp(host:port)/
	d := secret.Database{Engine: "mysql", Host: "127.0.0.1", Port: 3306, DBName: name}
	at := strings.LastIndex(dsn, "@")
	if at >= 0 {
		user, pw, _ := strings.Cut(dsn[:at], ":")
		d.Username, d.Password = user, secret.NewValue(pw)
	}
	if i, j := strings.Index(dsn, "tcp("), strings.Index(dsn, ")"); i >= 0 && j > i {
		host, port, ok := strings.Cut(dsn[i+4:j], ":")
		d.Host = host
		if ok {
			d.Port, _ = strconv.Atoi(port)
		}
	}
	return d
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func random() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Exec runs statements on db, failing the test on an error.
func Exec(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

// Count returns the number of rows of table.
func Count(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM %s", table)).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
