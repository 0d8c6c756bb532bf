// Package target finds what a `slipway migrations` command works on: the
// migrations directory with the manifest next to it, and the database,
// given by --database-url or taken from the embedded environment with
// --local.
package target

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/lint"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// DB says which database a command works on.
type DB struct {
	URL      string
	Local    bool
	LocalDir string
	Env      string
	// dirFlag is --local-dir as given, before Check fills LocalDir in.
	dirFlag string
}

// Target is the command's target line: the embedded environment and the
// environment whose database it is, or the database --database-url names
// (never its password).
func (d *DB) Target(dbs secret.Database) string {
	if !d.Local {
		return fmt.Sprintf("target: database %s (--database-url)", dbs)
	}
	dir := d.LocalDir
	if dir == "" {
		dir = backend.LocalDir("")
	}
	return fmt.Sprintf("target: %s, %s's database (%s)", backend.Target{Local: true, Dir: dir}, d.Env, dbs)
}

// Command renders `slipway migrations ARGS` with the flags that make it
// act on the same database and directory as this command: --local-dir
// when it was given, --env when not staging, DIR when not the default.
// With --database-url the URL (and its password) is not repeated.
func (d *DB) Command(args, dir string) string {
	parts := []string{"slipway migrations", args}
	if dir != "" && dir != DefaultDir {
		parts = append(parts, dir)
	}
	switch {
	case d.URL != "":
		parts = append(parts, "--database-url URL")
	case d.dirFlag != "":
		parts = append(parts, "--local-dir", d.dirFlag)
	}
	if d.Local && d.Env != "" && d.Env != "staging" {
		parts = append(parts, "--env", d.Env)
	}
	return strings.Join(parts, " ")
}

// Register adds --database-url, --local, --local-dir and --env.
func (d *DB) Register(fs *pflag.FlagSet) {
	fs.StringVar(&d.URL, "database-url", "", "the database: postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db or sqlite:///path/to.db")
	fs.BoolVar(&d.Local, "local", false, "use the embedded environment's database (found without it: $"+backend.EnvLocalDir+", else "+backend.DefaultLocalDir+" from here up)")
	fs.StringVar(&d.LocalDir, "local-dir", "", "the embedded environment's state directory (implies --local)")
	fs.StringVar(&d.Env, "env", "staging", "the embedded environment's environment (with --local)")
}

// DefaultDir is the migrations directory a command reads without an argument.
const DefaultDir = "migrations"

// RunE is the RunE of a command that takes an optional DIR and a database
// target: it sets *dir (DefaultDir without an argument), checks the
// target's flags, then calls run.
func RunE(db *DB, dir *string, run func(ctx context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		*dir = DefaultDir
		if len(args) == 1 {
			*dir = args[0]
		}
		if err := db.Check(cmd); err != nil {
			return err
		}
		return run(cmd.Context())
	}
}

// Check finds the embedded environment as every command does when no
// --database-url names the database (--local-dir, $SLIPWAY_LOCAL_DIR, a
// .slipway/local from the working directory up; not with --local=false),
// then validates.
func (d *DB) Check(cmd *cobra.Command) error {
	d.dirFlag = d.LocalDir
	if d.URL == "" {
		noLocal := cmd.Flags().Changed("local") && !d.Local
		if t := backend.Resolve(backend.Options{Local: d.Local, NoLocal: noLocal, LocalDir: d.LocalDir, Getwd: os.Getwd}); t.Local {
			d.Local = true
			if t.Why != "--local" {
				d.LocalDir = t.Dir
			}
		}
	} else if d.LocalDir != "" {
		d.Local = true
	}
	return d.Validate()
}

// Validate checks that exactly one database was named.
func (d *DB) Validate() error {
	if (d.URL == "") == !d.Local {
		return factory.UsageError("name the database with --database-url URL or --local (not both)")
	}
	return nil
}

// Open connects to the database. Errors never show its password.
func (d *DB) Open(ctx context.Context) (*sql.DB, secret.Database, error) {
	var dbs secret.Database
	var err error
	if d.Local {
		dbs, err = d.localSecret(ctx)
	} else {
		dbs, err = ParseURL(d.URL)
	}
	if err != nil {
		return nil, dbs, err
	}
	db, err := migrate.OpenDB(ctx, dbs)
	if err != nil {
		return nil, dbs, errors.New(secret.Scrub(fmt.Sprintf("connect to %s: %v", dbs, err), dbs.Password))
	}
	return db, dbs, nil
}

