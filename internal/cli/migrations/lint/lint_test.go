package lint

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
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

func TestNewCmdLintFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     Options
		wantCode int
	}{
		{"defaults", []string{"migrations"}, Options{Dir: "migrations", Format: "text"}, 0},
		{"json and engine", []string{"--format", "json", "--engine", "mysql", "db/migrations"}, Options{Dir: "db/migrations", Format: "json", Engine: "mysql"}, 0},
		{"no session timeouts", []string{"--no-session-timeouts", "m"}, Options{Dir: "m", Format: "text", NoSessionTimeouts: true}, 0},
		{"--json", []string{"--json", "m"}, Options{Dir: "m", Format: "json"}, 0},
		{"--json and --format json", []string{"--json", "--format", "json", "m"}, Options{Dir: "m", Format: "json"}, 0},
		{"--json and --format text", []string{"--json", "--format", "text", "m"}, Options{}, factory.ExitUsage},
		{"no directory", nil, Options{}, factory.ExitUsage},
		{"bad format", []string{"--format", "xml", "m"}, Options{}, factory.ExitUsage},
		{"bad engine", []string{"--engine", "oracle", "m"}, Options{}, factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Options
			cmd := NewCmdLint(&factory.Factory{IO: &factory.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantCode != 0 {
				// cobra's own argument errors become usage errors at the root.
				var ee *factory.ExitError
				if err == nil || (factory.ExitCode(err) != tt.wantCode && !bytes.Contains([]byte(err.Error()), []byte("arg"))) {
					t.Fatalf("Execute(%v) error = %v (%T %v), want exit %d", tt.args, err, err, ee, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.IO = nil
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("Options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name, dir, format, golden string
		wantCode                  int
	}{
		{"text", "testdata/migrations", "text", "lint.golden", factory.ExitFailed},
		{"json", "testdata/migrations", "json", "lint.json.golden", factory.ExitFailed},
		{"clean", "testdata/clean", "text", "clean.golden", factory.ExitOK},
		{"missing directory", "testdata/nope", "text", "", factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(&Options{IO: &factory.IOStreams{Out: &out}, Dir: tt.dir, Format: tt.format})
			if code := factory.ExitCode(err); code != tt.wantCode {
				t.Errorf("Run() exit code = %d (%v), want %d", code, err, tt.wantCode)
			}
			if tt.golden != "" {
				golden(t, tt.golden, out.Bytes())
			}
		})
	}
}
