package bundle

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/manifest"
)

func writeRelease(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"slipway.yaml":                  "app: demo\nservice: {start: bin/app}\n",
		"bin/app":                       "#!/bin/sh\n",
		"migrations/0001_init.up.sql":   "CREATE TABLE t (id int);",
		"migrations/0001_init.down.sql": "DROP TABLE t;",
		"release.env":                   "SLIPWAY_VERSION=stale\n", // replaced by Build
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildOpen(t *testing.T) {
	dir := writeRelease(t)
	var a, b bytes.Buffer
	if _, err := Build(&a, dir, "v2"); err != nil {
		t.Fatalf("Build: %v", err)
	}
	if _, err := Build(&b, dir, "v2"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("Build is not deterministic: two builds of the same dir differ")
	}
	bun, err := Open("v2.tar.gz", a.Bytes(), SHA256(a.Bytes()))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if bun.Manifest.App != "demo" {
		t.Errorf("Manifest.App = %q, want demo", bun.Manifest.App)
	}
	env, err := fs.ReadFile(bun.FS(), ReleaseEnvName)
	if err != nil || !strings.Contains(string(env), "SLIPWAY_VERSION=v2\n") {
		t.Errorf("release.env = %q (%v), want it rendered for v2, not the stale copy", env, err)
	}
	up, err := fs.ReadFile(bun.Migrations(), "0001_init.up.sql")
	if err != nil || string(up) != "CREATE TABLE t (id int);" {
		t.Errorf("Migrations()/0001_init.up.sql = %q, %v", up, err)
	}
	info, err := fs.Stat(bun.FS(), "bin/app")
	if err != nil || info.Mode().Perm()&0o100 == 0 {
		t.Errorf("bin/app lost its execute bit: %v %v", info, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := writeRelease(t)
	var good bytes.Buffer
	if _, err := Build(&good, dir, "v1"); err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), good.Bytes()...)
	tampered[len(tampered)-10] ^= 1
	tests := []struct {
		name string
		data []byte
		sum  string
		want string
	}{
		{"tampered", tampered, SHA256(good.Bytes()), "checksum mismatch"},
		{"not gzip", []byte("hello"), SHA256([]byte("hello")), "not a gzip file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open("x", tt.data, tt.sum)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open() error = %v, want %q", err, tt.want)
			}
		})
	}
	var ce *ChecksumError
	if _, err := Open("x", tampered, SHA256(good.Bytes())); !errors.As(err, &ce) {
		t.Errorf("Open(tampered) error is %T, want *ChecksumError", err)
	}
}

func TestBuildNeedsManifest(t *testing.T) {
	_, err := Build(&bytes.Buffer{}, t.TempDir(), "v1")
	if err == nil || !strings.Contains(err.Error(), "slipway.yaml") {
		t.Errorf("Build(empty dir) error = %v, want it to name slipway.yaml", err)
	}
}

func TestBuildManifestErrors(t *testing.T) {
	tests := []struct {
		name     string
		manifest string // "" for none
		want     []string
		root     bool // the error may say slipway.yaml belongs at the root
	}{
		{"missing", "", []string{"slipway.yaml", "at its root"}, true},
		{"syntax error", "app: demo\nservice:\n  start: bin/app\n   unit: x: y\n", []string{"slipway.yaml:4", "YAML syntax"}, false},
		{"bad value", "app: demo\nservice: {start: bin/app}\nbake: {duration: 9h}\n", []string{"slipway.yaml:3:18: bake.duration", "9h0m0s"}, false},
		{"unknown key", "app: demo\nservice: {start: bin/app}\nbak: {}\n", []string{"slipway.yaml:3:1: bak: unknown key"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte(tt.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Build(&bytes.Buffer{}, dir, "v1")
			if err == nil {
				t.Fatalf("Build(%s) error = nil, want one", tt.name)
			}
			for _, w := range append(tt.want, dir) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Build(%s) error = %v, want it to mention %q", tt.name, err, w)
				}
			}
			if !tt.root && strings.Contains(err.Error(), "at its root") {
				t.Errorf("Build(%s) error = %v, want no mention of a missing file", tt.name, err)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != (tt.manifest == "") {
				t.Errorf("errors.Is(Build(%s), fs.ErrNotExist) = %v, want %v", tt.name, got, tt.manifest == "")
			}
		})
	}
}

func TestCheckStart(t *testing.T) {
	tests := []struct {
		name  string
		start string
		files map[string]os.FileMode // "" body, this mode; a mode with ModeDir makes a directory
		want  []string               // in the error; none: no error
	}{
		{name: "executable", start: "bin/app", files: map[string]os.FileMode{"bin/app": 0o755}},
		{name: "with arguments", start: "bin/app --port 80", files: map[string]os.FileMode{"bin/app": 0o700}},
		{name: "unit only", start: ""},
		{name: "missing", start: "bin/app", want: []string{"bin/app is not in the release directory", "build the app into"}},
		{name: "not executable", start: "bin/app", files: map[string]os.FileMode{"bin/app": 0o644}, want: []string{"is not executable", "chmod +x", filepath.Join("bin", "app")}},
		{name: "a directory", start: "bin", files: map[string]os.FileMode{"bin": os.ModeDir | 0o755}, want: []string{"is not a regular file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, mode := range tt.files {
				p := filepath.Join(dir, name)
				if mode.IsDir() {
					os.MkdirAll(p, 0o755)
					continue
				}
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
					t.Fatal(err)
				}
			}
			m := &manifest.Manifest{App: "demo", Service: manifest.Service{Start: tt.start, Unit: "demo"}}
			err := CheckStart(dir, m)
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("CheckStart(%q) = %v, want nil", tt.start, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckStart(%q) = nil, want an error", tt.start)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckStart(%q) = %v, want it to mention %q", tt.start, err, w)
				}
			}
		})
	}
}
