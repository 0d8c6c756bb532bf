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

// TestPublishRecordsProvenance: publish records the commit, the branch,
// the build URL (from GitHub Actions' variables) and the test result it
// is given, beside the bundle; a failing report is recorded as failed and
// said; a report that is neither JUnit nor go test -json, or both flags,
// is a usage error.
func TestPublishRecordsProvenance(t *testing.T) {
	env, err := localenv.Init(filepath.Join(t.TempDir(), "state"), localenv.Options{App: "demo", Instances: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ctx := context.Background()
	gh := map[string]string{"GITHUB_SHA": "3f9a1c", "GITHUB_REF_NAME": "main", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "42"}
	publish := func(args ...string) (int, string) {
		io, out, errOut := backendtest.IO()
		f := &factory.Factory{IO: io, Backend: func(context.Context) (backend.Backend, error) { return backend.NewLocal(env, false), nil }}
		cmd := NewCmdRelease(f, nil, func(o *PublishOptions) error {
			o.Getenv = func(k string) string { return gh[k] }
			return publish(ctx, o)
		})
		code := backendtest.Execute(cmd, append([]string{"publish"}, args...)...)
		return code, out.String() + errOut.String()
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	passing := write("report.xml", `<testsuites><testsuite><testcase classname="shop" name="TestA"/><testcase classname="shop" name="TestB"/></testsuite></testsuites>`)
	failing := write("go-test.json", "{\"Action\":\"fail\",\"Package\":\"shop\",\"Test\":\"TestCheckout\"}\n{\"Action\":\"fail\",\"Package\":\"shop\"}\n")

	code, out := publish(buildBundle(t, "v1", "one"), "--version", "v1", "--test-report", passing)
	if code != 0 || !strings.Contains(out, "commit 3f9a1c, branch main, build https://github.com/acme/shop/actions/runs/42, published ") ||
		!strings.Contains(out, "tests passed (2 tests; from report.xml)") {
		t.Fatalf("publish with a passing report = %d %q", code, out)
	}
	r, err := env.Artifacts.Provenance(ctx, "demo", "v1")
	meta, _ := env.Artifacts.Stat(ctx, "demo", "v1")
	if err != nil || r == nil || r.SHA256 != meta.SHA256 || r.Tests == nil || !r.Tests.Passed || r.Tests.Total != 2 {
		t.Fatalf("provenance of v1 = %+v, %v", r, err)
	}
	if ok, why := r.Tested(meta.SHA256); !ok {
		t.Errorf("v1 is not tested: %s", why)
	}

	code, out = publish(buildBundle(t, "v2", "two"), "--version", "v2", "--test-report", failing)
	if code != 0 || !strings.Contains(out, "tests FAILED (1 tests, 1 failed; from go-test.json): shop.TestCheckout") || !strings.Contains(out, "will refuse it") {
		t.Errorf("publish with a failing report = %d %q", code, out)
	}
	if r, _ := env.Artifacts.Provenance(ctx, "demo", "v2"); r == nil || r.Tests == nil || r.Tests.Passed {
		t.Errorf("provenance of v2 = %+v, want tests recorded as failed", r)
	}
	if code, out := publish(buildBundle(t, "v3", "three"), "--version", "v3", "--test-report", write("notes.txt", "all good")); code != factory.ExitUsage || strings.Contains(out, "published") {
		t.Errorf("publish with a text report = %d %q, want a usage error and nothing published", code, out)
	}
	if _, err := env.Artifacts.Stat(ctx, "demo", "v3"); err == nil {
		t.Error("a publish refused for its report published the bundle")
	}
	if code, _ := publish(buildBundle(t, "v3", "three"), "--version", "v3", "--tests-passed", "--test-report", passing); code != factory.ExitUsage {
		t.Errorf("both flags = exit %d, want %d", code, factory.ExitUsage)
	}
}
