package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/status"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/target"
	"github.com/slipway-deploy/slipway/internal/migrate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to write it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
	}
}

func TestNewCmdPlanFlags(t *testing.T) {
	// A project with an embedded environment, and a directory without one.
	t.Setenv("SLIPWAY_LOCAL_DIR", "")
	tmp := t.TempDir()
	found := filepath.Join(tmp, "project", ".slipway", "local")
	if err := os.MkdirAll(filepath.Join(tmp, "project", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(found, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(found, "slipway.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(tmp, "elsewhere"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		wd       string
		args     []string
		wantDir  string
		wantDB   target.DB
		wantCode int
	}{
		{"url", "elsewhere", []string{"--database-url", "postgres://u@h/db"}, "migrations", target.DB{URL: "postgres://u@h/db", Env: "staging"}, 0},
		{"local with dir", "elsewhere", []string{"--local", "--env", "production", "db/migrations"}, "db/migrations", target.DB{Local: true, Env: "production"}, 0},
		{"no database", "elsewhere", []string{"db/migrations"}, "", target.DB{}, factory.ExitUsage},
		{"both databases", "elsewhere", []string{"--local", "--database-url", "sqlite:///x.db"}, "", target.DB{}, factory.ExitUsage},
		{"found from a subdirectory", "project/sub", nil, "migrations", target.DB{Local: true, LocalDir: found, Env: "staging"}, 0},
		{"found, but --local=false", "project/sub", []string{"--local=false"}, "", target.DB{}, factory.ExitUsage},
		{"found, but a URL named", "project/sub", []string{"--database-url", "postgres://u@h/db"}, "migrations", target.DB{URL: "postgres://u@h/db", Env: "staging"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(filepath.Join(tmp, tt.wd))
			var got *Options
			cmd := NewCmdPlan(&factory.Factory{IO: &factory.IOStreams{}}, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if code := factory.ExitCode(err); code != tt.wantCode {
				t.Fatalf("Execute(%v) exit code = %d (%v), want %d", tt.args, code, err, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			if got.Dir != tt.wantDir || !cmp.Equal(got.DB, tt.wantDB, cmpopts.IgnoreUnexported(target.DB{})) {
				t.Errorf("Options = dir %q db %+v, want %q %+v", got.Dir, got.DB, tt.wantDir, tt.wantDB)
			}
		})
	}
}

func TestRunGolden(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "app.db")
	url := "sqlite://" + path
	// The database has the first migration; three are pending.
	rel, err := target.LoadDir("testdata/release/migrations")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := target.ParseURL(url)
	db, err := migrate.OpenDB(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&migrate.Runner{DB: db}).Up(ctx, rel.Migrations[:1]); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var out, errOut bytes.Buffer
	err = Run(ctx, &Options{IO: &factory.IOStreams{Out: &out, ErrOut: &errOut}, Dir: "testdata/release/migrations", DB: target.DB{URL: url}})
	if code := factory.ExitCode(err); code != factory.ExitRefused {
		t.Errorf("Run() exit code = %d (%v), want %d: the rename is blocked", code, err, factory.ExitRefused)
	}
	if want := "target: database sqlite " + path + " (--database-url)\n"; errOut.String() != want {
		t.Errorf("Run() wrote %q on stderr, want the target line %q", errOut.String(), want)
	}
	golden(t, "plan.golden", out.Bytes())

	// --json: the same plan, the same exit status.
	out.Reset()
	err = Run(ctx, &Options{IO: &factory.IOStreams{Out: &out}, Dir: "testdata/release/migrations", DB: target.DB{URL: url}, JSON: true})
	if code := factory.ExitCode(err); code != factory.ExitRefused {
		t.Errorf("Run(--json) exit code = %d (%v), want %d", code, err, factory.ExitRefused)
	}
	golden(t, "plan.json.golden", out.Bytes())

	// status --json of the same database and files.
	out.Reset()
	if err := status.Run(ctx, &status.Options{IO: &factory.IOStreams{Out: &out}, Dir: "testdata/release/migrations", DB: target.DB{URL: url}, JSON: true}); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	var st status.JSON
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("status --json printed no JSON: %v\n%s", err, out.String())
	}
	if st.Current != 1 || len(st.Applied) != 1 || st.Applied[0].Version != 1 || len(st.Pending) != 3 || st.Database == "" {
		t.Errorf("status --json = %+v, want schema 1, one applied, three pending", st)
	}
}
