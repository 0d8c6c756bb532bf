// Package local holds the embedded environment's snapshotters: SQLite's
// VACUUM INTO, and pg_dump or mysqldump for a local PostgreSQL or MySQL. It
// is apart from package snapshot (ids, statuses, RDS) so that the Lambdas,
// which snapshot with RDS, do not link a SQLite driver.
package local

import (
	"context"
	"fmt"
	"github.com/slipway-deploy/slipway/internal/snapshot"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipway-deploy/slipway/internal/litedb"
)

// SQLite snapshots a SQLite database file into Dir with VACUUM INTO, which
// writes a consistent copy while readers and writers carry on.
type SQLite struct {
	Path string // the live database
	Dir  string // where snapshots go
}

func (s *SQLite) file(id string) string { return filepath.Join(s.Dir, id+".db") }

// Create writes the snapshot. It is idempotent: a snapshot that exists is
// reported available.
func (s *SQLite) Create(ctx context.Context, id string) (string, error) {
	if _, err := os.Stat(s.file(id)); err == nil {
		return snapshot.Available, nil
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create snapshot %s: %w", id, err)
	}
	db, err := litedb.Open(s.Path)
	if err != nil {
		return "", fmt.Errorf("create snapshot %s: %w", id, err)
	}
	defer db.Close()
	tmp := s.file(id) + ".tmp"
	os.Remove(tmp)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("create snapshot %s of %s: %w", id, s.Path, err)
	}
	if err := os.Rename(tmp, s.file(id)); err != nil {
		return "", fmt.Errorf("create snapshot %s: %w", id, err)
	}
	return snapshot.Available, nil
}

// Status reports a snapshot's status.
func (s *SQLite) Status(ctx context.Context, id string) (string, error) {
	if _, err := os.Stat(s.file(id)); err != nil {
		return "", fmt.Errorf("snapshot %s: %w", id, err)
	}
	return snapshot.Available, nil
}

// RestoreProcedure says how to put the database back to the snapshot.
func (s *SQLite) RestoreProcedure(id string) string {
	return strings.Join([]string{
		fmt.Sprintf("Restore the database from snapshot %s:", id),
		"  1. Stop the app on every instance (writes after the restore point would be lost anyway).",
		fmt.Sprintf("  2. cp %s %s", s.file(id), s.Path),
		fmt.Sprintf("     and remove %s-wal and %s-shm if present.", s.Path, s.Path),
		"  3. Start the app again (slipway-host.sh rollback restarts the previous release).",
		"Caveat: every write made after the snapshot was taken is lost.",
	}, "\n")
}

// Prune deletes the snapshots in Dir whose names start with prefix beyond
// the keep newest; current is never deleted.
func (s *SQLite) Prune(ctx context.Context, prefix, current string, keep int) ([]string, error) {
	return pruneDir(s.Dir, prefix, ".db", current, keep)
}
