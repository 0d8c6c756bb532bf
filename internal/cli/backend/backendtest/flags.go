package backendtest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
)

// Execute runs cmd with args and returns the exit code the CLI would give.
func Execute(cmd *cobra.Command, args ...string) int {
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	return outcome.Code(cmd.Execute())
}

// IgnoreDeps leaves the injected dependencies of Options structs (IO,
// Backend, Now) out of a comparison.
var IgnoreDeps = cmp.FilterPath(func(p cmp.Path) bool {
	switch p.Last().String() {
	case ".IO", ".Backend", ".Now", ".TargetFlags":
		return true
	}
	return false
}, cmp.Ignore())

// IO returns streams that write to buffers.
func IO() (*factory.IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &factory.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}, out, errOut
}

// Golden compares got with testdata/name, or rewrites the file when update
// is set (each package's tests define an -update flag).
func Golden(t testing.TB, name string, got []byte, update bool) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}
