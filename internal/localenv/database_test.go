package localenv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/migrate/migratetest"
	"github.com/slipway-deploy/slipway/internal/secret"
)

func TestParseServer(t *testing.T) {
	tests := []struct {
		raw     string
		want    Server
		wantErr string
	}{
		{raw: "postgres://postgres@127.0.0.1:5432/postgres", want: Server{Engine: "postgres", Host: "127.0.0.1", Port: 5432, Username: "postgres", AdminDB: "postgres"}},
		{raw: "postgresql://app@db.local", want: Server{Engine: "postgres", Host: "db.local", Port: 5432, Username: "app", AdminDB: "postgres"}},
		{raw: "postgres://127.0.0.1:6432/admin", want: Server{Engine: "postgres", Host: "127.0.0.1", Port: 6432, Username: "postgres", AdminDB: "admin"}},
		{raw: "mysql://root@127.0.0.1:3306", want: Server{Engine: "mysql", Host: "127.0.0.1", Port: 3306, Username: "root"}},
		{raw: "mariadb://127.0.0.1", want: Server{Engine: "mysql", Host: "127.0.0.1", Port: 3306, Username: "root"}},
		{raw: "sqlite:///tmp/x.db", wantErr: `scheme "sqlite" is not supported`},
		{raw: "mysql://root@127.0.0.1:3306/shop", wantErr: "names the server only"},
		{raw: "postgres://u:hunter2@127.0.0.1:99999", wantErr: "is not a port number"},
		{raw: "postgres://u:hunter2@127.0.0.1/x?sslmode=disable", wantErr: "query parameters are not supported"},
		{raw: "127.0.0.1:5432", wantErr: "want a URL such as"},
		{raw: "postgres://u:hunter2@[::1", wantErr: "want a URL such as"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := ParseServer(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseServer(%q) error = %v, want %q", tt.raw, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("ParseServer(%q) error = %v: it shows the password", tt.raw, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseServer(%q) = %v", tt.raw, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b secret.Value) bool { return a.Reveal() == b.Reveal() })); diff != "" {
				t.Errorf("ParseServer(%q) (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
	if got, want := DatabaseName("", "my-shop", "Staging"), "slipway_my_shop_staging"; got != want {
		t.Errorf("DatabaseName(my-shop, Staging) = %q, want %q", got, want)
	}
}

// TestServerDatabases runs `local init --database` against the real
// PostgreSQL and MariaDB servers: one database per environment, created
// and recorded as owned by the state directory; the instances' host.env
// gives the app DATABASE_ENGINE and DATABASE_URL; another directory cannot
// take a database a live environment uses; one left behind by a directory
// removed by hand is replaced by the next init; Down drops what it created
// and removes the directory.
func TestServerDatabases(t *testing.T) {
	for _, engine := range []string{migrate.Postgres, migrate.MySQL} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			url := migratetest.ServerURL(t, engine)
			srv, err := ParseServer(url)
			if err != nil {
				t.Fatal(err)
			}
			prefix := "slipway_test_" + migratetest.Random() + "_"
			names := []string{prefix + "staging", prefix + "production"}
			admin, err := srv.openAdmin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			t.Cleanup(func() {
				for _, n := range names {
					srv.drop(context.Background(), admin, n)
				}
			})
			exists := func(name string) bool {
				t.Helper()
				ok, err := srv.exists(ctx, admin, name)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			opts := Options{App: "demo", Environments: []string{"staging", "production"}, Instances: 1, Database: url, DatabasePrefix: prefix}

			first := filepath.Join(t.TempDir(), "first")
			env, err := Init(first, opts)
			if err != nil {
				t.Fatalf("Init(--database %s) = %v", url, err)
			}
			for i, n := range names {
				if !exists(n) {
					t.Fatalf("database %s was not created", n)
				}
				if owner, _ := srv.owner(ctx, n); owner != env.Root {
					t.Errorf("database %s owner = %q, want %s", n, owner, env.Root)
				}
				d, err := env.Database(ctx, []string{"staging", "production"}[i])
				if err != nil || d.Family() != engine || d.DBName != n {
					t.Errorf("Database() = %v, %v; want %s %s", d, err, engine, n)
				}
				db, err := migrate.OpenDB(ctx, d)
				if err != nil {
					t.Fatalf("open %s: %v", d, err)
				}
				db.Close()
			}
			hostEnv, err := os.ReadFile(filepath.Join(env.Root, "instances", "staging", "staging-1", "host.env"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"DATABASE_ENGINE=" + engine + "\n", "DATABASE_URL=" + engine + "://", "/" + names[0] + "\n"} {
				if !strings.Contains(string(hostEnv), want) {
					t.Errorf("host.env = %q, want %q in it", hostEnv, want)
				}
			}
			if strings.Contains(string(hostEnv), "DATABASE_PATH") {
				t.Errorf("host.env = %q, want no DATABASE_PATH (there is no SQLite file)", hostEnv)
			}
			if _, err := os.Stat(filepath.Join(env.Root, "db", "staging.db")); err == nil {
				t.Errorf("a SQLite file was created although the database is on %s", engine)
			}

			// Another directory cannot take the databases of a live one.
			second := filepath.Join(t.TempDir(), "second")
			if _, err := Init(second, opts); err == nil || !strings.Contains(err.Error(), "slipway local down --dir "+env.Root) {
				t.Errorf("Init(another dir, same databases) = %v, want a refusal naming slipway local down --dir %s", err, env.Root)
			}
			if !exists(names[0]) {
				t.Fatalf("a refused Init dropped %s", names[0])
			}

			// A directory removed by hand leaves its databases; the next
			// init replaces them and says so.
			env.Stop(ctx)
			if err := os.RemoveAll(first); err != nil {
				t.Fatal(err)
			}
			env2, err := Init(second, opts)
			if err != nil {
				t.Fatalf("Init after the first directory was removed = %v", err)
			}
			if len(env2.InitNotes) != 2 || !strings.Contains(env2.InitNotes[0], "dropped database "+names[0]) {
				t.Errorf("InitNotes = %q, want one per replaced database", env2.InitNotes)
			}
			if owner, _ := srv.owner(ctx, names[0]); owner != env2.Root {
				t.Errorf("database %s owner = %q, want %s", names[0], owner, env2.Root)
			}
			env2.Close()

			res, err := Down(ctx, second)
			if err != nil {
				t.Fatalf("Down() = %v", err)
			}
			if diff := cmp.Diff([]string{names[1], names[0]}, res.Databases); diff != "" {
				t.Errorf("Down() dropped (-want +got):\n%s", diff)
			}
			for _, n := range names {
				if exists(n) {
					t.Errorf("database %s is still there after Down", n)
				}
			}
			if _, err := os.Stat(second); err == nil {
				t.Errorf("Down() left %s", second)
			}
		})
	}
}

// TestDownSQLite takes a SQLite environment down: nothing to drop, the
// directory removed.
func TestDownSQLite(t *testing.T) {
	root := filepath.Join(t.TempDir(), "state")
	env, err := Init(root, Options{App: "demo", Instances: 1})
	if err != nil {
		t.Fatal(err)
	}
	env.Close()
	res, err := Down(context.Background(), root)
	if err != nil || len(res.Databases) != 0 {
		t.Fatalf("Down() = %+v, %v; want nothing dropped, no error", res, err)
	}
	if _, err := os.Stat(root); err == nil {
		t.Errorf("Down() left %s", root)
	}
	if _, err := Down(context.Background(), root); err == nil {
		t.Errorf("Down() of nothing = nil, want ErrNotInitialized")
	}
}
