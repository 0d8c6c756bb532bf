package target

import (
	"testing"

	"github.com/slipway-deploy/slipway/internal/secret"
)

// TestCommand prints follow-up commands that act on the same database and
// directory, and the target line that names them.
func TestCommand(t *testing.T) {
	tests := []struct {
		name string
		db   DB
		dir  string
		want string
	}{
		{"found environment, default directory", DB{Local: true, LocalDir: "/p/.slipway/local", Env: "staging"}, DefaultDir, "slipway migrations plan"},
		{"--local-dir", DB{Local: true, LocalDir: "/s", Env: "staging", dirFlag: "/s"}, DefaultDir, "slipway migrations plan --local-dir /s"},
		{"--local-dir and another environment and directory", DB{Local: true, LocalDir: "/s", Env: "production", dirFlag: "/s"}, "db/migrations",
			"slipway migrations plan db/migrations --local-dir /s --env production"},
		{"--database-url is not repeated", DB{URL: "postgres://u:secret@h/db"}, DefaultDir, "slipway migrations plan --database-url URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.db.Command("plan", tt.dir); got != tt.want {
				t.Errorf("Command(plan, %q) = %q, want %q", tt.dir, got, tt.want)
			}
		})
	}
	pg := secret.Database{Engine: "postgres", Username: "u", Host: "h", Port: 5432, DBName: "db"}
	if got, want := (&DB{URL: "postgres://u:secret@h/db"}).Target(pg), "target: database postgres u@h:5432/db (--database-url)"; got != want {
		t.Errorf("Target() = %q, want %q", got, want)
	}
	lite := secret.Database{Engine: "sqlite", Path: "/s/staging.db"}
	if got, want := (&DB{Local: true, LocalDir: "/s", Env: "staging"}).Target(lite), "target: local (/s), staging's database (sqlite /s/staging.db)"; got != want {
		t.Errorf("Target() = %q, want %q", got, want)
	}
}
