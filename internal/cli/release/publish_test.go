package release

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// buildBundle writes a bundle of app demo for version with extra in it.
func buildBundle(t *testing.T, version, extra string) string {
	t.Helper()
	dir := t.TempDir()
	m := "app: demo\nservice: {start: bin/app}\n"
	if err := os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.txt"), []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Build(&buf, dir, version); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), version+"-"+extra+".tar.gz")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPublishKeepsAVersionToOneBuild is finding 8 of issue 10: publishing
// a version again with other bytes is refused (exit 3) unless --replace
// says so; the same bytes again is a no-op.
func TestPublishKeepsAVersionToOneBuild(t *testing.T) {
	env, err := localenv.Init(filepath.Join(t.TempDir(), "state"), localenv.Options{App: "demo", Instances: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	first, second := buildBundle(t, "v1", "one"), buildBundle(t, "v1", "two")
	publish := func(args ...string) (int, string) {
		io, out, errOut := backendtest.IO()
		f := &factory.Factory{IO: io, Backend: func(context.Context) (backend.Backend, error) { return backend.NewLocal(env, false), nil }}
		cmd := NewCmdRelease(f, nil, nil)
		code := backendtest.Execute(cmd, append([]string{"publish"}, args...)...)
		return code, out.String() + errOut.String()
	}
	if code, out := publish(first, "--version", "v1"); code != 0 || !strings.Contains(out, "published v1") {
		t.Fatalf("first publish = %d %q, want 0", code, out)
	}
	before, _ := env.Artifacts.Stat(context.Background(), "demo", "v1")
	if code, out := publish(first, "--version", "v1"); code != 0 || !strings.Contains(out, "the same bytes") {
		t.Errorf("same bytes again = %d %q, want 0 and a note", code, out)
	}
	if code, _ := publish(second, "--version", "v1"); code != factory.ExitRefused {
		t.Errorf("other bytes = exit %d, want %d", code, factory.ExitRefused)
	}
	if after, _ := env.Artifacts.Stat(context.Background(), "demo", "v1"); after.SHA256 != before.SHA256 {
		t.Errorf("a refused publish changed the release: sha256 %s -> %s", before.SHA256, after.SHA256)
	}
	if code, out := publish(second, "--version", "v1", "--replace"); code != 0 || !strings.Contains(out, "replaced") {
		t.Errorf("--replace = %d %q, want 0 and the replaced checksum", code, out)
	}
	if after, _ := env.Artifacts.Stat(context.Background(), "demo", "v1"); after.SHA256 == before.SHA256 {
		t.Errorf("--replace kept the old bytes")
	}
}
