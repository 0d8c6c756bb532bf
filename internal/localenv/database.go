package localenv

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Server is a database server on which the embedded environment creates
// one database per environment (slipway local init --database URL),
// instead of a SQLite file each.
type Server struct {
	// Engine is postgres or mysql (MariaDB included).
	Engine   string
	Host     string
	Port     int
	Username string
	Password secret.Value
	// AdminDB is the database the administrative connection opens
	// (PostgreSQL: the URL's path, default postgres; MySQL: none).
	AdminDB string
}

// ParseServer reads a server URL: postgres://USER[:PASSWORD]@HOST[:PORT][/ADMINDB]
// or mysql://USER[:PASSWORD]@HOST[:PORT] (mariadb:// too). Errors never
// quote the URL, which may hold a password.
func ParseServer(raw string) (Server, error) {
	u, err := url.Parse(raw)
	if err == nil && u.Host == "" && (u.Scheme == "postgres" || u.Scheme == "postgresql" || u.Scheme == "mysql" || u.Scheme == "mariadb") {
		err = errors.New("no host")
	}
	if err != nil || u.Scheme == "" {
		return Server{}, errors.New("parse database server: want a URL such as postgres://postgres@127.0.0.1:5432/postgres or mysql://root@127.0.0.1:3306")
	}
	s := Server{Host: u.Hostname(), Username: u.User.Username()}
	if pw, ok := u.User.Password(); ok {
		s.Password = secret.NewValue(pw)
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		s.Engine, s.Port, s.AdminDB = "postgres", 5432, "postgres"
		if s.Username == "" {
			s.Username = "postgres"
		}
		if db := strings.Trim(u.Path, "/"); db != "" {
			s.AdminDB = db
		}
	case "mysql", "mariadb":
		s.Engine, s.Port = "mysql", 3306
		if s.Username == "" {
			s.Username = "root"
		}
		if strings.Trim(u.Path, "/") != "" {
			return Server{}, errors.New("parse database server: a mysql:// URL names the server only (mysql://root@127.0.0.1:3306): each environment gets a database of its own")
		}
	default:
		return Server{}, fmt.Errorf("parse database server: scheme %q is not supported: use postgres:// or mysql:// (or leave --database out for SQLite)", u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Server{}, fmt.Errorf("parse database server: port %q is not a port number", p)
		}
		s.Port = n
	}
	if len(u.Query()) > 0 {
		return Server{}, errors.New("parse database server: query parameters are not supported: give user, password, host, port and (PostgreSQL) the admin database only")
	}
	return s, nil
}

// String names the server without its password.
func (s Server) String() string {
	return fmt.Sprintf("%s://%s@%s:%d", s.Engine, s.Username, s.Host, s.Port)
}

// database is the secret of database name on the server.
func (s Server) database(name string) secret.Database {
	return secret.Database{Engine: s.Engine, Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password, DBName: name}
}

func (s Server) quote(name string) string {
	if s.Engine == "mysql" {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

var dbNameUnsafe = regexp.MustCompile(`[^a-z0-9_]+`)

// DatabaseName is the database the embedded environment creates for env of
// app on a server: slipway_<app>_<env> (lowercase; other characters than
// letters, digits and underscores become underscores; at most 63).
func DatabaseName(prefix, app, env string) string {
	if prefix == "" {
		prefix = "slipway_" + app + "_"
	}
	n := dbNameUnsafe.ReplaceAllString(strings.ToLower(prefix+env), "_")
	return n[:min(len(n), 63)]
}

// databasesFile records, in the state directory, the databases Init
// created on a server, so that Down drops them (no password: that stays
// in secrets.json).
const databasesFile = "databases.json"

type databasesRecord struct {
	Engine    string            `json:"engine"`
	Host      string            `json:"host"`
	Port      int               `json:"port"`
	Username  string            `json:"username"`
	AdminDB   string            `json:"admin_db,omitempty"`
	Databases map[string]string `json:"databases"` // environment -> database
}

// ownerTable is the table, in each database it creates, where Init
// writes the state directory that owns it: a later Init finds a database
// left behind by a directory removed without `slipway local down`, and
// Down never drops a database another directory owns.
const ownerTable = "slipway_local_owner"

// openAdmin opens the administrative connection to the server.
func (s Server) openAdmin(ctx context.Context) (*sql.DB, error) {
	db, err := migrate.OpenDB(ctx, s.database(s.AdminDB))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %s", s, secret.Scrub(err.Error(), s.Password))
	}
	return db, nil
}

// exists reports whether database name exists on the server.
func (s Server) exists(ctx context.Context, admin *sql.DB, name string) (bool, error) {
	q := `SELECT COUNT(*) FROM pg_database WHERE datname = $1`
	if s.Engine == "mysql" {
		q = `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?`
	}
	var n int
	if err := admin.QueryRowContext(ctx, q, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look for database %s on %s: %s", name, s, secret.Scrub(err.Error(), s.Password))
	}
	return n > 0, nil
}

// owner returns the state directory recorded in database name ("" when the
// database has no owner record: Slipway did not create it).
func (s Server) owner(ctx context.Context, name string) (string, error) {
	db, err := migrate.OpenDB(ctx, s.database(name))
	if err != nil {
		return "", fmt.Errorf("open database %s on %s: %s", name, s, secret.Scrub(err.Error(), s.Password))
	}
	defer db.Close()
	var dir string
	if err := db.QueryRowContext(ctx, `SELECT dir FROM `+ownerTable).Scan(&dir); err != nil {
		return "", nil
	}
	return dir, nil
}

func (s Server) drop(ctx context.Context, admin *sql.DB, name string) error {
	q := `DROP DATABASE IF EXISTS ` + s.quote(name)
	if s.Engine == "postgres" {
		q += ` WITH (FORCE)` // the app's connections too (PostgreSQL 13 and later)
	}
	if _, err := admin.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("drop database %s on %s: %s", name, s, secret.Scrub(err.Error(), s.Password))
	}
	return nil
}

