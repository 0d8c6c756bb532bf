package release

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// notesBundle builds a bundle of app shop with manifest extra and the
// migration files given.
func notesBundle(t *testing.T, version, extra string, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("slipway.yaml", "app: shop\nservice: {start: bin/shop}\n"+extra, 0o644)
	write("bin/shop", "#!/bin/sh\n", 0o755)
	for name, sql := range files {
		write("migrations/"+name, sql, 0o644)
	}
	var buf bytes.Buffer
	if _, err := bundle.Build(&buf, dir, version); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestNotesGolden: v2 adds a reversible migration and a destructive one
// the manifest allows, and changes the configuration's declarations; the
// notes call the destructive one out, list both with their findings, and
// say how each rolls back.
func TestNotesGolden(t *testing.T) {
	f := backendtest.New(t)
	v1 := map[string]string{"0001_create_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, legacy text);\n"}
	v2 := map[string]string{
		"0001_create_users.up.sql":      v1["0001_create_users.up.sql"],
		"0002_add_email.up.sql":         "ALTER TABLE users ADD COLUMN email text;\n",
		"0002_add_email.down.sql":       "ALTER TABLE users DROP COLUMN email;\n",
		"0003_drop_users_legacy.up.sql": "ALTER TABLE users DROP COLUMN legacy;\n",
	}
	f.Published["v1"] = notesBundle(t, "v1", "migrations: {engine: postgres}\nconfig:\n  GREETING: {values: {staging: hello}}\n  LEGACY_URL: {required: false}\n", v1)
	f.Published["v2"] = notesBundle(t, "v2", "migrations: {engine: postgres, allow: [0003_drop_users_legacy]}\nconfig:\n  GREETING: {values: {staging: bonjour}}\n  API_TOKEN: {secret: true, values: {staging: \"secret:shop/staging/api\"}}\n", v2)
	for _, tt := range []struct{ name, format string }{{"notes.md.golden", "markdown"}, {"notes.json.golden", "json"}} {
		t.Run(tt.name, func(t *testing.T) {
			io, out, _ := backendtest.IO()
			if err := runNotes(context.Background(), &NotesOptions{IO: io, Backend: f.Open, From: "v1", To: "v2", Format: tt.format}); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if tt.format == "json" {
				var n report.Notes
				if err := json.Unmarshal(out.Bytes(), &n); err != nil || len(n.Migrations.Pending) != 2 || n.Config == nil || len(n.Config.Declarations) != 3 {
					t.Errorf("notes JSON = %+v, %v; want 2 migrations and 3 declarations", n, err)
				}
			} else {
				for _, want := range []string{"`0003_drop_users_legacy`: destructive, not reversible", "configuration variable `LEGACY_URL` no longer declared",
					"`0002_add_email`: reverted by a rollback", "slipway rollback --env ENV --to v1"} {
					if !strings.Contains(got, want) {
						t.Errorf("notes lack %q:\n%s", want, got)
					}
				}
			}
			backendtest.Golden(t, tt.name, out.Bytes(), *update)
		})
	}

	io, _, _ := backendtest.IO()
	err := runNotes(context.Background(), &NotesOptions{IO: io, Backend: f.Open, From: "v1", To: "v9", Format: "markdown"})
	if factory.ExitCode(err) != factory.ExitUsage || !strings.Contains(err.Error(), "v9") {
		t.Errorf("notes to an unpublished release = %v (exit %d), want a usage error naming v9", err, factory.ExitCode(err))
	}
}
