package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/slipway-deploy/slipway/internal/snapshot"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-deploy/slipway/internal/secret"
)

// Snapshotter is a snapshotter of a database on this machine (the embedded
// environment): Create finishes before it returns.
type Snapshotter interface {
	Create(ctx context.Context, id string) (string, error)
	Status(ctx context.Context, id string) (string, error)
	RestoreProcedure(id string) string
	Prune(ctx context.Context, prefix, current string, keep int) ([]string, error)
}

var (
	_ Snapshotter = (*SQLite)(nil)
	_ Snapshotter = (*Dump)(nil)
)

// New returns the snapshotter for a database the embedded environment
// uses: VACUUM INTO for SQLite, pg_dump -Fc for PostgreSQL, mysqldump for
// MySQL and MariaDB. Snapshots go to dir.
func New(db secret.Database, dir string) (Snapshotter, error) {
	switch db.Family() {
	case "sqlite":
		return &SQLite{Path: db.Path, Dir: dir}, nil
	case "postgres", "mysql":
		return &Dump{DB: db, Dir: dir}, nil
	}
	return nil, fmt.Errorf("snapshot: engine %q is not supported", db.Engine)
}

// Dump snapshots a PostgreSQL database with pg_dump (custom format) or a
// MySQL/MariaDB database with mysqldump (one consistent transaction). The
// password reaches the tool through its environment (PGPASSWORD,
// MYSQL_PWD), never its command line, and is scrubbed from its errors.
type Dump struct {
	DB  secret.Database
	Dir string
	// Bin overrides the directory of pg_dump / mysqldump (default: PATH).
	Bin string
}

func (d *Dump) file(id string) string {
	if d.DB.Family() == "postgres" {
		return filepath.Join(d.Dir, id+".dump")
	}
	return filepath.Join(d.Dir, id+".sql")
}

func (d *Dump) port() int {
	if d.DB.Port != 0 {
		return d.DB.Port
	}
	if d.DB.Family() == "postgres" {
		return 5432
	}
	return 3306
}

func (d *Dump) command(ctx context.Context, out string) (*exec.Cmd, error) {
	var name string
	var args, env []string
	switch d.DB.Family() {
	case "postgres":
		name = "pg_dump"
		args = []string{"-Fc", "--no-password", "-h", d.DB.Host, "-p", strconv.Itoa(d.port()), "-U", d.DB.Username, "-f", out, d.DB.DBName}
		env = []string{"PGPASSWORD=" + d.DB.Password.Reveal(), "PGCONNECT_TIMEOUT=10"}
	case "mysql":
		name = "mysqldump"
		args = []string{"--single-transaction", "--routines", "--triggers", "--events", "--protocol=TCP", "-h", d.DB.Host, "-P", strconv.Itoa(d.port()),
			"-u", d.DB.Username, "--result-file=" + out, d.DB.DBName}
		env = []string{"MYSQL_PWD=" + d.DB.Password.Reveal()}
	default:
		return nil, fmt.Errorf("snapshot: engine %q has no dump tool", d.DB.Engine)
	}
	if d.Bin != "" {
		name = filepath.Join(d.Bin, name)
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%s is not installed: install the %s client tools (apt-get install %s) so Slipway can snapshot before migrating", name, d.DB.Family(), map[string]string{"postgres": "postgresql-client", "mysql": "mariadb-client"}[d.DB.Family()])
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd, nil
}

// Create dumps the database. It is idempotent: a dump that exists is
// reported available.
func (d *Dump) Create(ctx context.Context, id string) (string, error) {
	if _, err := os.Stat(d.file(id)); err == nil {
		return snapshot.Available, nil
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return "", fmt.Errorf("create snapshot %s: %w", id, err)
	}
	tmp := d.file(id) + ".tmp"
	os.Remove(tmp)
	cmd, err := d.command(ctx, tmp)
	if err != nil {
		return "", fmt.Errorf("create snapshot %s: %w", id, err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		msg := strings.TrimSpace(secret.Scrub(stderr.String(), d.DB.Password))
		return "", fmt.Errorf("create snapshot %s of %s: %s: %v: %s", id, d.DB, filepath.Base(cmd.Path), err, msg)
	}
	if err := os.Rename(tmp, d.file(id)); err != nil {
		return "", fmt.Errorf("create snapshot %s: %w", id, err)
	}
	return snapshot.Available, nil
}

// Status reports a snapshot's status.
func (d *Dump) Status(ctx context.Context, id string) (string, error) {
	if _, err := os.Stat(d.file(id)); err != nil {
		return "", fmt.Errorf("snapshot %s: %w", id, err)
	}
	return snapshot.Available, nil
}

// RestoreProcedure says how to put the database back to the snapshot.
func (d *Dump) RestoreProcedure(id string) string {
	file := d.file(id)
	if d.DB.Family() == "postgres" {
		return strings.Join([]string{
			fmt.Sprintf("Restore database %s from snapshot %s:", d.DB.DBName, id),
			"  1. Stop the app on every instance.",
			fmt.Sprintf("  2. pg_restore --clean --if-exists --single-transaction -h %s -p %d -U %s -d %s %s", d.DB.Host, d.port(), d.DB.Username, d.DB.DBName, file),
			"  3. Start the app again (slipway-host.sh rollback restarts the previous release).",
			"Caveat: every write made after the snapshot was taken is lost.",
		}, "\n")
	}
	return strings.Join([]string{
		fmt.Sprintf("Restore database %s from snapshot %s:", d.DB.DBName, id),
		"  1. Stop the app on every instance.",
		fmt.Sprintf("  2. mysql -h %s -P %d -u %s -e 'DROP DATABASE %s; CREATE DATABASE %s'", d.DB.Host, d.port(), d.DB.Username, d.DB.DBName, d.DB.DBName),
		fmt.Sprintf("  3. mysql -h %s -P %d -u %s %s < %s", d.DB.Host, d.port(), d.DB.Username, d.DB.DBName, file),
		"  4. Start the app again (slipway-host.sh rollback restarts the previous release).",
		"Caveat: every write made after the snapshot was taken is lost.",
	}, "\n")
}

// Prune deletes the dumps in Dir whose names start with prefix beyond the
// keep newest; current is never deleted.
func (d *Dump) Prune(ctx context.Context, prefix, current string, keep int) ([]string, error) {
	return pruneDir(d.Dir, prefix, filepath.Ext(d.file("x")), current, keep)
}

// pruneDir deletes files prefix*ext in dir beyond the keep newest (by
// modification time), never current, and returns their ids.
func pruneDir(dir, prefix, ext, current string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list snapshots in %s: %w", dir, err)
	}
	type snap struct {
		id  string
		mod int64
	}
	var snaps []snap
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ext) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		snaps = append(snaps, snap{strings.TrimSuffix(name, ext), info.ModTime().UnixNano()})
	}
	sort.Slice(snaps, func(i, j int) bool {
		if snaps[i].mod != snaps[j].mod {
			return snaps[i].mod > snaps[j].mod
		}
		return snaps[i].id > snaps[j].id
	})
	var deleted []string
	var errs []error
	kept := 0
	for _, s := range snaps {
		if s.id == current || kept < keep-1 {
			if s.id != current {
				kept++
			}
			continue
		}
		if err := os.Remove(filepath.Join(dir, s.id+ext)); err != nil {
			errs = append(errs, fmt.Errorf("delete snapshot %s: %w", s.id, err))
			continue
		}
		deleted = append(deleted, s.id)
	}
	return deleted, errors.Join(errs...)
}
