package local

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

const sentinel = "s3ntinel-Local-7d1"

// TestSecretSetAndList runs local init, secret set (stdin and
// --from-file) and secret list on a real embedded environment: init
// creates the fingerprint key and the demo's tokens, set writes the value
// and never prints it, a value on the command line is refused.
func TestSecretSetAndList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	run := func(stdin string, args ...string) (int, string) {
		t.Helper()
		io, out, errOut := backendtest.IO()
		io.In = strings.NewReader(stdin)
		cmd := NewCmdLocal(&factory.Factory{IO: io}, nil)
		code := backendtest.Execute(cmd, args...)
		return code, out.String() + errOut.String()
	}
	if code, out := run("", "init", "--dir", dir, "--env", "staging,production", "--instances", "1", "--balancer=false"); code != 0 {
		t.Fatalf("local init = %d:\n%s", code, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if key, _ := file[appconfig.KeySecretName("demo")].(string); len(key) != 64 {
		t.Errorf("init's fingerprint key %s = %q, want 32 random bytes in hex", appconfig.KeySecretName("demo"), key)
	}
	for _, env := range []string{"staging", "production"} {
		if tok, _ := file[localenv.DemoTokenSecret(env)].(string); len(tok) != 48 {
			t.Errorf("init's %s = %q, want 24 random bytes in hex", localenv.DemoTokenSecret(env), tok)
		}
	}

	code, out := run(sentinel+"\n", "secret", "set", "demo/staging/api", "--dir", dir)
	if code != 0 || !strings.Contains(out, "secret demo/staging/api set") || strings.Contains(out, sentinel) {
		t.Errorf("secret set from stdin = %d, %q", code, out)
	}
	valueFile := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(valueFile, []byte(`{"token":"`+sentinel+`"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run("", "secret", "set", "/demo/production/api", "--from-file", valueFile, "--dir", dir); code != 0 || strings.Contains(out, sentinel) {
		t.Errorf("secret set --from-file = %d, %q", code, out)
	}
	env, err := localenv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	s := &appconfig.File{Secrets: env.Secrets}
	if v, err := s.Secret(t.Context(), "demo/staging/api"); err != nil || v.Reveal() != sentinel {
		t.Errorf("the secret set from stdin reads %q, %v; want the value without its newline", v.Reveal(), err)
	}
	if v, err := s.Parameter(t.Context(), "/demo/production/api"); err != nil || v.Reveal() != `{"token":"`+sentinel+`"}` {
		t.Errorf("the parameter set from a file reads %q, %v", v.Reveal(), err)
	}
	if fi, err := os.Stat(env.Secrets.Path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	code, out = run("", "secret", "list", "--dir", dir)
	want := []string{"/demo/production/api", "demo/production/api-token", "demo/staging/api", "demo/staging/api-token", "slipway/demo/config-key",
		"slipway/demo/production/database", "slipway/demo/staging/database"}
	if d := cmp.Diff(want, strings.Fields(out)); code != 0 || d != "" {
		t.Errorf("secret list = %d (-want +got):\n%s", code, d)
	}
	if strings.Contains(out, sentinel) {
		t.Errorf("secret list shows a value:\n%s", out)
	}

	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{name: "value on the command line", args: []string{"secret", "set", "demo/x", sentinel}},
		{name: "empty value", stdin: "\n", args: []string{"secret", "set", "demo/x"}},
		{name: "no name", args: []string{"secret", "set"}},
		{name: "missing file", args: []string{"secret", "set", "demo/x", "--from-file", filepath.Join(dir, "nope")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, out := run(tt.stdin, append(tt.args, "--dir", dir)...); code != factory.ExitUsage || strings.Contains(out, sentinel) {
				t.Errorf("local %v = %d, %q; want a usage error that does not repeat the value", tt.args, code, out)
			}
		})
	}
}