// create creates database name owned by dir and records the owner in it.
func (s Server) create(ctx context.Context, admin *sql.DB, name, dir string) error {
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+s.quote(name)); err != nil {
		return fmt.Errorf("create database %s on %s: %s", name, s, secret.Scrub(err.Error(), s.Password))
	}
	db, err := migrate.OpenDB(ctx, s.database(name))
	if err != nil {
		return fmt.Errorf("open database %s on %s: %s", name, s, secret.Scrub(err.Error(), s.Password))
	}
	defer db.Close()
	ins := `INSERT INTO ` + ownerTable + ` (dir) VALUES ($1)`
	if s.Engine == "mysql" {
		ins = `INSERT INTO ` + ownerTable + ` (dir) VALUES (?)`
	}
	_, err = db.ExecContext(ctx, `CREATE TABLE `+ownerTable+` (dir VARCHAR(4000) NOT NULL)`)
	if err == nil {
		_, err = db.ExecContext(ctx, ins, dir)
	}
	if err != nil {
		return fmt.Errorf("record the owner of database %s on %s: %s", name, s, secret.Scrub(err.Error(), s.Password))
	}
	return nil
}

// createDatabases creates one database per environment on srv for the
// state directory dir and returns each environment's database and notes
// saying what it replaced. A database that exists is dropped and created
// again only when a directory that no longer holds an embedded environment
// (or dir itself) owns it; otherwise it is refused, naming what to do. On
// an error it drops what it created.
func createDatabases(ctx context.Context, srv Server, dir, prefix, app string, envs []string) (map[string]secret.Database, []string, error) {
	admin, err := srv.openAdmin(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer admin.Close()
	out := map[string]secret.Database{}
	var notes []string
	fail := func(err error) (map[string]secret.Database, []string, error) {
		for _, d := range out {
			srv.drop(context.WithoutCancel(ctx), admin, d.DBName)
		}
		return nil, nil, err
	}
	for _, env := range envs {
		name := DatabaseName(prefix, app, env)
		ok, err := srv.exists(ctx, admin, name)
		if err != nil {
			return fail(err)
		}
		if ok {
			owner, err := srv.owner(ctx, name)
			if err != nil {
				return fail(err)
			}
			switch {
			case owner == "":
				return fail(fmt.Errorf("create database %s on %s: it exists and `slipway local init` did not create it: choose another --app, or drop it yourself if it is yours", name, srv))
			case owner != dir && holdsEnv(owner):
				return fail(fmt.Errorf("create database %s on %s: the embedded environment in %s uses it: run `slipway local down --dir %s` first, or choose another --app", name, srv, owner, owner))
			}
			if err := srv.drop(ctx, admin, name); err != nil {
				return fail(err)
			}
			notes = append(notes, fmt.Sprintf("dropped database %s, left on %s by the embedded environment once in %s", name, srv, owner))
		}
		if err := srv.create(ctx, admin, name, dir); err != nil {
			return fail(err)
		}
		out[env] = srv.database(name)
	}
	return out, notes, nil
}

func holdsEnv(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ConfigFile))
	return err == nil
}

func writeDatabasesRecord(dir string, srv Server, dbs map[string]secret.Database) error {
	rec := databasesRecord{Engine: srv.Engine, Host: srv.Host, Port: srv.Port, Username: srv.Username, AdminDB: srv.AdminDB, Databases: map[string]string{}}
	for env, d := range dbs {
		rec.Databases[env] = d.DBName
	}
	b, _ := json.MarshalIndent(rec, "", "  ")
	return os.WriteFile(filepath.Join(dir, databasesFile), b, 0o644)
}

