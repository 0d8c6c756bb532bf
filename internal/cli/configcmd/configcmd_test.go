package configcmd

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/secret"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sentinel is every value in the store: no output may show it.
const sentinel = "s3ntinel-Config-4b7"

// fake returns a backend whose configuration store is a secrets file:
// staging and production share the API token, the feature URLs differ,
// and production's Sentry DSN is missing.
func fake(t *testing.T) *backendtest.Fake {
	t.Helper()
	f := backendtest.New(t)
	file := &secret.File{Path: filepath.Join(t.TempDir(), "secrets.json")}
	for k, v := range map[string]string{
		appconfig.KeySecretName("shop"): "0123456789abcdef0123456789abcdef",
		"shop/staging/api":              `{"token":"` + sentinel + `"}`,
		"shop/production/api":           `{"token":"` + sentinel + `","other":1}`,
		"/shop/staging/feature-url":     "http://" + sentinel + "/staging",
		"/shop/production/feature-url":  "http://" + sentinel + "/production",
	} {
		if err := file.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	f.Values = &appconfig.File{Secrets: file}
	return f
}

func TestConfigGolden(t *testing.T) {
	tests := []struct {
		name     string
		action   string
		envs     []string
		json     bool
		wantCode int
	}{
		{"diff.txt.golden", "diff", []string{"staging", "production"}, false, 0},
		{"diff.json.golden", "diff", []string{"staging", "production"}, true, 0},
		{"check-staging.txt.golden", "check", []string{"staging"}, false, 0},
		{"check-staging.json.golden", "check", []string{"staging"}, true, 0},
		{"check-production.txt.golden", "check", []string{"production"}, false, factory.ExitRefused},
		{"check-production.json.golden", "check", []string{"production"}, true, factory.ExitRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fake(t)
			io, out, errOut := backendtest.IO()
			err := run(context.Background(), &Options{IO: io, Backend: f.Open, Action: tt.action, Envs: tt.envs, JSON: tt.json, Manifest: "testdata/slipway.yaml"})
			if code := factory.ExitCode(err); code != tt.wantCode {
				t.Fatalf("config %s = %v (exit %d), want exit %d", tt.action, err, code, tt.wantCode)
			}
			got := out.String() + errOut.String()
			if err != nil {
				got += "error: " + err.Error() + "\n"
			}
			if strings.Contains(got, sentinel) {
				t.Errorf("config %s shows a value:\n%s", tt.action, got)
			}
			// Written to a golden file: the backend's description holds a
			// temporary path.
			got = strings.ReplaceAll(got, f.Describe(), "BACKEND")
			got = strings.ReplaceAll(got, f.Values.(*appconfig.File).Secrets.Path, "SECRETS")
			backendtest.Golden(t, tt.name, []byte(got), *update)
		})
	}
}

