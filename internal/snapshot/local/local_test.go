package local

import (
	"context"
	"github.com/slipway-deploy/slipway/internal/snapshot"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/migrate/migratetest"
	"github.com/slipway-deploy/slipway/internal/secret"
)

func TestLocalSnapshotters(t *testing.T) {
	for _, engine := range migratetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, d := migratetest.Open(t, engine)
			migratetest.Exec(t, db, "CREATE TABLE kept (id INT)", "INSERT INTO kept (id) VALUES (42)")
			dir := t.TempDir()
			s, err := New(d, dir)
			if err != nil {
				t.Fatal(err)
			}
			if engine != migrate.SQLite {
				tool := map[string]string{migrate.Postgres: "pg_dump", migrate.MySQL: "mysqldump"}[engine]
				if _, err := os.Stat("/usr/bin/" + tool); err != nil && os.Getenv("CI") != "true" {
					t.Skipf("%s is not installed", tool)
				}
			}
			got, err := s.Create(ctx, "slipway-demo-staging-d1")
			if err != nil || got != snapshot.Available {
				t.Fatalf("Create() = %q, %v; want available", got, err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "slipway-demo-staging-d1.*"))
			if len(files) != 1 {
				t.Fatalf("snapshot files = %v, want one", files)
			}
			b, _ := os.ReadFile(files[0])
			switch engine {
			case migrate.Postgres:
				if !strings.HasPrefix(string(b), "PGDMP") {
					t.Errorf("%s is not a pg_dump custom-format archive", files[0])
				}
			case migrate.MySQL:
				if !strings.Contains(string(b), "INSERT INTO `kept` VALUES") {
					t.Errorf("%s does not hold the table's rows", files[0])
				}
			}
			if again, err := s.Create(ctx, "slipway-demo-staging-d1"); err != nil || again != snapshot.Available {
				t.Errorf("Create() again = %q, %v; want available (idempotent)", again, err)
			}
			if st, err := s.Status(ctx, "slipway-demo-staging-d1"); err != nil || st != snapshot.Available {
				t.Errorf("Status() = %q, %v", st, err)
			}
			if p := s.RestoreProcedure("slipway-demo-staging-d1"); !strings.Contains(p, files[0]) || !strings.Contains(p, "is lost") {
				t.Errorf("RestoreProcedure() = %q, want the file and the caveat", p)
			}
		})
	}
}

func TestDumpErrorsNeverShowThePassword(t *testing.T) {
	_, d := migratetest.Open(t, migrate.Postgres)
	d.Password = secret.NewValue("correct-horse-battery-staple")
	d.DBName = "no_such_database_correct-horse-battery-staple"
	_, err := (&Dump{DB: d, Dir: t.TempDir()}).Create(context.Background(), "s1")
	if err == nil {
		t.Fatal("Create() of a missing database succeeded")
	}
	if strings.Count(err.Error(), "correct-horse-battery-staple") > 1 {
		t.Errorf("Create() error shows the password: %v", err)
	}
}

func TestPruneDir(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	for i, id := range []string{"slipway-a-e-d1", "slipway-a-e-d2", "slipway-a-e-d3", "slipway-a-e-d4", "other-d0"} {
		p := filepath.Join(dir, id+".db")
		os.WriteFile(p, nil, 0o644)
		os.Chtimes(p, base.Add(time.Duration(i)*time.Minute), base.Add(time.Duration(i)*time.Minute))
	}
	s := &SQLite{Dir: dir}
	deleted, err := s.Prune(context.Background(), "slipway-a-e-", "slipway-a-e-d4", 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"slipway-a-e-d2", "slipway-a-e-d1"}, deleted); diff != "" {
		t.Errorf("Prune() deleted (-want +got):\n%s", diff)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.db"))
	if len(left) != 3 {
		t.Errorf("left %v, want d3, d4 and other-d0", left)
	}
}

func TestSQLiteRestoreProcedureSaysWhatIsLost(t *testing.T) {
	p := (&SQLite{Path: "/x/app.db", Dir: "/x/snaps"}).RestoreProcedure("slipway-demo-staging-d1")
	if !strings.Contains(p, "slipway-demo-staging-d1") || !strings.Contains(p, "after the snapshot was taken is lost") {
		t.Errorf("RestoreProcedure() = %q, want the snapshot and the caveat", p)
	}
}
