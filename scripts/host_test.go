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
	"sync/atomic"
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
			wantReport: map[string]any{"action": "activate", "version": "v1", "current": "", "previous": "", "changed": false, "restarted": false, "config": "",
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
			hostEnv:    "# comment\n\nexport PORT='8080'\nnot a setting\nSLIPWAY_SIMULATE_DISK_FREE_KB=1024\nSLIPWAY_SIMULATE_INODES_FREE=99\nSLIPWAY_SIMULATE_MEM_AVAILABLE_KB=2048\n",
			wantStderr: "ignoring line without '='",
			wantReport: map[string]any{"action": "status", "current": "", "previous": "", "releases": []any{}, "root": "ROOT",
				"sha256": "", "config": "", "serving": "", "healthy": false, "health": "no release is current", "busy": false,
				"disk_free_kb": 1024.0, "inodes_free": 99.0, "mem_available_kb": 2048.0},
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
			want := map[string]any{"action": "activate", "version": "v1", "previous": "", "current": "v1", "changed": true, "restarted": true, "config": ""}
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

// fakeResolver is a configuration resolver for the host script: it counts
// its runs in DIR/resolved and writes GREETING for two fingerprints, says
// the configuration changed (exit 3) for a third and fails for any other.
const fakeResolver = `#!/bin/sh
dir=$(dirname "$0")
echo run >>"$dir/resolved"
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift ;;
	--fingerprint) fp=$2; shift ;;
	--env) env=$2; shift ;;
	esac
	shift
done
[ "$env" = staging ] || { echo "resolver: wrong environment '$env'" >&2; exit 2; }
case $fp in
hmac-sha256:aaaa) v=s3cret-alpha ;;
hmac-sha256:bbbb) v=s3cret-bravo ;;
hmac-sha256:cccc) echo "resolver: the values have another fingerprint" >&2; exit 3 ;;
*) echo "resolver: API_TOKEN (from secret:x) does not resolve" >&2; exit 1 ;;
esac
printf "GREETING='%s'\n" "$v" >"$out.tmp" && mv "$out.tmp" "$out"
`

// TestHostScriptConfiguration activates and rolls back one release with
// different configurations: each is resolved once, kept in
// releases/V/config (0600), app.env points at the one in use, the restart
// sees its values, a change of configuration alone restarts the release,
// a refused resolution changes nothing, and no value is ever printed.
func TestHostScriptConfiguration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"version":"v1"}`)
	}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	root, dir := t.TempDir(), t.TempDir()
	resolver := filepath.Join(dir, "resolver")
	if err := os.WriteFile(resolver, []byte(fakeResolver), 0o755); err != nil {
		t.Fatal(err)
	}
	hostEnv := "SLIPWAY_SERVICE_MODE=systemd\nPORT=" + port + "\nSLIPWAY_CONFIG_RESOLVER=" + resolver + "\n"
	if err := os.WriteFile(filepath.Join(root, "host.env"), []byte(hostEnv), 0o644); err != nil {
		t.Fatal(err)
	}
	// The restart writes what the app would see.
	artifact, sum := bundle(t, dir, "v1", "SLIPWAY_VERSION=v1\nSLIPWAY_HEALTH_TIMEOUT=2\nSLIPWAY_RESTART=printf '%s' \"$GREETING\" >\"$SLIPWAY_ROOT/seen\"\n")
	runs := func() int {
		b, _ := os.ReadFile(filepath.Join(dir, "resolved"))
		return strings.Count(string(b), "run")
	}
	seen := func() string {
		b, _ := os.ReadFile(filepath.Join(root, "seen"))
		return string(b)
	}
	steps := []struct {
		name          string
		args          []string
		fingerprint   string
		wantExit      int
		wantRestarted bool
		wantConfig    string // the report's and status's "config"
		wantSeen      string
		wantRuns      int // resolver runs so far
		wantStderr    string
	}{
		{name: "first activation", args: []string{"activate", "v1", artifact, sum}, fingerprint: "hmac-sha256:aaaa",
			wantRestarted: true, wantConfig: "hmac-sha256:aaaa", wantSeen: "s3cret-alpha", wantRuns: 1, wantStderr: "resolving the configuration of staging"},
		{name: "same release, same configuration: no-op", args: []string{"activate", "v1", artifact, sum}, fingerprint: "hmac-sha256:aaaa",
			wantConfig: "hmac-sha256:aaaa", wantSeen: "s3cret-alpha", wantRuns: 1, wantStderr: "nothing to change"},
		{name: "configuration only", args: []string{"activate", "v1", artifact, sum}, fingerprint: "hmac-sha256:bbbb",
			wantRestarted: true, wantConfig: "hmac-sha256:bbbb", wantSeen: "s3cret-bravo", wantRuns: 2, wantStderr: "switching it to hmac-sha256:bbbb"},
		{name: "rollback to the kept configuration", args: []string{"rollback", "v1"}, fingerprint: "hmac-sha256:aaaa",
			wantRestarted: true, wantConfig: "hmac-sha256:aaaa", wantSeen: "s3cret-alpha", wantRuns: 2, wantStderr: "configuration hmac-sha256:aaaa of release v1 is on this host"},
		{name: "changed since the check", args: []string{"activate", "v1", artifact, sum}, fingerprint: "hmac-sha256:cccc",
			wantExit: 10, wantConfig: "hmac-sha256:aaaa", wantSeen: "s3cret-alpha", wantRuns: 3, wantStderr: "changed since the deployment checked it"},
		{name: "does not resolve", args: []string{"activate", "v1", artifact, sum}, fingerprint: "hmac-sha256:dddd",
			wantExit: 9, wantConfig: "hmac-sha256:aaaa", wantSeen: "s3cret-alpha", wantRuns: 4, wantStderr: "API_TOKEN (from secret:x) does not resolve"},
		{name: "no configuration asked: the one it runs with", args: []string{"rollback", "v1"},
			wantConfig: "hmac-sha256:aaaa", wantSeen: "s3cret-alpha", wantRuns: 4, wantStderr: "nothing to change"},
		{name: "a fingerprint that cannot name a file", args: []string{"rollback", "v1"}, fingerprint: "../../x",
			wantExit: 2, wantConfig: "hmac-sha256:aaaa", wantSeen: "s3cret-alpha", wantRuns: 4, wantStderr: "is not ALGORITHM:HEX"},
	}
	for _, st := range steps {
		env := []string{"SLIPWAY_ROOT=" + root, "SLIPWAY_CONFIG_ENV=staging"}
		if st.fingerprint != "" {
			env = append(env, "SLIPWAY_CONFIG_FINGERPRINT="+st.fingerprint)
		}
		r := runHost(t, env, st.args...)
		if r.exit != st.wantExit {
			t.Fatalf("%s: exit = %d, want %d; stderr:\n%s", st.name, r.exit, st.wantExit, r.stderr)
		}
		if !strings.Contains(r.stderr, st.wantStderr) {
			t.Errorf("%s: stderr does not mention %q:\n%s", st.name, st.wantStderr, r.stderr)
		}
		for _, v := range []string{"s3cret-alpha", "s3cret-bravo"} {
			if strings.Contains(r.stdout+r.stderr, v) {
				t.Errorf("%s: the output shows the value %q:\n%s%s", st.name, v, r.stdout, r.stderr)
			}
		}
		if st.wantExit != 2 {
			got := lastJSON(t, r.stdout)
			if got["config"] != st.wantConfig || got["restarted"] != st.wantRestarted {
				t.Errorf("%s: report config = %v, restarted = %v; want %q, %v", st.name, got["config"], got["restarted"], st.wantConfig, st.wantRestarted)
			}
		}
		if got := seen(); got != st.wantSeen {
			t.Errorf("%s: the restart saw GREETING=%q, want %q", st.name, got, st.wantSeen)
		}
		if got := runs(); got != st.wantRuns {
			t.Errorf("%s: resolver ran %d times, want %d", st.name, got, st.wantRuns)
		}
	}
	status := lastJSON(t, runHost(t, []string{"SLIPWAY_ROOT=" + root}, "status").stdout)
	if status["config"] != "hmac-sha256:aaaa" {
		t.Errorf("status config = %v, want hmac-sha256:aaaa", status["config"])
	}
	for _, fp := range []string{"hmac-sha256:aaaa", "hmac-sha256:bbbb"} {
		fi, err := os.Stat(filepath.Join(root, "releases", "v1", "config", fp+".env"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("config/%s.env: %v, mode %v; want it kept, mode 0600", fp, err, fi.Mode())
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "releases", "v1", "config")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("config directory: %v; want mode 0700", err)
	}
	if link, err := os.Readlink(filepath.Join(root, "releases", "v1", "app.env")); err != nil || link != "config/hmac-sha256:aaaa.env" {
		t.Errorf("app.env -> %q (%v), want config/hmac-sha256:aaaa.env", link, err)
	}
}

// TestHostScriptTrafficHook: the hook action runs before_traffic or
// after_traffic of the current release, in its directory with its
// environment, prefixed in the output; a failing one exits 11, a release
// without it succeeds at once, a release that is not current is refused
// (7), and the other hooks are not the hook action's.
func TestHostScriptTrafficHook(t *testing.T) {
	var serving atomic.Value
	serving.Store("v1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, `{"version":%q}`, serving.Load()) }))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	root, dir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "host.env"), []byte("SLIPWAY_SERVICE_MODE=systemd\nPORT="+port+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	releaseEnv := "SLIPWAY_VERSION=v1\nSLIPWAY_RESTART=true\nSLIPWAY_HEALTH_TIMEOUT=2\nGREETING=hi\n" +
		`SLIPWAY_HOOK_BEFORE_TRAFFIC='echo warm $GREETING in $PWD for $SLIPWAY_HOOK'` + "\nSLIPWAY_HOOK_BEFORE_TRAFFIC_TIMEOUT=5\n" +
		`SLIPWAY_HOOK_AFTER_TRAFFIC='echo purge failed >&2; exit 4'` + "\n"
	artifact, sum := bundle(t, dir, "v1", releaseEnv)
	env := []string{"SLIPWAY_ROOT=" + root}
	if r := runHost(t, env, "activate", "v1", artifact, sum); r.exit != 0 {
		t.Fatalf("activate exit %d:\n%s", r.exit, r.stderr)
	}
	if r := runHost(t, env, "activate", "v1", artifact, sum); strings.Contains(r.stderr, "hook before_traffic") {
		t.Errorf("activate ran before_traffic, which only the hook action runs:\n%s", r.stderr)
	}
	rel, _ := filepath.EvalSymlinks(filepath.Join(root, "releases", "v1"))

	r := runHost(t, env, "hook", "before_traffic", "v1")
	if r.exit != 0 || !strings.Contains(r.stderr, "hook before_traffic: warm hi in "+rel+" for before_traffic\n") {
		t.Errorf("hook before_traffic exit %d, want 0 and its output prefixed:\n%s", r.exit, r.stderr)
	}
	want := map[string]any{"action": "hook", "version": "v1", "previous": "", "current": "v1", "changed": false, "restarted": false, "config": ""}
	if diff := cmp.Diff(want, lastJSON(t, r.stdout)); diff != "" {
		t.Errorf("hook before_traffic report (-want +got):\n%s", diff)
	}

	r = runHost(t, env, "hook", "after_traffic", "v1")
	if got := lastJSON(t, r.stdout); r.exit != 11 || got["error"] != "hook after_traffic of v1 failed (exit 4)" || !strings.Contains(r.stderr, "hook after_traffic: purge failed\n") {
		t.Errorf("hook after_traffic exit %d, report %v, want 11 naming the hook:\n%s", r.exit, got, r.stderr)
	}
	if r := runHost(t, env, "hook", "before_traffic", "v2"); r.exit != 7 || !strings.Contains(r.stderr, "release v2 is not current on this host (current: v1)") {
		t.Errorf("hook of a release that is not current: exit %d, want 7:\n%s", r.exit, r.stderr)
	}
	if r := runHost(t, env, "hook", "validate", "v1"); r.exit != 2 {
		t.Errorf("hook validate: exit %d, want 2 (activate runs it):\n%s", r.exit, r.stderr)
	}

	// A release without the hook: nothing to run, success.
	artifact, sum = bundle(t, dir, "v0", "SLIPWAY_VERSION=v0\nSLIPWAY_RESTART=true\nSLIPWAY_HEALTH_TIMEOUT=2\n")
	serving.Store("v0")
	if r := runHost(t, env, "activate", "v0", artifact, sum); r.exit != 0 {
		t.Fatalf("activate v0 exit %d:\n%s", r.exit, r.stderr)
	}
	if r := runHost(t, env, "hook", "after_traffic", "v0"); r.exit != 0 || strings.Contains(r.stderr, "running") {
		t.Errorf("hook after_traffic of a release without one: exit %d, want 0 and nothing run:\n%s", r.exit, r.stderr)
	}
}
