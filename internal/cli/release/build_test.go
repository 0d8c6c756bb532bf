package release

import (
	"cmp"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
)

// TestBuild runs `release build` on real directories: the bundle and its
// .sha256 (which sha256sum -c accepts) are written; a service.start that
// is missing or not executable is refused, naming the file and the fix,
// and nothing is written.
func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		mode     os.FileMode // of bin/app; 0: absent
		manifest string      // default: a valid one
		wantCode int
		want     []string // in the output
	}{
		{name: "executable", mode: 0o755, want: []string{"built ", ".sha256"}},
		{name: "not executable", mode: 0o644, wantCode: factory.ExitUsage, want: []string{"bin/app is not executable", "chmod +x"}},
		{name: "missing", wantCode: factory.ExitUsage, want: []string{"bin/app is not in the release directory"}},
		{name: "a manifest that does not parse", mode: 0o755, manifest: "app: demo\nservice: {start: bin/app}\nhelth: {path: /x}\n", wantCode: factory.ExitUsage,
			want: []string{"/slipway.yaml:3:1: helth: unknown key", "hint: fix the manifest at the line and column"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			manifest := cmp.Or(tt.manifest, "app: demo\nservice: {start: bin/app}\n")
			if err := os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.mode != 0 {
				os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
				if err := os.WriteFile(filepath.Join(dir, "bin", "app"), []byte("#!/bin/sh\n"), tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(t.TempDir(), "v2.tar.gz")
			io, stdout, _ := backendtest.IO()
			cmd := NewCmdRelease(&factory.Factory{IO: io}, nil, nil)
			cmd.SetArgs([]string{"build", "--dir", dir, "--version", "v2", "-o", out})
			cmd.SetOut(stdout)
			cmd.SetErr(stdout)
			err := cmd.Execute()
			code, text := outcome.Code(err), stdout.String()
			if err != nil {
				text += err.Error()
			}
			if e := (*factory.ExitError)(nil); errors.As(err, &e) && e.Hint != "" {
				text += "\nhint: " + e.Hint
			}
			if code != tt.wantCode {
				t.Fatalf("release build = exit %d (%s), want %d", code, text, tt.wantCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("release build output = %q, want it to mention %q", text, w)
				}
			}
			if tt.wantCode != 0 {
				if _, err := os.Stat(out); err == nil {
					t.Errorf("a refused build wrote %s", out)
				}
				return
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := os.ReadFile(out + ".sha256")
			if err != nil {
				t.Fatalf("no checksum beside the bundle: %v", err)
			}
			if want := bundle.SHA256(data) + "  v2.tar.gz\n"; string(sum) != want {
				t.Errorf("v2.tar.gz.sha256 = %q, want %q", sum, want)
			}
			if _, err := exec.LookPath("sha256sum"); err == nil {
				check := exec.Command("sha256sum", "-c", "v2.tar.gz.sha256")
				check.Dir = filepath.Dir(out)
				if b, err := check.CombinedOutput(); err != nil {
					t.Errorf("sha256sum -c v2.tar.gz.sha256: %v: %s", err, b)
				}
			}
		})
	}
}
