package scripts_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hostRun is one run of the host script.
type hostRun struct {
	exit   int
	stdout string
	stderr string
}

// runHost runs slipway-host.sh with args and env (plus PATH).
func runHost(t *testing.T, env []string, args ...string) hostRun {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"slipway-host.sh"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := hostRun{stdout: stdout.String(), stderr: stderr.String()}
	if exitErr := (*exec.ExitError)(nil); errors.As(err, &exitErr) {
		r.exit = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// lastJSON decodes the last line of stdout.
func lastJSON(t *testing.T, stdout string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("last stdout line %q: %v", lines[len(lines)-1], err)
	}
	return got
}

// TestHostScriptWithoutApp runs the host script on roots where it fails or
// reports before any app is involved.
func TestHostScriptWithoutApp(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		noRoot     bool
		hostEnv    string
		previous   string
		wantExit   int
		wantStderr string
		wantReport map[string]any // the last stdout line; nil to skip
	}{
		{
			name: "no SLIPWAY_ROOT", args: []string{"status"}, noRoot: true,
			wantExit: 2, wantStderr: "SLIPWAY_ROOT is not set",
		},
		{
			name: "no action", wantExit: 2, wantStderr: "usage:",
		},
		{
			name: "unknown action", args: []string{"restart"},
			wantExit: 2, wantStderr: "unknown action 'restart'",
		},
		{
			name: "activate without a checksum", args: []string{"activate", "v1", "/tmp/x.tar.gz"}, hostEnv: "PORT=8080\n",
			wantExit: 2, wantStderr: "activate takes VERSION ARTIFACT SHA256",
		},
		{
			name: "activate an invalid version", args: []string{"activate", "../v1", "/tmp/x.tar.gz", "ab"}, hostEnv: "PORT=8080\n",
			wantExit: 2, wantStderr: "invalid version",
		},
		{
			name: "activate without PORT", args: []string{"activate", "v1", "/tmp/x.tar.gz", "ab"},
			wantExit: 2, wantStderr: "PORT must be set",
		},
		{
			name: "bad service mode", args: []string{"status"}, hostEnv: "SLIPWAY_SERVICE_MODE=upstart\n",
			wantExit: 2, wantStderr: "SLIPWAY_SERVICE_MODE must be systemd or process",
		},
		{
			name: "activate a missing artifact", args: []string{"activate", "v1", "/nonexistent/v1.tar.gz", "AB12"}, hostEnv: "PORT=8080\n",
			wantExit:   3,
			wantStderr: "expected sha256 ab12, actual: none",
			wantReport: map[string]any{"action": "activate", "version": "v1", "current": "", "previous": "", "changed": false, "restarted": false,
				"error": "artifact /nonexistent/v1.tar.gz not found (expected sha256 ab12, actual: none)", "exit_code": 3.0},
		},
		{
			name: "rollback with nothing recorded", args: []string{"rollback"}, hostEnv: "PORT=8080\n",
			wantExit: 7, wantStderr: "no previous release recorded",
		},
		{
			name: "rollback to a release not on the host", args: []string{"rollback"}, hostEnv: "PORT=8080\n", previous: "v0\n",
			wantExit: 7, wantStderr: "release v0 is not on this host (pruned?)",
		},
		{
			name: "prune keeping none", args: []string{"prune", "0"},
			wantExit: 2, wantStderr: "KEEP must be a number of at least 2",
		},
		{
			name: "status of an empty root", args: []string{"status"},
			hostEnv:    "# comment\n\nexport PORT='8080'\nnot a setting\n",
			wantStderr: "ignoring line without '='",
			wantReport: map[string]any{"action": "status", "current": "", "previous": "", "releases": []any{}, "root": "ROOT",
				"sha256": "", "serving": "", "healthy": false, "health": "no release is current", "busy": false},
		},
		{
			name: "prune an empty root", args: []string{"prune"},
			wantReport: map[string]any{"action": "prune", "keep": 5.0, "removed": []any{}, "kept": []any{},
				"current": "", "previous": "", "changed": false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.hostEnv != "" {
				if err := os.WriteFile(filepath.Join(root, "host.env"), []byte(tt.hostEnv), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.previous != "" {
				if err := os.WriteFile(filepath.Join(root, "previous"), []byte(tt.previous), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var env []string
			if !tt.noRoot {
				env = append(env, "SLIPWAY_ROOT="+root)
			}
			r := runHost(t, env, tt.args...)
			if r.exit != tt.wantExit {
				t.Errorf("slipway-host.sh %s exit = %d, want %d; stderr:\n%s", strings.Join(tt.args, " "), r.exit, tt.wantExit, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr does not mention %q:\n%s", tt.wantStderr, r.stderr)
			}
			if tt.wantReport == nil {
				return
			}
			got := lastJSON(t, r.stdout)
			if got["root"] == root {
				got["root"] = "ROOT"
			}
			if diff := cmp.Diff(tt.wantReport, got); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
		})
	}
}

// bundle writes a tar.gz holding only release.env to dir and returns its
// path and SHA-256.
func bundle(t *testing.T, dir, name, releaseEnv string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "release.env", Mode: 0o644, Size: int64(len(releaseEnv))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(releaseEnv)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return path, hex.EncodeToString(sum[:])
}

// TestHostScriptSystemdMode activates releases in systemd mode, where the
// restart is the release's SLIPWAY_RESTART (true or false here, no real
// unit) and the health endpoint is a test server.
func TestHostScriptSystemdMode(t *testing.T) {
	tests := []struct {
		name       string
		restart    string // SLIPWAY_RESTART; empty for none
		answer     int
		body       string
		wantExit   int
		wantStderr string
	}{
		{name: "healthy", restart: "true", answer: 200, body: `{"status":"ok","version": "v1"}`, wantExit: 0, wantStderr: "healthy:"},
		{name: "restart fails", restart: "false", answer: 200, body: `{"version":"v1"}`, wantExit: 5, wantStderr: "restart of release v1 failed"},
		{name: "nothing to restart", answer: 200, body: `{"version":"v1"}`, wantExit: 5, wantStderr: "neither SLIPWAY_RESTART"},
		{name: "unexpected status", restart: "true", answer: 503, body: `{"version":"v1"}`, wantExit: 6, wantStderr: "last answered 503"},
		{name: "another version", restart: "true", answer: 200, body: `{"version":"v10"}`, wantExit: 6, wantStderr: `body: {"version":"v10"}`},
		{name: "version as a substring", restart: "true", answer: 200, body: `{"app_version":"v1"}`, wantExit: 6, wantStderr: "not healthy after 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/ready" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tt.answer)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			root, dir := t.TempDir(), t.TempDir()
			hostEnv := "SLIPWAY_SERVICE_MODE=systemd\nPORT=" + port + "\n"
			if err := os.WriteFile(filepath.Join(root, "host.env"), []byte(hostEnv), 0o644); err != nil {
				t.Fatal(err)
			}
			releaseEnv := "SLIPWAY_VERSION=v1\nSLIPWAY_HEALTH_PATH=/ready\nSLIPWAY_HEALTH_TIMEOUT=1\n"
			if tt.restart != "" {
				releaseEnv += "SLIPWAY_RESTART=" + tt.restart + "\n"
			}
			artifact, sum := bundle(t, dir, "v1", releaseEnv)

			r := runHost(t, []string{"SLIPWAY_ROOT=" + root}, "activate", "v1", artifact, sum)
			if r.exit != tt.wantExit {
				t.Errorf("activate exit = %d, want %d; stderr:\n%s", r.exit, tt.wantExit, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr does not mention %q:\n%s", tt.wantStderr, r.stderr)
			}
			got := lastJSON(t, r.stdout)
			want := map[string]any{"action": "activate", "version": "v1", "previous": "", "current": "v1", "changed": true, "restarted": true}
			if tt.wantExit != 0 {
				want["exit_code"] = float64(tt.wantExit)
				want["error"] = got["error"]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			link, err := os.Readlink(filepath.Join(root, "current"))
			if err != nil || link != "releases/v1" {
				t.Errorf("current -> %q (%v), want releases/v1 whatever the outcome", link, err)
			}
		})
	}
}

// TestHostScriptStopTimeoutMustBeSeconds: a stop timeout that is not a
// number of seconds is refused before anything restarts.
func TestHostScriptStopTimeoutMustBeSeconds(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	hostEnv := "SLIPWAY_SERVICE_MODE=process\nPORT=1\nSLIPWAY_STOP_TIMEOUT=10s\n"
	if err := os.WriteFile(filepath.Join(root, "host.env"), []byte(hostEnv), 0o644); err != nil {
		t.Fatal(err)
	}
	artifact, sum := bundle(t, dir, "v1", "SLIPWAY_VERSION=v1\nSLIPWAY_START=true\n")
	r := runHost(t, []string{"SLIPWAY_ROOT=" + root}, "activate", "v1", artifact, sum)
	if r.exit != 2 || !strings.Contains(r.stderr, "SLIPWAY_STOP_TIMEOUT must be a number of seconds, not '10s'") {
		t.Errorf("activate with SLIPWAY_STOP_TIMEOUT=10s: exit %d, stderr:\n%s\nwant exit 2 naming the setting", r.exit, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "app.pid")); err == nil {
		t.Error("an app was started despite the bad setting")
	}
}
