package scripts_test

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"github.com/slipway-deploy/slipway/scripts"
)

func TestHostScriptEmbedded(t *testing.T) {
	b, err := os.ReadFile("slipway-host.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, scripts.HostScript) {
		t.Errorf("HostScript differs from slipway-host.sh")
	}
}

// TestShellcheck runs shellcheck on the host script. CI must have it
// (apt-get install shellcheck); elsewhere the test is skipped without it.
func TestShellcheck(t *testing.T) {
	path, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("shellcheck is not installed: CI must install it (apt-get install -y shellcheck)")
		}
		t.Skip("shellcheck is not installed")
	}
	out, err := exec.Command(path, "-s", "sh", "slipway-host.sh").CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck -s sh slipway-host.sh = %v:\n%s", err, out)
	}
}
