package localenv

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/statemachine"
)

// TestSecretNeverLeaks runs deployments whose database secret holds a
// sentinel password, in ways that fail while using it, and checks that the
// sentinel appears nowhere: not in the execution's output, error, cause or
// history, not in the log, and not in the ledger file.
func TestSecretNeverLeaks(t *testing.T) {
	const sentinel = "hunter2-s3ntinel-Pa55"
	secrets := map[string]string{
		// A reachable server that refuses the database: the driver's error text is shown.
		"postgres, wrong database": `{"engine":"postgres","host":"127.0.0.1","port":5432,"username":"slipway_nobody","password":"` + sentinel + `","dbname":"slipway_no_such_db"}`,
		// Nothing listens there: a connection error.
		"mysql, nothing listening": `{"engine":"mysql","host":"127.0.0.1","port":1,"username":"root","password":"` + sentinel + `","dbname":"x"}`,
		// Not JSON at all: the parser must not quote it.
		"malformed secret": `{"engine":"postgres","password":"` + sentinel + `", oops`,
		// A secret that is only the password.
		"bare value": sentinel,
	}
	for name, value := range secrets {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			var logs bytes.Buffer
			env.Deps.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			if err := env.Secrets.Put(env.Config.Environments["staging"].DatabaseSecret, value); err != nil {
				t.Fatal(err)
			}
			publish(t, env, "v1")
			in, _ := json.Marshal(contract.DeployRequest{App: "demo", Environment: "staging", Version: "v1"})
			exec, err := env.Run(context.Background(), "deploy", statemachine.Deploy, in, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if exec.Status != "FAILED" {
				t.Fatalf("execution = %s, want FAILED (the database cannot be used)", exec.Status)
			}
			history, _ := json.Marshal(exec.History)
			places := map[string]string{
				"output": string(exec.Output), "error": exec.Error, "cause": exec.Cause,
				"history": string(history), "log": logs.String(),
			}
			env.Ledger.Close()
			for _, f := range []string{"ledger.db", "ledger.db-wal"} {
				b, _ := os.ReadFile(filepath.Join(env.Root, f))
				places[f] = string(b)
			}
			for where, text := range places {
				if strings.Contains(text, sentinel) {
					t.Errorf("the secret value appears in the %s", where)
				}
			}
			if !strings.Contains(exec.Cause, "database") && !strings.Contains(exec.Cause, "secret") {
				t.Errorf("cause = %q, want it to say what is wrong with the database or its secret", exec.Cause)
			}
		})
	}
}