func (d *DB) localSecret(ctx context.Context) (secret.Database, error) {
	dir := d.LocalDir
	if dir == "" {
		dir = backend.LocalDir("")
	}
	cfg, err := config.Load(filepath.Join(dir, localenv.ConfigFile))
	if err != nil {
		return secret.Database{}, factory.WithHint(factory.ExitUsage, fmt.Errorf("no embedded environment in %s: %w", dir, err), "create one with `slipway local init` (or `make demo`), or name it with --local-dir DIR")
	}
	env, err := cfg.Env(d.Env)
	if err != nil {
		return secret.Database{}, factory.UsageError("%v", err)
	}
	v, err := (&secret.File{Path: filepath.Join(dir, "secrets.json")}).Get(ctx, env.DatabaseSecret)
	if err != nil {
		return secret.Database{}, err
	}
	return secret.ParseDatabase(env.DatabaseSecret, v)
}

// ParseURL reads a database URL into the secret form the runner opens.
func ParseURL(raw string) (secret.Database, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return secret.Database{}, factory.UsageError("--database-url: want postgres://, mysql:// or sqlite:// (got something else)")
	}
	pw, _ := u.User.Password()
	d := secret.Database{Host: u.Hostname(), Username: u.User.Username(), Password: secret.NewValue(pw), DBName: strings.TrimPrefix(u.Path, "/")}
	if p := u.Port(); p != "" {
		d.Port, _ = strconv.Atoi(p)
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		d.Engine = "postgres"
	case "mysql", "mariadb":
		d.Engine = "mysql"
	case "sqlite", "sqlite3", "file":
		d.Engine, d.Path = "sqlite", u.Path
		if u.Host != "" {
			d.Path = u.Host + u.Path
		}
		if d.Path == "" {
			return d, factory.UsageError("--database-url: sqlite:///path/to.db needs a path")
		}
		return d, nil
	default:
		return d, factory.UsageError("--database-url: scheme %q is not postgres, mysql or sqlite", u.Scheme)
	}
	if d.Host == "" || d.DBName == "" {
		return d, factory.UsageError("--database-url: %s://user@host:port/database needs a host and a database", u.Scheme)
	}
	return d, nil
}

// Release is a migrations directory and the manifest next to it.
type Release struct {
	Dir        string
	Migrations []migrate.Migration
	// Manifest is ../slipway.yaml when there is one; nil otherwise.
	Manifest *manifest.Manifest
}

// LoadDir reads the migrations in dir and, when dir's parent holds a
// slipway.yaml, the manifest. A directory that cannot be read is a usage
// error (exit 2).
func LoadDir(dir string) (*Release, error) {
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return nil, factory.UsageError("read migrations directory %s: %v", dir, err)
	}
	ms, err := migrate.Load(os.DirFS(dir))
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, factory.UsageError("read migrations directory %s: %v", dir, err)
		}
		return nil, factory.UsageError("%v", err)
	}
	rel := &Release{Dir: dir, Migrations: ms}
	file := filepath.Join(filepath.Dir(filepath.Clean(dir)), manifest.FileName)
	raw, err := os.ReadFile(file)
	if err == nil {
		m, err := manifest.ParseFile(file, raw)
		if err != nil {
			return nil, factory.WithHint(factory.ExitUsage, err, manifest.FixHint)
		}
		rel.Manifest = m
	}
	return rel, nil
}

// Policy is the manifest's migration policy, or the default.
func (r *Release) Policy() lint.Policy {
	var mm manifest.Migrations
	if r.Manifest != nil {
		mm = r.Manifest.Migrations
	}
	return lint.NewPolicy(mm.Allow, mm.BlockedClasses())
}

// Engine is the dialect to lint as: flag, else the manifest's, else the
// database's, else postgres.
func (r *Release) Engine(flag, database string) string {
	switch {
	case flag != "":
		return flag
	case r.Manifest != nil && r.Manifest.Migrations.Engine != "":
		return r.Manifest.Migrations.Engine
	case database != "":
		return database
	}
	return migrate.Postgres
}
