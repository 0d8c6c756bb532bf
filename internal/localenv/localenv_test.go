package localenv

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/statemachine"
)

func newEnv(t *testing.T) *Env {
	t.Helper()
	env, err := Init(filepath.Join(t.TempDir(), "state"), Options{App: "demo", Instances: 2})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { env.Stop(context.Background()) })
	return env
}

// publish publishes a release whose app never starts (bin/app is missing),
// which is enough for refusals that happen before any activation.
func publish(t *testing.T, env *Env, version string) []byte {
	t.Helper()
	return publishManifest(t, env, version, "app: demo\nservice: {start: bin/app}\n")
}

// publishManifest publishes a release with the manifest given.
func publishManifest(t *testing.T, env *Env, version, manifest string) []byte {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte(manifest), 0o644)
	var buf bytes.Buffer
	if _, err := bundle.Build(&buf, dir, version); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Artifacts.Publish(context.Background(), "demo", version, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRefusals checks that bad input ends the run FAILED with an error that
// says what is wrong, with a ledger record, nothing changed and no lease
// left behind.
func TestRefusals(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		setup     func(t *testing.T, env *Env)
		wantCause []string
	}{
		{name: "malformed request", input: `{"app":"demo","env":"staging","version":2}`,
			wantCause: []string{`unknown field "env"`, `a valid request looks like`}},
		{name: "wrong type", input: `{"app":"demo","environment":"staging","version":2}`,
			wantCause: []string{`field "version": want string, got number`}},
		{name: "missing fields", input: `{"app":"demo"}`,
			wantCause: []string{"missing environment, version"}},
		{name: "unknown environment", input: `{"app":"demo","environment":"prod","version":"v1"}`,
			wantCause: []string{`environment "prod" is not configured`, "known environments are staging"}},
		{name: "unknown app", input: `{"app":"shop","environment":"staging","version":"v1"}`,
			wantCause: []string{`app "shop" is not managed here`}},
		{name: "unknown release", input: `{"app":"demo","environment":"staging","version":"v9"}`,
			wantCause: []string{"release v9 of demo is not published", "slipway release publish"}},
		{name: "tampered release", input: `{"app":"demo","environment":"staging","version":"v1"}`,
			setup: func(t *testing.T, env *Env) {
				publish(t, env, "v1")
				p := filepath.Join(env.Artifacts.Root, "demo", "v1.tar.gz")
				b, _ := os.ReadFile(p)
				b[len(b)/2] ^= 0xff
				os.WriteFile(p, b, 0o644)
			},
			wantCause: []string{"checksum mismatch", "publish it again"}},
		// The configuration is checked before the lock: a required
		// variable with no value for the environment, and a secret that is
		// not in the secrets file, are both named with where they should
		// come from.
		{name: "missing configuration", input: `{"app":"demo","environment":"staging","version":"v1"}`,
			setup: func(t *testing.T, env *Env) {
				publishManifest(t, env, "v1", `app: demo
service: {start: bin/app}
config:
  GREETING: {values: {staging: hello}}
  PAYMENT_KEY: {secret: true, values: {staging: "secret:demo/staging/payment"}}
  SUPPORT_EMAIL: {values: {production: help@example.com}}
`)
			},
			wantCause: []string{"configuration for staging: 2 variables do not resolve", "PAYMENT_KEY (from secret:demo/staging/payment)",
				"slipway local secret set demo/staging/payment", "SUPPORT_EMAIL: required, and no value for staging", "config.SUPPORT_EMAIL.values.staging"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t)
			if tt.setup != nil {
				tt.setup(t, env)
			}
			ctx := context.Background()
			exec, err := env.Run(ctx, "deploy", statemachine.Deploy, []byte(tt.input), RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if exec.Status != "FAILED" || exec.Error != "PreflightFailed" {
				t.Fatalf("execution = %s %s, want FAILED PreflightFailed (cause %s)", exec.Status, exec.Error, exec.Cause)
			}
			for _, want := range tt.wantCause {
				if !strings.Contains(exec.Cause, want) {
					t.Errorf("cause = %q, want it to contain %q", exec.Cause, want)
				}
			}
			d, err := env.Ledger.GetDeployment(ctx, exec.Name)
			if err != nil {
				t.Fatalf("no ledger record for the refused run: %v", err)
			}
			if d.Status != contract.StatusFailed || !strings.Contains(d.Cause, tt.wantCause[0]) {
				t.Errorf("ledger record = %s %q, want FAILED with the cause", d.Status, d.Cause)
			}
			if d.Config != nil {
				t.Errorf("ledger record's configuration = %+v, want none (refused)", d.Config)
			}
			if !strings.Contains(d.Summary, "nothing was changed") {
				t.Errorf("summary = %q, want it to say nothing was changed", d.Summary)
			}
			for _, id := range []string{"staging-1", "staging-2"} {
				if v, _ := env.Fleet.Current("staging", id); v != "" {
					t.Errorf("%s has current = %q after a refused deploy, want none", id, v)
				}
			}
			if locks, _ := env.Ledger.Locks(ctx, "demo", "staging"); len(locks) != 0 {
				t.Errorf("locks = %+v, want none", locks)
			}
		})
	}
}

// TestMalformedExecutionInput checks that input that is not JSON is refused
// before the execution starts, naming the offset.
func TestMalformedExecutionInput(t *testing.T) {
	env := newEnv(t)
	_, err := env.Run(context.Background(), "deploy", statemachine.Deploy, []byte(`{"app": "demo",`), RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("Run(truncated JSON) error = %v, want an invalid JSON error", err)
	}
}

// TestLockHeld checks that a second deployment is refused while another
// holds the environment, and that the holder is named.
func TestLockHeld(t *testing.T) {
	env := newEnv(t)
	publish(t, env, "v1")
	ctx := context.Background()
	if err := env.Ledger.Freeze(ctx, "demo", "staging", "grace", "black friday", time.Now()); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(contract.DeployRequest{App: "demo", Environment: "staging", Version: "v1"})
	exec, err := env.Run(ctx, "deploy", statemachine.Deploy, in, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if exec.Error != "LockHeld" || !strings.Contains(exec.Cause, "frozen by grace") || !strings.Contains(exec.Cause, "black friday") {
		t.Errorf("execution = %s %s %q, want LockHeld naming grace and the reason", exec.Status, exec.Error, exec.Cause)
	}
	d, _ := env.Ledger.GetDeployment(ctx, exec.Name)
	if d.Status != contract.StatusFailed {
		t.Errorf("ledger status = %s, want FAILED", d.Status)
	}
	locks, _ := env.Ledger.Locks(ctx, "demo", "staging")
	if len(locks) != 1 || locks[0].Owner != "grace" {
		t.Errorf("locks = %+v, want grace's freeze untouched", locks)
	}
}
