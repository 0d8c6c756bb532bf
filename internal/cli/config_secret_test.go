package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/scenario"
)

// configSecretManifest declares a greeting (an SSM parameter) and a
// secret token (a Secrets Manager secret); on the embedded environment
// both come from the local secrets file.
const configSecretManifest = `app: demo
service: {start: bin/demo-app, unit: demo-app}
health: {path: /healthz, successes: 1, interval: 1s, timeout: 4s}
rollout: {waves: [1, "100%"], poll_interval: 1s}
keep_releases: 3
config:
  GREETING:
    description: what /greeting answers
    values: {staging: "ssm:/demo/staging/greeting", production: "ssm:/demo/production/greeting"}
  API_TOKEN:
    secret: true
    values: {staging: "secret:demo/staging/api-token", production: "secret:demo/production/api-token"}
`

// TestConfigValuesNeverShown deploys releases with configuration on the
// embedded environment through the command line (a deploy, a deploy with
// a new value, a configuration-only deploy, a rollback), with config
// check, config diff and plan along the way, then runs every command that
// prints what happened, text and JSON. No value, secret or not, may appear
// in any output, nor anywhere under the state directory except the
// secrets file and the hosts' environment files.
func TestConfigValuesNeverShown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds releases and runs real processes")
	}
	const secretValue, plainValue, plainValue2 = "s3ntinel-TOKEN-91e2", "s3ntinel-GREETING-77a0", "s3ntinel-GREETING-2-c4d1"
	dir := stateDir(t)
	var outputs []string
	run := func(want int, args ...string) string {
		t.Helper()
		out := must(t, want, dir, args...)
		outputs = append(outputs, "$ slipway "+strings.Join(args, " ")+"\n"+out)
		return out
	}
	run(0, "local", "init", "--dir", dir, "--app", "demo", "--env", "staging,production", "--instances", "2", "--balancer=false")
	work := t.TempDir()
	for _, v := range []string{"c1", "c2"} {
		b, err := scenario.BuildRelease(context.Background(), filepath.Join("..", "..", "examples", "demo-app"), v, filepath.Join(work, "build"),
			scenario.BuildOptions{Manifest: []byte(configSecretManifest), From: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(work, v+".tar.gz")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		run(0, "release", "publish", file, "--version", v)
	}
	secretFile := filepath.Join(work, "token")
	if err := os.WriteFile(secretFile, []byte(secretValue), 0o600); err != nil {
		t.Fatal(err)
	}
	run(0, "local", "secret", "set", "demo/staging/api-token", "--from-file", secretFile)
	run(0, "local", "secret", "set", "demo/production/api-token", "--from-file", secretFile)
	greeting := func(v string) {
		t.Helper()
		f := filepath.Join(work, "greeting")
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		run(0, "local", "secret", "set", "/demo/staging/greeting", "--from-file", f)
	}
	greeting(plainValue)

	// production's greeting is missing: check refuses, naming it.
	if out := run(factory.ExitRefused, "config", "check", "--env", "production", "--version", "c1"); !strings.Contains(out, "GREETING") {
		t.Errorf("config check of production does not name GREETING:\n%s", out)
	}
	run(0, "config", "check", "--env", "staging", "--version", "c1", "--json")
	run(0, "config", "diff", "--env", "staging", "--env", "production", "--version", "c1")
	run(0, "config", "diff", "--env", "staging", "--env", "production", "--version", "c1", "--json")
	run(0, "plan", "--env", "staging", "--version", "c1", "--json")
	run(0, "deploy", "--env", "staging", "--version", "c1")
	greeting(plainValue2)
	run(0, "plan", "--env", "staging", "--version", "c2")
	run(0, "deploy", "--env", "staging", "--version", "c2")
	greeting(plainValue)
	run(0, "deploy", "--env", "staging", "--version", "c2", "--config-only")
	run(0, "rollback", "--env", "staging", "--to", "c1")
	run(0, "config", "check", "--env", "staging")

	run(0, "history", "--env", "staging")
	run(0, "history", "--json")
	run(0, "status")
	run(0, "status", "--json")
	var hist []map[string]any
	if err := json.Unmarshal([]byte(run(0, "history", "--env", "staging", "--json")), &hist); err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		id, _ := h["id"].(string)
		if id == "" {
			id, _ = h["deployment_id"].(string)
		}
		run(0, "show", id)
		run(0, "show", id, "--json")
		run(0, "logs", id)
	}
	if len(outputs) < 25 {
		t.Fatalf("only %d commands ran: the history listed too few deployments", len(outputs))
	}
	all := strings.Join(outputs, "\n")
	for _, v := range []string{secretValue, plainValue, plainValue2} {
		if strings.Contains(all, v) {
			i := strings.Index(all, v)
			t.Errorf("a configuration value (%s) is in the command output:\n%s", v, all[max(0, i-600):min(len(all), i+200)])
		}
	}
	if !strings.Contains(all, "hmac-sha256:") {
		t.Errorf("no command printed a configuration fingerprint: the test no longer sees the configuration")
	}

	// On disk: only the secrets file and the hosts' environment files.
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&os.ModeSymlink != 0 {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "secrets.json" || (strings.Contains(rel, "/config/") && strings.HasSuffix(rel, ".env")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range []string{secretValue, plainValue, plainValue2} {
			if strings.Contains(string(b), v) {
				t.Errorf("a configuration value (%s) is in %s", v, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
