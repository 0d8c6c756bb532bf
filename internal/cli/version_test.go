package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/version"
)

// TestVersion: `slipway version` and `slipway --version` print the same
// text, from this binary's build information, and exit 0 without opening
// a backend.
func TestVersion(t *testing.T) {
	want := version.Current().Text()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := &factory.Factory{IO: &factory.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}}
			if code := Run(context.Background(), f, args); code != factory.ExitOK {
				t.Fatalf("slipway %s = exit %d, stderr %q", strings.Join(args, " "), code, errOut.String())
			}
			if out.String() != want {
				t.Errorf("slipway %s printed %q, want %q", strings.Join(args, " "), out.String(), want)
			}
			if !strings.HasPrefix(out.String(), "slipway ") || !strings.Contains(out.String(), "\ngo       go1.") {
				t.Errorf("slipway %s printed %q, want the version and the Go version", strings.Join(args, " "), out.String())
			}
		})
	}
}
