package hostconfig

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/secret"
)

const sentinel = "s3ntinel-host-7c1"

const testManifest = `app: demo
service: {start: bin/app}
config:
  GREETING: {default: hello}
  API_TOKEN:
    secret: true
    values: {staging: "secret:demo/staging/api#token"}
`

func setup(t *testing.T) (release string, store *appconfig.File, fp string) {
	t.Helper()
	release = t.TempDir()
	if err := os.WriteFile(filepath.Join(release, "slipway.yaml"), []byte(testManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &secret.File{Path: filepath.Join(t.TempDir(), "secrets.json")}
	for k, v := range map[string]string{
		"demo/staging/api":              `{"token":"` + sentinel + `"}`,
		appconfig.KeySecretName("demo"): "0123456789abcdef-key",
	} {
		if err := f.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	vals := appconfig.Values{"GREETING": secret.NewValue("hello"), "API_TOKEN": secret.NewValue(sentinel)}
	return release, &appconfig.File{Secrets: f}, appconfig.Fingerprint([]byte("0123456789abcdef-key"), vals)
}

func TestResolverMain(t *testing.T) {
	release, store, fp := setup(t)
	tests := []struct {
		name       string
		env        string
		fp         string
		drop       string // a secret removed from the store first
		wantExit   int
		wantStderr string
	}{
		{name: "resolves and writes", env: "staging", fp: fp, wantExit: ExitOK, wantStderr: "wrote the configuration of staging"},
		{name: "changed since preflight", env: "staging", fp: "hmac-sha256:00000000000000000000000000000000", wantExit: ExitChanged, wantStderr: "changed since the deployment checked it"},
		{name: "a required variable without a value", env: "production", fp: fp, wantExit: ExitFailed, wantStderr: "API_TOKEN: required, and no value for production"},
		{name: "no key", env: "staging", fp: fp, drop: appconfig.KeySecretName("demo"), wantExit: ExitFailed, wantStderr: "fingerprint key slipway/demo/config-key"},
		{name: "usage", fp: fp, wantExit: ExitUsage, wantStderr: "needs --release, --env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := store
			if tt.drop != "" {
				b, _ := os.ReadFile(store.Secrets.Path)
				path := filepath.Join(t.TempDir(), "secrets.json")
				if err := os.WriteFile(path, bytes.ReplaceAll(b, []byte(`"`+tt.drop+`"`), []byte(`"other"`)), 0o600); err != nil {
					t.Fatal(err)
				}
				s = &appconfig.File{Secrets: &secret.File{Path: path}}
			}
			out := filepath.Join(t.TempDir(), "app.env")
			var stderr bytes.Buffer
			args := []string{"resolve", "--release", release, "--fingerprint", tt.fp, "--out", out}
			if tt.env != "" {
				args = append(args, "--env", tt.env)
			}
			if got := Main(context.Background(), args, &stderr, s); got != tt.wantExit {
				t.Errorf("Main() = %d, want %d; stderr: %s", got, tt.wantExit, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantStderr)
			}
			if strings.Contains(stderr.String(), sentinel) {
				t.Errorf("stderr shows the secret: %s", stderr.String())
			}
			fi, err := os.Stat(out)
			if tt.wantExit != ExitOK {
				if err == nil {
					t.Errorf("%s written after a failure", out)
				}
				return
			}
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("stat %s: %v; want mode 0600", out, err)
			}
			b, _ := os.ReadFile(out)
			for _, line := range []string{"API_TOKEN='" + sentinel + "'\n", "GREETING='hello'\n"} {
				if !strings.Contains(string(b), line) {
					t.Errorf("%s lacks %q:\n%s", out, line, b)
				}
			}
		})
	}
}