// databaseSecret is the RDS-style JSON secret of d.
func databaseSecret(d secret.Database) string {
	var b []byte
	if d.Family() == "sqlite" {
		b, _ = json.Marshal(map[string]string{"engine": "sqlite", "path": d.Path})
	} else {
		b, _ = json.Marshal(map[string]any{"engine": d.Engine, "host": d.Host, "port": d.Port, "username": d.Username, "password": d.Password.Reveal(), "dbname": d.DBName})
	}
	return string(b)
}

// appDatabaseEnv is what an embedded instance gives the app about its
// database, in host.env: DATABASE_ENGINE (sqlite, postgres or mysql) and
// DATABASE_PATH (the SQLite file) or DATABASE_URL
// (postgres://USER[:PASSWORD]@HOST:PORT/DB or mysql://USER[:PASSWORD]@HOST:PORT/DB).
func appDatabaseEnv(d secret.Database) map[string]string {
	if d.Family() == "sqlite" {
		return map[string]string{"DATABASE_ENGINE": "sqlite", "DATABASE_PATH": d.Path}
	}
	u := url.URL{Scheme: d.Family(), Host: d.Host + ":" + strconv.Itoa(d.Port), Path: "/" + d.DBName, User: url.User(d.Username)}
	if !d.Password.IsZero() {
		u.User = url.UserPassword(d.Username, d.Password.Reveal())
	}
	return map[string]string{"DATABASE_ENGINE": d.Family(), "DATABASE_URL": u.String()}
}

// Database returns env's database, as its secret describes it.
func (e *Env) Database(ctx context.Context, env string) (secret.Database, error) {
	c, err := e.Config.Env(env)
	if err != nil {
		return secret.Database{}, err
	}
	v, err := e.Secrets.Get(ctx, c.DatabaseSecret)
	if err != nil {
		return secret.Database{}, err
	}
	return secret.ParseDatabase(c.DatabaseSecret, v)
}

// DropDatabases drops the databases Init created on a server for this
// state directory (none for SQLite), each only if it still records this
// directory as its owner, and returns their names. The app processes
// should be stopped first (Down does).
func (e *Env) DropDatabases(ctx context.Context) ([]string, error) {
	raw, err := os.ReadFile(filepath.Join(e.Root, databasesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("drop databases: %w", err)
	}
	var rec databasesRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("drop databases: %s: %w", databasesFile, err)
	}
	srv := Server{Engine: rec.Engine, Host: rec.Host, Port: rec.Port, Username: rec.Username, AdminDB: rec.AdminDB}
	// The password, if any, is in the environments' database secrets.
	for _, env := range slices.Sorted(maps.Keys(rec.Databases)) {
		if d, err := e.Database(ctx, env); err == nil {
			srv.Password = d.Password
			break
		}
	}
	admin, err := srv.openAdmin(ctx)
	if err != nil {
		return nil, fmt.Errorf("drop databases: %w", err)
	}
	defer admin.Close()
	var dropped []string
	var errs []error
	for _, env := range slices.Sorted(maps.Keys(rec.Databases)) {
		name := rec.Databases[env]
		ok, err := srv.exists(ctx, admin, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		if owner, err := srv.owner(ctx, name); err != nil {
			errs = append(errs, err)
			continue
		} else if owner != e.Root {
			errs = append(errs, fmt.Errorf("drop database %s on %s: kept: it belongs to %q now, not %s", name, srv, owner, e.Root))
			continue
		}
		if err := srv.drop(ctx, admin, name); err != nil {
			errs = append(errs, err)
			continue
		}
		dropped = append(dropped, name)
	}
	return dropped, errors.Join(errs...)
}

// DownResult says what Down removed.
type DownResult struct {
	Root      string
	Databases []string // dropped on the server
}

// Down takes the embedded environment in root down for good: it stops
// every app process and the load balancer, drops the databases Init
// created on a server, and removes the state directory. A database that
// cannot be dropped is named in the error and the directory is kept, so
// that Down can be run again.
func Down(ctx context.Context, root string) (DownResult, error) {
	e, err := Open(root)
	if err != nil {
		return DownResult{}, err
	}
	res := DownResult{Root: e.Root}
	stopErr := e.Stop(ctx)
	dropped, dropErr := e.DropDatabases(ctx)
	res.Databases = dropped
	if dropErr != nil {
		return res, fmt.Errorf("take down %s: %w (the directory is kept: fix that and run slipway local down again)", e.Root, dropErr)
	}
	if stopErr != nil {
		return res, fmt.Errorf("take down %s: stop: %w (the directory is kept: run slipway local down again)", e.Root, stopErr)
	}
	if err := os.RemoveAll(e.Root); err != nil {
		return res, fmt.Errorf("take down %s: %w", e.Root, err)
	}
	return res, nil
}
