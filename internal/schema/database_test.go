package schema_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	ledgersql "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/schema"
	"github.com/slipway-deploy/slipway/internal/secret"
	snapshotlocal "github.com/slipway-deploy/slipway/internal/snapshot/local"
)

// oneInstance is a fleet of one online instance; the database tests never
// get as far as sending it anything.
type oneInstance struct{ pipeline.Fleet }

func (oneInstance) Instances(ctx context.Context, env string, tags map[string]string) ([]fleet.Instance, error) {
	return []fleet.Instance{{ID: env + "-1", Address: "127.0.0.1:1", Online: true}}, nil
}

type dbEnv struct {
	deps   *pipeline.Deps
	dbPath string
	meta   contract.Artifact
}

// newDBEnv publishes release v1 of app demo with the given migrations and
// manifest lines, over a SQLite database.
func newDBEnv(t *testing.T, files map[string]string, manifestExtra string) *dbEnv {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	rel := filepath.Join(root, "release")
	os.MkdirAll(filepath.Join(rel, "migrations"), 0o755)
	os.WriteFile(filepath.Join(rel, "slipway.yaml"), []byte("app: demo\nservice:\n  start: bin/demo\n"+manifestExtra), 0o644)
	for name, text := range files {
		os.WriteFile(filepath.Join(rel, "migrations", name), []byte(text), 0o644)
	}
	var buf bytes.Buffer
	if _, err := bundle.Build(&buf, rel, "v1"); err != nil {
		t.Fatal(err)
	}
	arts := &artifact.Dir{Root: filepath.Join(root, "artifacts")}
	meta, err := arts.Publish(ctx, "demo", "v1", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	led, err := ledgersql.Open(filepath.Join(root, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	dbPath := filepath.Join(root, "app.db")
	secrets := &secret.File{Path: filepath.Join(root, "secrets.json")}
	secrets.Put("db", `{"engine":"sqlite","path":"`+dbPath+`"}`)
	deps := &pipeline.Deps{
		Config: &config.Config{App: "demo", Environments: map[string]config.Environment{"staging": {DatabaseSecret: "db"}}},
		Ledger: led, Artifacts: arts, Fleet: oneInstance{}, Secrets: secrets, OpenDB: migrate.OpenDB,
		Snapshots: func(env string, _ config.Environment) (pipeline.Snapshotter, error) {
			return &snapshotlocal.SQLite{Path: dbPath, Dir: filepath.Join(root, "snapshots")}, nil
		},
		MigrationPlan: schema.Plan,
	}
	return &dbEnv{deps: deps, dbPath: dbPath, meta: contract.Artifact(meta)}
}

func (e *dbEnv) preflight(t *testing.T, id string) (contract.PreflightOutput, error) {
	t.Helper()
	req, _ := json.Marshal(contract.DeployRequest{App: "demo", Environment: "staging", Version: "v1"})
	return (&pipeline.Preflight{Deps: e.deps}).Handle(context.Background(), contract.PreflightInput{
		Request: req, Kind: contract.KindDeploy, DeploymentID: id, ExecutionID: "exec-" + id, StartedAt: "2026-11-26T00:00:00Z"})
}

var dropEmail = map[string]string{
	"0001_create_users.up.sql":   "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);",
	"0001_create_users.down.sql": "DROP TABLE users;",
	"0002_drop_email.up.sql":     "ALTER TABLE users DROP COLUMN email;",
	"0002_drop_email.down.sql":   "ALTER TABLE users ADD COLUMN email TEXT;",
}

func TestPreflightRefusesBlockedMigrationsBeforeTheLock(t *testing.T) {
	e := newDBEnv(t, dropEmail, "")
	_, err := e.preflight(t, "d1")
	var pf *contract.MigrationBlocked
	if !errors.As(err, &pf) {
		t.Fatalf("Preflight() error = %v, want MigrationBlocked", err)
	}
	for _, want := range []string{"0002_drop_email (destructive)", "drops column users.email", "ban-drop-column (DS103)", "migrations: {allow:", "nothing was locked, snapshotted or migrated"} {
		if !strings.Contains(pf.Message, want) {
			t.Errorf("MigrationBlocked = %q, want it to say %q", pf.Message, want)
		}
	}
	if strings.Contains(pf.Message, "0001_create_users") {
		t.Errorf("MigrationBlocked names the expand migration 0001: %q", pf.Message)
	}
}

func TestPreflightLetsAllowedMigrationsThrough(t *testing.T) {
	e := newDBEnv(t, dropEmail, "migrations:\n  allow: [\"0002_drop_email\"]\n")
	out, err := e.preflight(t, "d1")
	if err != nil {
		t.Fatalf("Preflight() error = %v", err)
	}
	checks := out.Migrations.Checks
	if len(checks) != 2 || checks[1].Class != "destructive" || !checks[1].Allowed || checks[1].Reversible || checks[0].Class != "expand" {
		t.Errorf("Checks = %+v, want 0001 expand and 0002 destructive, allowed, irreversible", checks)
	}
}

func TestMigrateKeepsDestructiveMigrationOnRevertAndSaysHowToRestore(t *testing.T) {
	ctx := context.Background()
	e := newDBEnv(t, dropEmail, "migrations:\n  allow: [\"0002_drop_email\"]\n")
	if _, err := e.preflight(t, "d1"); err != nil {
		t.Fatal(err)
	}
	snap, err := (&pipeline.Snapshot{Deps: e.deps}).Handle(ctx, contract.SnapshotInput{Action: "create", DeploymentID: "d1", App: "demo", Environment: "staging", Pending: []int64{1, 2}})
	if err != nil || snap.Status != contract.SnapshotAvailable {
		t.Fatalf("Snapshot() = %+v, %v", snap, err)
	}
	h := &schema.Migrate{Deps: e.deps}
	up, err := h.Handle(ctx, contract.MigrateInput{Action: "up", DeploymentID: "d1", App: "demo", Environment: "staging", Version: "v1", Artifact: e.meta})
	if err != nil || up.To != 2 {
		t.Fatalf("Migrate(up) = %+v, %v", up, err)
	}
	rev, err := h.Handle(ctx, contract.MigrateInput{Action: "revert", DeploymentID: "d1", App: "demo", Environment: "staging", Version: "v1", Artifact: e.meta})
	if err != nil {
		t.Fatalf("Migrate(revert) error = %v", err)
	}
	// 0002 dropped data: its down file cannot bring it back, so it stays,
	// and so does 0001 below it; the report names the snapshot.
	if len(rev.Reverted) != 0 || len(rev.Kept) != 2 || rev.To != 2 {
		t.Errorf("Migrate(revert) = %+v, want nothing reverted, 2 and 1 kept at 2", rev)
	}
	if !strings.Contains(rev.Restore, snap.SnapshotID) || !strings.Contains(rev.Restore, "is lost") {
		t.Errorf("Restore = %q, want the snapshot %s and the caveat", rev.Restore, snap.SnapshotID)
	}
	d, _ := e.deps.Ledger.GetDeployment(ctx, "d1")
	if d.SnapshotID != snap.SnapshotID || d.SchemaBefore != 0 || d.SchemaAfter != 2 {
		t.Errorf("ledger = snapshot %q schema %d → %d, want %s and 0 → 2", d.SnapshotID, d.SchemaBefore, d.SchemaAfter, snap.SnapshotID)
	}
}

// TestPreflightWarnsOfAnotherEngine: migrations written for PostgreSQL
// (migrations.engine, or their syntax) against the embedded SQLite
// database are named in a warning Preflight records (and plan shows), and
// what SQLite rejects (timestamptz ... DEFAULT now()) is refused before the
// lock instead of failing at Migrate.
func TestPreflightWarnsOfAnotherEngine(t *testing.T) {
	pgOnly := map[string]string{"0001_events.up.sql": "CREATE TABLE events (\n  id bigserial PRIMARY KEY,\n  created_at timestamptz NOT NULL DEFAULT now()\n);"}
	portable := map[string]string{"0001_t.up.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY);"}
	tests := []struct {
		name        string
		files       map[string]string
		manifest    string
		wantWarning string // in the plan and the ledger; "" none
		wantRefusal string // in the MigrationBlocked message; "" none
	}{
		{name: "declared postgres, rejected by SQLite", files: pgOnly, manifest: "migrations: {engine: postgres}\n",
			wantWarning: "written for postgres (migrations.engine) but staging's database is sqlite", wantRefusal: "staging's database is sqlite, and sqlite rejects this"},
		{name: "declared postgres, portable", files: portable, manifest: "migrations: {engine: postgres}\n",
			wantWarning: "slipway local init --database"},
		{name: "undeclared, PostgreSQL syntax", files: pgOnly,
			wantWarning: "the migrations read as postgres (sqlite rejects 1 statement(s) postgres reads)", wantRefusal: "syntax error"},
		{name: "undeclared, portable", files: portable},
		{name: "declared sqlite", files: portable, manifest: "migrations: {engine: sqlite}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDBEnv(t, tt.files, tt.manifest)
			out, err := e.preflight(t, "d1")
			var blocked *contract.MigrationBlocked
			switch {
			case tt.wantRefusal == "" && err != nil:
				t.Fatalf("Preflight() = %v, want no refusal", err)
			case tt.wantRefusal != "" && !errors.As(err, &blocked):
				t.Fatalf("Preflight() error = %v, want MigrationBlocked", err)
			case tt.wantRefusal != "" && !strings.Contains(blocked.Message, tt.wantRefusal):
				t.Errorf("MigrationBlocked = %q, want %q in it", blocked.Message, tt.wantRefusal)
			}
			if err == nil && !strings.Contains(out.Migrations.EngineWarning, tt.wantWarning) || tt.wantWarning == "" && out.Migrations.EngineWarning != "" {
				t.Errorf("EngineWarning = %q, want %q", out.Migrations.EngineWarning, tt.wantWarning)
			}
			steps, _ := e.deps.Ledger.Steps(context.Background(), "d1")
			recorded := ""
			for _, s := range steps {
				if strings.HasPrefix(s.Message, pipeline.EngineWarningPrefix) {
					recorded = s.Message
				}
			}
			if tt.wantWarning == "" && recorded != "" || !strings.Contains(recorded, tt.wantWarning) {
				t.Errorf("Preflight's record: warning step %q, want %q", recorded, tt.wantWarning)
			}
		})
	}
}
