package configcmd

import (
	"context"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
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
