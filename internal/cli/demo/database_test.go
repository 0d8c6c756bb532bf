package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/migrate/migratetest"
	"github.com/slipway-deploy/slipway/internal/scenario"
)

// TestDemoOnServerDatabase runs the demo scenario on the embedded
// environment with its database on the real PostgreSQL and MariaDB servers
// (local init --database): v1 and v2 migrate the schema to 2 and succeed,
// v3 migrates to 3, fails its health check and is rolled back, its
// reversible migration reverted; a pg_dump or mysqldump snapshot is taken
// before each migration; the apps answer from the server's database. Down
// then drops the database it created.
func TestDemoOnServerDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three releases and runs real processes")
	}
	for _, engine := range []string{migrate.Postgres, migrate.MySQL} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			url := migratetest.ServerURL(t, engine)
			root := filepath.Join(t.TempDir(), "state")
			prefix := "slipway_test_" + migratetest.Random() + "_"
			var out strings.Builder
			outcomes, err := scenario.Run(ctx, scenario.Options{Root: root, AppDir: filepath.Join("..", "..", "..", "examples", "demo-app"), Out: &out, Keep: true,
				Database: url, DatabasePrefix: prefix, Deploy: deployLocal})
			env, openErr := localenv.Open(root)
			if openErr != nil {
				t.Fatalf("open the demo environment: %v\noutput:\n%s", openErr, out.String())
			}
			srv, _ := localenv.ParseServer(url)
			t.Cleanup(func() {
				env.Stop(context.Background())
				env.DropDatabases(context.Background())
			})
			if err != nil {
				t.Fatalf("Run(--database %s) error = %v\noutput:\n%s", srv, err, out.String())
			}
			want := []string{contract.StatusSucceeded, contract.StatusSucceeded, contract.StatusRolledBack}
			for i, o := range outcomes {
				if o.Status != want[i] {
					t.Errorf("%s ended %s, want %s", o.Version, o.Status, want[i])
				}
			}
			if !strings.Contains(out.String(), "database "+engine) {
				t.Errorf("output does not name the %s database:\n%s", engine, out.String())
			}
			d3, err := env.Ledger.GetDeployment(ctx, outcomes[2].DeploymentID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(d3.Summary, "reverted from 3 to 2") || d3.SnapshotID == "" {
				t.Errorf("v3 summary = %q, snapshot %q; want the schema reverted from 3 to 2 after a snapshot", d3.Summary, d3.SnapshotID)
			}
			ext := map[string]string{migrate.Postgres: ".dump", migrate.MySQL: ".sql"}[engine]
			dumps, _ := filepath.Glob(filepath.Join(root, "snapshots", "staging", "*"+ext))
			if len(dumps) != 3 {
				t.Errorf("snapshots = %v, want one %s dump per deployment that migrated (3)", dumps, ext)
			}

			// The database on the server: schema at 2, v3's column gone.
			d, err := env.Database(ctx, "staging")
			if err != nil {
				t.Fatal(err)
			}
			if d.DBName != prefix+"staging" || d.Family() != engine {
				t.Errorf("staging database = %s, want %s on %s", d, prefix+"staging", engine)
			}
			db, err := migrate.OpenDB(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			var schema int64
			if err := db.QueryRow(`SELECT MAX(version) FROM slipway_migrations`).Scan(&schema); err != nil || schema != 2 {
				t.Errorf("schema version = %d (%v), want 2", schema, err)
			}
			var cols []string
			rows, err := db.Query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND table_schema = ` +
				map[string]string{migrate.Postgres: "'public'", migrate.MySQL: "DATABASE()"}[engine] + ` ORDER BY column_name`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var c string
				rows.Scan(&c)
				cols = append(cols, strings.ToLower(c))
			}
			rows.Close()
			db.Close()
			if strings.Join(cols, ",") != "email,id,name" {
				t.Errorf("users columns = %v, want email, id, name (v3's nickname reverted)", cols)
			}

			// Every instance answers v2 on schema 2, from the server.
			insts, err := env.Fleet.Instances(ctx, "staging")
			if err != nil || len(insts) != 3 {
				t.Fatalf("Instances() = %v, %v; want 3", insts, err)
			}
			for _, inst := range insts {
				resp, err := http.Get("http://" + inst.Address + "/healthz")
				if err != nil {
					t.Errorf("%s: GET /healthz: %v", inst.ID, err)
					continue
				}
				var h struct {
					Status        string `json:"status"`
					Version       string `json:"version"`
					SchemaVersion int64  `json:"schema_version"`
				}
				json.NewDecoder(resp.Body).Decode(&h)
				resp.Body.Close()
				if resp.StatusCode != 200 || h.Version != "v2" || h.SchemaVersion != 2 || h.Status != "ok" {
					t.Errorf("%s: /healthz = %d %+v, want 200 ok v2 schema 2", inst.ID, resp.StatusCode, h)
				}
			}

			// Down drops the database and removes the directory.
			env.Close()
			res, err := localenv.Down(ctx, root)
			if err != nil || len(res.Databases) != 1 || res.Databases[0] != prefix+"staging" {
				t.Fatalf("Down() = %+v, %v; want %s dropped", res, err, prefix+"staging")
			}
			if _, err := migrate.OpenDB(ctx, d); err == nil {
				t.Errorf("database %s still opens after Down", d.DBName)
			}
			if _, err := os.Stat(root); err == nil {
				t.Errorf("Down() left %s", root)
			}
		})
	}
}
