package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

// TestCompletion asks the real root command for completions, as the shell
// scripts cobra generates do (slipway __complete ARGS...), against a ledger
// with a history.
func TestCompletion(t *testing.T) {
	fake := backendtest.New(t)
	backendtest.Seed(t, fake)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"environments of --env", []string{"deploy", "--env", ""}, []string{"production", "staging"}},
		{"environments by prefix", []string{"status", "--env", "st"}, []string{"staging"}},
		{"promote --to", []string{"promote", "--from", "staging", "--to", ""}, []string{"production", "staging"}},
		// Newest first: the rollback to v1 is the newest deployment.
		{"versions deployed", []string{"deploy", "--env", "staging", "--version", ""}, []string{"v1", "v2"}},
		{"rollback --to takes a version", []string{"rollback", "--env", "staging", "--to", "v2"}, []string{"v2"}},
		{"deployment ids, newest first, with their status", []string{"show", "staging-"}, []string{
			backendtest.StagingBack + "\tROLLED_BACK", backendtest.StagingV2 + "\tROLLED_BACK", backendtest.StagingV1 + "\tSUCCEEDED"}},
		{"logs takes one id", []string{"logs", backendtest.StagingV1, ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, out, errOut := backendtest.IO()
			code := Run(context.Background(), &factory.Factory{IO: io, Backend: fake.Open}, append([]string{"__complete"}, tt.args...))
			if code != 0 {
				t.Fatalf("__complete %v = exit %d\n%s", tt.args, code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
				t.Fatalf("__complete %v printed no directive:\n%s", tt.args, out)
			}
			got := lines[:len(lines)-1]
			if len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("__complete %v mismatch (-want +got):\n%s", tt.args, diff)
			}
			if strings.Contains(errOut.String(), "target:") {
				t.Errorf("__complete %v printed the target line:\n%s", tt.args, errOut)
			}
		})
	}
}
