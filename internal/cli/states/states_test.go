package states

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

func TestStatesRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pass.asl.json")
	if err := os.WriteFile(path, []byte(`{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "done", "End": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	f := &factory.Factory{IO: &factory.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: &bytes.Buffer{}}}
	cmd := NewCmdStates(f)
	cmd.SetArgs([]string{"run", "--definition", path})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("states run: %v", err)
	}
	if want := "{\n  \"status\": \"SUCCEEDED\",\n  \"output\": \"done\"\n}\n"; out.String() != want {
		t.Errorf("states run printed %q, want %q", out.String(), want)
	}
}