func TestCheckNamesEveryMissingVariable(t *testing.T) {
	f := fake(t)
	io, _, _ := backendtest.IO()
	err := run(context.Background(), &Options{IO: io, Backend: f.Open, Action: "check", Envs: []string{"production"}, Manifest: "testdata/slipway.yaml"})
	var re *appconfig.ResolveError
	if !errors.As(err, &re) {
		t.Fatalf("check = %v, want *ResolveError", err)
	}
	for _, want := range []string{"SENTRY_DSN (from ssm:/shop/production/sentry-dsn)", "slipway local secret set /shop/production/sentry-dsn"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("check error does not say %q:\n%v", want, err)
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     Options
		wantCode int
	}{
		{name: "check", args: []string{"check", "--env", "staging"}, want: Options{Action: "check", Envs: []string{"staging"}, Manifest: "slipway.yaml"}},
		{name: "diff", args: []string{"diff", "--env", "staging", "--env", "production", "--json", "--manifest", "x.yaml"},
			want: Options{Action: "diff", Envs: []string{"staging", "production"}, Manifest: "x.yaml", JSON: true}},
		{name: "check without env", args: []string{"check"}, wantCode: factory.ExitUsage},
		{name: "diff of one", args: []string{"diff", "--env", "staging"}, wantCode: factory.ExitUsage},
		{name: "diff of the same", args: []string{"diff", "--env", "staging", "--env", "staging"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *Options
			cmd := NewCmdConfig(&factory.Factory{IO: io}, func(o *Options) error { got = o; return nil })
			if code := backendtest.Execute(cmd, tt.args...); code != tt.wantCode {
				t.Fatalf("config %v: exit %d, want %d", tt.args, code, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			if got.Action != tt.want.Action || strings.Join(got.Envs, ",") != strings.Join(tt.want.Envs, ",") || got.Manifest != tt.want.Manifest || got.JSON != tt.want.JSON {
				t.Errorf("config %v: options %+v, want %+v", tt.args, *got, tt.want)
			}
		})
	}
}

// publish builds a bundle of testdata/slipway.yaml as version and puts it
// in f's release store.
func publish(t *testing.T, f *backendtest.Fake, version string) {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile("testdata/slipway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "slipway.yaml"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "shop"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Build(&buf, dir, version); err != nil {
		t.Fatal(err)
	}
	f.Published[version] = buf.Bytes()
}

// TestCheckReadsAPublishedRelease: --version reads the manifest of a
// published release; with neither flag and no slipway.yaml, the release
// the environment serves; an unknown release or nothing to read is a usage
// error that says what to do.
func TestCheckReadsAPublishedRelease(t *testing.T) {
	ctx := context.Background()
	f := fake(t)
	publish(t, f, "v7")
	nowhere := filepath.Join(t.TempDir(), "slipway.yaml")
	check := func(o Options) (string, error) {
		io, out, errOut := backendtest.IO()
		o.IO, o.Backend, o.Action, o.Envs = io, f.Open, "check", []string{"staging"}
		err := run(ctx, &o)
		got := out.String() + errOut.String()
		if err != nil {
			got += "error: " + err.Error() + "\n"
			var e *factory.ExitError
			if errors.As(err, &e) {
				got += "hint: " + e.Hint + "\n"
			}
		}
		if strings.Contains(got, sentinel) {
			t.Errorf("config check shows a value:\n%s", got)
		}
		return got, err
	}

	got, err := check(Options{Version: "v7", Manifest: nowhere})
	if err != nil || !strings.Contains(got, "shop/staging: 7 variables from release v7,") || !strings.Contains(got, "every required variable resolves") {
		t.Errorf("check --version v7 = %v:\n%s", err, got)
	}

	got, err = check(Options{Version: "v8", Manifest: nowhere})
	if factory.ExitCode(err) != factory.ExitUsage || !strings.Contains(got, "v8") {
		t.Errorf("check --version v8 (unpublished) = %v (exit %d), want a usage error naming v8:\n%s", err, factory.ExitCode(err), got)
	}

	got, err = check(Options{Manifest: nowhere})
	if factory.ExitCode(err) != factory.ExitUsage || !strings.Contains(got, "nothing serves staging yet") || !strings.Contains(got, "--version") {
		t.Errorf("check with nothing to read = %v (exit %d), want a usage error pointing at --version:\n%s", err, factory.ExitCode(err), got)
	}

	d := ledger.Deployment{ID: "dep-v7", App: "shop", Environment: "staging", Version: "v7", Kind: contract.KindDeploy,
		Status: contract.StatusSucceeded, StartedAt: time.Now(), SchemaBefore: -1, SchemaAfter: -1}
	if err := f.Store.PutDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err = check(Options{Manifest: nowhere})
	if err != nil || !strings.Contains(got, "from release v7 (what staging serves)") {
		t.Errorf("check with v7 serving = %v:\n%s", err, got)
	}

	got, err = check(Options{Manifest: nowhere, ManifestSet: true})
	if factory.ExitCode(err) != factory.ExitUsage || !strings.Contains(got, "--manifest FILE") {
		t.Errorf("check --manifest MISSING = %v (exit %d), want a usage error:\n%s", err, factory.ExitCode(err), got)
	}
}

// TestCheckManifestThatDoesNotParse names the file once, with the line,
// column and key of each problem, and exits 2.
func TestCheckManifestThatDoesNotParse(t *testing.T) {
	f := fake(t)
	file := filepath.Join(t.TempDir(), "slipway.yaml")
	if err := os.WriteFile(file, []byte("app: shop\nservice: {start: bin/shop}\nhealth:\n  pth: /x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	io, _, _ := backendtest.IO()
	err := run(context.Background(), &Options{IO: io, Backend: f.Open, Action: "check", Envs: []string{"production"}, Manifest: file})
	if code := outcome.Code(err); code != factory.ExitUsage {
		t.Errorf("check = exit %d (%v), want %d", code, err, factory.ExitUsage)
	}
	if want := file + ":4:3: health.pth: unknown key"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("check = %v, want %q", err, want)
	}
}
