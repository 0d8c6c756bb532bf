package up_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/downto"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/status"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/up"
)

// TestFlags parses the up, status and down-to command lines.
func TestFlags(t *testing.T) {
	// No embedded environment to find: --local or --database-url decide.
	t.Chdir(t.TempDir())
	t.Setenv("SLIPWAY_LOCAL_DIR", "")
	f := &factory.Factory{IO: &factory.IOStreams{}}
	t.Run("up", func(t *testing.T) {
		var got *up.Options
		cmd := up.NewCmdUp(f, func(_ context.Context, o *up.Options) error { got = o; return nil })
		cmd.SetArgs([]string{"db", "--local", "--retry", "--ignore-policy", "--lock-wait", "30s", "--lock-timeout", "2s"})
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if got.Dir != "db" || !got.Retry || !got.IgnorePolicy || got.LockWait != 30*time.Second || got.LockTimeout != 2*time.Second {
			t.Errorf("up options = %+v, want dir db, retry, ignore-policy, lock-wait 30s, lock-timeout 2s", got)
		}
		cmd = up.NewCmdUp(f, func(context.Context, *up.Options) error { return nil })
		cmd.SetArgs([]string{"--lock-wait", "soon", "--local"})
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "invalid argument") {
			t.Errorf("up --lock-wait soon error = %v, want invalid argument", err)
		}
	})
	t.Run("status", func(t *testing.T) {
		tests := []struct {
			args    []string
			wantDir string
			wantErr string
		}{
			{[]string{"--local"}, "migrations", ""},
			{[]string{"db/migrations", "--database-url", "sqlite:///tmp/x.db"}, "db/migrations", ""},
			{[]string{}, "", "--database-url"},
			{[]string{"a", "b", "--local"}, "", "accepts at most 1 arg"},
		}
		for _, tt := range tests {
			var got *status.Options
			cmd := status.NewCmdStatus(f, func(_ context.Context, o *status.Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("status %v error = %v, want %q", tt.args, err, tt.wantErr)
				}
				continue
			}
			if err != nil || got == nil || got.Dir != tt.wantDir {
				t.Errorf("status %v = %+v, %v; want dir %q", tt.args, got, err, tt.wantDir)
			}
		}
	})
	t.Run("down-to", func(t *testing.T) {
		tests := []struct {
			args        []string
			wantVersion int64
			wantErr     string
		}{
			{[]string{"3", "--local"}, 3, ""},
			{[]string{"0", "--database-url", "postgres://u@h/db"}, 0, ""},
			{[]string{"two", "--local"}, 0, "VERSION must be a migration number"},
			{[]string{"-1", "--local"}, 0, "unknown shorthand flag"},
			{[]string{"--local"}, 0, "accepts 1 arg"},
		}
		for _, tt := range tests {
			var got *downto.Options
			cmd := downto.NewCmdDownTo(f, func(_ context.Context, o *downto.Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("down-to %v error = %v, want %q", tt.args, err, tt.wantErr)
				}
				continue
			}
			if err != nil || got == nil || got.Version != tt.wantVersion {
				t.Errorf("down-to %v = %+v, %v; want version %d", tt.args, got, err, tt.wantVersion)
			}
		}
	})
}
