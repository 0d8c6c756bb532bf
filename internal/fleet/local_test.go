package fleet_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/freeport"
	"github.com/slipway-deploy/slipway/scripts"
)

// appBinary is the test app (testdata/app), built once by TestMain.
var appBinary []byte

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fleet-app-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "app")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/app")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test app: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	appBinary, err = os.ReadFile(bin)
	os.RemoveAll(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// release is a release bundle made by makeRelease.
type release struct {
	version string
	uri     string
	sha256  string
}

// releaseOptions vary a test release.
type releaseOptions struct {
	start         string // SLIPWAY_START; default bin/app
	reportVersion string // the version the app reports (a VERSION file); default the release's
	healthTimeout int    // SLIPWAY_HEALTH_TIMEOUT; default 5
	topDir        bool   // wrap the release in one top-level directory
}

// makeRelease writes the bundle of version to a tar.gz in dir: release.env
// (with RELEASE_NOTE="note <version>", which the app reports), bin/app and,
// if asked, a VERSION file.
func makeRelease(t *testing.T, dir, version string, opts releaseOptions) release {
	t.Helper()
	releaseEnv := fmt.Sprintf("# test release\nSLIPWAY_VERSION=%s\nSLIPWAY_START=%s\nSLIPWAY_HEALTH_PATH=/healthz\nSLIPWAY_HEALTH_TIMEOUT=%d\nRELEASE_NOTE=\"note %s\"\n",
		version, cmpOr(opts.start, "bin/app"), cmpOr(opts.healthTimeout, 5), version)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"release.env", 0o644, []byte(releaseEnv)},
		{"bin/app", 0o755, appBinary},
	}
	if opts.reportVersion != "" {
		files = append(files, struct {
			name string
			mode int64
			data []byte
		}{"VERSION", 0o644, []byte(opts.reportVersion + "\n")})
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	prefix := ""
	if opts.topDir {
		prefix = "demo-" + version + "/"
		if err := tw.WriteHeader(&tar.Header{Name: prefix, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: prefix + "bin/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: prefix + f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, version+".tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return release{version: version, uri: "file://" + path, sha256: hex.EncodeToString(sum[:])}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// freePort returns the first of n consecutive free ports on 127.0.0.1.
func freePort(t *testing.T, n int) int {
	t.Helper()
	base, err := freeport.Range(n)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// newFleet provisions n instances of env "test" in a new embedded fleet
// and, at the end of the test, stops it and checks that no app is left.
func newFleet(t *testing.T, n int) *fleet.Local {
	t.Helper()
	root := t.TempDir()
	l := fleet.NewLocal(root, scripts.HostScript)
	if err := l.Provision("test", n, freePort(t, n), map[string]string{
		"DATABASE_PATH": filepath.Join(root, "app.db"),
		"SLIPWAY_APP":   "demo",
	}); err != nil {
		t.Fatalf("Provision() = %v", err)
	}
	t.Cleanup(func() {
		before, err := l.PIDs()
		if err != nil {
			t.Errorf("PIDs() = %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.Stop(ctx); err != nil {
			t.Errorf("Stop() = %v", err)
		}
		for _, pid := range before {
			if running(pid) {
				t.Errorf("app pid %d is still alive after Stop()", pid)
			}
		}
		if pids, err := l.PIDs(); err != nil || len(pids) != 0 {
			t.Errorf("PIDs() after Stop() = %v, %v, want none", pids, err)
		}
	})
	return l
}

// running reports whether pid is alive: kill(pid, 0) succeeds and it is
// not a zombie waiting for init (which reaps killed orphans late here).
func running(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// run sends cmd to ids (every instance if none) and waits for it.
func run(t *testing.T, l *fleet.Local, cmd fleet.Command, ids ...string) fleet.CommandResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if len(ids) == 0 {
		instances, err := l.Instances(ctx, "test")
		if err != nil {
			t.Fatalf("Instances() = %v", err)
		}
		for _, in := range instances {
			ids = append(ids, in.ID)
		}
	}
	cmd.InstanceIDs = ids
	id, err := l.Send(ctx, "test", cmd)
	if err != nil {
		t.Fatalf("Send(%s) = %v", cmd.Action, err)
	}
	r, err := l.Wait(ctx, id)
	if err != nil {
		t.Fatalf("Wait(%s) = %v", id, err)
	}
	return r
}

func activate(r release) fleet.Command {
	return fleet.Command{DeploymentID: "d-" + r.version, Action: fleet.ActionActivate, Version: r.version, ArtifactURI: r.uri, SHA256: r.sha256}
}

// health is what the test app answers.
type health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	Note    string `json:"note"`
	PID     int    `json:"pid"`
}

func probe(t *testing.T, address string) (int, health) {
	t.Helper()
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + address + "/healthz")
	if err != nil {
		t.Fatalf("GET %s/healthz = %v", address, err)
	}
	defer resp.Body.Close()
	var h health
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("GET %s/healthz body %q: %v", address, body, err)
	}
	return resp.StatusCode, h
}

func instances(t *testing.T, l *fleet.Local) []fleet.Instance {
	t.Helper()
	in, err := l.Instances(context.Background(), "test")
	if err != nil {
		t.Fatalf("Instances() = %v", err)
	}
	return in
}

func current(t *testing.T, l *fleet.Local, id string) string {
	t.Helper()
	v, err := l.Current("test", id)
	if err != nil {
		t.Fatalf("Current(%s) = %v", id, err)
	}
	return v
}

func report(t *testing.T, inv fleet.Invocation) fleet.Report {
	t.Helper()
	r, err := inv.Report()
	if err != nil {
		t.Fatalf("Report() of %s = %v; output:\n%s", inv.InstanceID, err, inv.Output)
	}
	return r
}

// TestLocalDeploy walks two instances through activations, a checksum
// failure and rollbacks, checking the links, the served version and the
// app processes after each step.
func TestLocalDeploy(t *testing.T) {
	l := newFleet(t, 2)
	dir := t.TempDir()
	v1 := makeRelease(t, dir, "v1", releaseOptions{})
	v1.sha256 = strings.ToUpper(v1.sha256) // the script compares case-insensitively
	v2 := makeRelease(t, dir, "v2", releaseOptions{topDir: true})
	wrongSum := activate(v2)
	wrongSum.Version = "v3"
	wrongSum.SHA256 = strings.Repeat("0", 64)
	missing := activate(v2)
	missing.Version = "v3"
	missing.ArtifactURI = "file://" + filepath.Join(dir, "absent.tar.gz")

	steps := []struct {
		name        string
		cmd         fleet.Command
		wantStatus  string
		wantExit    int
		wantCurrent string // on every instance, and served by its app
		wantPrev    string
		wantChanged bool
		wantRestart bool
	}{
		{"activate v1", activate(v1), fleet.StatusSuccess, 0, "v1", "", true, true},
		{"activate v2 from a bundle with a top directory", activate(v2), fleet.StatusSuccess, 0, "v2", "v1", true, true},
		{"activate v2 again changes nothing", activate(v2), fleet.StatusSuccess, 0, "v2", "v1", false, false},
		{"checksum mismatch", wrongSum, fleet.StatusFailed, fleet.ExitChecksum, "v2", "v1", false, false},
		{"missing artifact", missing, fleet.StatusFailed, fleet.ExitChecksum, "v2", "v1", false, false},
		{"rollback to previous", fleet.Command{Action: fleet.ActionRollback}, fleet.StatusSuccess, 0, "v1", "v2", true, true},
		{"rollback to the current version changes nothing", fleet.Command{Action: fleet.ActionRollback, Version: "v1"}, fleet.StatusSuccess, 0, "v1", "v2", false, false},
		{"rollback to a version never installed", fleet.Command{Action: fleet.ActionRollback, Version: "v9"}, fleet.StatusFailed, fleet.ExitMissingTarget, "v1", "v2", false, false},
		{"activate v2 reuses its release", activate(v2), fleet.StatusSuccess, 0, "v2", "v1", true, true},
	}
	pids := map[string]int{}
	for _, step := range steps {
		ok := t.Run(step.name, func(t *testing.T) {
			r := run(t, l, step.cmd)
			if r.Status != step.wantStatus {
				t.Errorf("Status = %s, want %s", r.Status, step.wantStatus)
			}
			for _, inv := range r.Invocations {
				if inv.Status != step.wantStatus || inv.ExitCode != step.wantExit {
					t.Errorf("invocation on %s = %s exit %d, want %s exit %d; output:\n%s",
						inv.InstanceID, inv.Status, inv.ExitCode, step.wantStatus, step.wantExit, inv.Output)
					continue
				}
				t.Logf("%s on %s took %s", step.cmd.Action, inv.InstanceID, inv.FinishedAt.Sub(inv.StartedAt).Round(time.Millisecond))
				rep := report(t, inv)
				if rep.Current != step.wantCurrent || rep.Previous != step.wantPrev || rep.Changed != step.wantChanged {
					t.Errorf("report on %s = current %q previous %q changed %t, want %q %q %t",
						inv.InstanceID, rep.Current, rep.Previous, rep.Changed, step.wantCurrent, step.wantPrev, step.wantChanged)
				}
			}
			for _, in := range instances(t, l) {
				if got := current(t, l, in.ID); got != step.wantCurrent {
					t.Errorf("Current(%s) = %q, want %q", in.ID, got, step.wantCurrent)
				}
				code, h := probe(t, in.Address)
				want := health{Status: "ok", Version: step.wantCurrent, Note: "note " + step.wantCurrent, PID: h.PID}
				if code != http.StatusOK || h != want {
					// The note comes from the release.env of the release that
					// was started: after a rollback it must be the target's.
					t.Errorf("GET %s = %d %+v, want 200 %+v", in.Address, code, h, want)
				}
				if restarted := pids[in.ID] != h.PID; restarted != step.wantRestart {
					t.Errorf("app pid on %s went %d -> %d, want restart %t", in.ID, pids[in.ID], h.PID, step.wantRestart)
				}
				pids[in.ID] = h.PID
			}
		})
		if !ok {
			t.FailNow()
		}
	}

	t.Run("status", func(t *testing.T) {
		r := run(t, l, fleet.Command{Action: fleet.ActionStatus})
		for i, inv := range r.Invocations {
			got := report(t, inv)
			// The free resources are the machine's: measured, not known here.
			want := fleet.Report{Action: "status", Current: "v2", Previous: "v1", Releases: []string{"v1", "v2"},
				Root: l.InstanceDir("test", instances(t, l)[i].ID), SHA256: got.SHA256, Serving: "v2", Healthy: true,
				DiskFreeKB: got.DiskFreeKB, InodesFree: got.InodesFree, MemAvailableKB: got.MemAvailableKB}
			if len(got.SHA256) != 64 {
				t.Errorf("status report on %s: sha256 %q, want the current release's checksum", inv.InstanceID, got.SHA256)
			}
			if got.DiskFreeKB == nil || *got.DiskFreeKB <= 0 {
				t.Errorf("status report on %s: disk_free_kb %v, want what the release volume has free", inv.InstanceID, got.DiskFreeKB)
			}
			if diff := cmp.Diff(want, report(t, inv)); diff != "" {
				t.Errorf("status report on %s (-want +got):\n%s", inv.InstanceID, diff)
			}
		}
	})

	t.Run("history", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(l.InstanceDir("test", "test-1"), "history"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			got = append(got, strings.Join(f[1:], " "))
		}
		want := []string{"activate - v1 d-v1", "activate v1 v2 d-v2", "rollback v2 v1 -", "activate v1 v2 d-v2"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("history without times (-want +got):\n%s", diff)
		}
	})

	t.Run("another process sees the results", func(t *testing.T) {
		ctx := context.Background()
		id, err := l.Send(ctx, "test", fleet.Command{Action: fleet.ActionStatus, InstanceIDs: []string{"test-2", "test-1"}})
		if err != nil {
			t.Fatal(err)
		}
		want, err := l.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		other := fleet.NewLocal(l.Root(), scripts.HostScript)
		got, err := other.Wait(ctx, id)
		if err != nil {
			t.Fatalf("Wait() from another Local = %v", err)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
			t.Errorf("Status from another Local (-want +got):\n%s", diff)
		}
	})
}

// TestLocalPrune checks that prune keeps the newest releases and never
// removes current or previous, and that a pruned release cannot be rolled
// back to.
func TestLocalPrune(t *testing.T) {
	l := newFleet(t, 1)
	dir := t.TempDir()
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		if r := run(t, l, activate(makeRelease(t, dir, v, releaseOptions{}))); r.Status != fleet.StatusSuccess {
			t.Fatalf("activate %s = %s; output:\n%s", v, r.Status, r.Invocations[0].Output)
		}
	}
	// current v2, previous v4: the oldest and newest are protected anyway.
	if r := run(t, l, fleet.Command{Action: fleet.ActionRollback, Version: "v2"}); r.Status != fleet.StatusSuccess {
		t.Fatalf("rollback v2 = %s; output:\n%s", r.Status, r.Invocations[0].Output)
	}

	tests := []struct {
		name string
		cmd  fleet.Command
		want fleet.Report
	}{
		{
			name: "the host's default keeps all",
			cmd:  fleet.Command{Action: fleet.ActionPrune},
			want: fleet.Report{Action: "prune", Keep: 5, Current: "v2", Previous: "v4", Kept: []string{"v1", "v2", "v3", "v4"}},
		},
		{
			name: "keep 2 keeps current and previous",
			cmd:  fleet.Command{Action: fleet.ActionPrune, Keep: 2},
			want: fleet.Report{Action: "prune", Keep: 2, Current: "v2", Previous: "v4", Changed: true, Removed: []string{"v1", "v3"}, Kept: []string{"v2", "v4"}},
		},
		{
			name: "status lists what is left",
			cmd:  fleet.Command{Action: fleet.ActionStatus},
			want: fleet.Report{Action: "status", Current: "v2", Previous: "v4", Releases: []string{"v2", "v4"}, Root: l.InstanceDir("test", "test-1"),
				Serving: "v2", Healthy: true},
		},
		{
			name: "rollback to a pruned release",
			cmd:  fleet.Command{Action: fleet.ActionRollback, Version: "v1"},
			want: fleet.Report{Action: "rollback", Version: "v1", Current: "v2", Previous: "v4",
				Error: "release v1 is not on this host (pruned?)", ExitCode: fleet.ExitMissingTarget},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, l, tt.cmd)
			got := report(t, r.Invocations[0])
			got.SHA256 = "" // the checksum of whatever bundle the test built
			// and the machine's free resources
			got.DiskFreeKB, got.InodesFree, got.MemAvailableKB = nil, nil, nil
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s report (-want +got):\n%s", tt.cmd.Action, diff)
			}
			if got := r.Invocations[0].ExitCode; got != tt.want.ExitCode {
				t.Errorf("%s exit code = %d, want %d", tt.cmd.Action, got, tt.want.ExitCode)
			}
		})
	}
	entries, err := os.ReadDir(filepath.Join(l.InstanceDir("test", "test-1"), "releases"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"v2", "v4"}, names); diff != "" {
		t.Errorf("release directories after prune (-want +got):\n%s", diff)
	}
}

// TestLocalUnhealthy activates a release that never becomes healthy: the
// host script exits 6 and leaves current on it; the rollback that the
// orchestrator would send brings the previous release back.
func TestLocalUnhealthy(t *testing.T) {
	tests := []struct {
		name       string
		opts       releaseOptions
		failHealth bool
		wantOutput string
	}{
		{name: "app exits on start", opts: releaseOptions{start: "bin/app -exit"}, wantOutput: "app exited before it was healthy"},
		{name: "app reports another version", opts: releaseOptions{reportVersion: "v1", healthTimeout: 2}, wantOutput: `not healthy after 2s`},
		{name: "FailHealth knob", opts: releaseOptions{healthTimeout: 2}, failHealth: true, wantOutput: "last answered 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newFleet(t, 1)
			dir := t.TempDir()
			if r := run(t, l, activate(makeRelease(t, dir, "v1", releaseOptions{}))); r.Status != fleet.StatusSuccess {
				t.Fatalf("activate v1 = %s; output:\n%s", r.Status, r.Invocations[0].Output)
			}
			if err := l.FailHealth("test", "test-1", tt.failHealth); err != nil {
				t.Fatal(err)
			}
			inv := run(t, l, activate(makeRelease(t, dir, "v2", tt.opts))).Invocations[0]
			if inv.Status != fleet.StatusFailed || inv.ExitCode != fleet.ExitHealth {
				t.Errorf("activate v2 = %s exit %d, want Failed exit %d; output:\n%s", inv.Status, inv.ExitCode, fleet.ExitHealth, inv.Output)
			}
			if !strings.Contains(inv.Output, tt.wantOutput) {
				t.Errorf("activate v2 output does not mention %q:\n%s", tt.wantOutput, inv.Output)
			}
			t.Logf("failed activation took %s", inv.FinishedAt.Sub(inv.StartedAt).Round(time.Millisecond))
			if got := current(t, l, "test-1"); got != "v2" {
				t.Errorf("Current() after the failed activation = %q, want v2 (the orchestrator rolls back)", got)
			}
			// A repeated activate changes nothing but must not call the
			// unhealthy release a success.
			inv = run(t, l, activate(makeRelease(t, dir, "v2", tt.opts))).Invocations[0]
			if inv.Status != fleet.StatusFailed || inv.ExitCode != fleet.ExitHealth {
				t.Errorf("repeated activate v2 = %s exit %d, want Failed exit %d; output:\n%s", inv.Status, inv.ExitCode, fleet.ExitHealth, inv.Output)
			}

			inv = run(t, l, fleet.Command{Action: fleet.ActionRollback}).Invocations[0]
			if inv.Status != fleet.StatusSuccess {
				t.Fatalf("rollback = %s exit %d; output:\n%s", inv.Status, inv.ExitCode, inv.Output)
			}
			if code, h := probe(t, instances(t, l)[0].Address); code != http.StatusOK || h.Version != "v1" {
				t.Errorf("after rollback GET /healthz = %d %+v, want 200 v1", code, h)
			}
		})
	}
}

// TestLocalKnobs checks the offline and FailActivation knobs.
func TestLocalKnobs(t *testing.T) {
	t.Run("offline", func(t *testing.T) {
		t.Parallel()
		l := newFleet(t, 2)
		if err := l.SetOffline("test", "test-2", true); err != nil {
			t.Fatal(err)
		}
		var online []bool
		for _, in := range instances(t, l) {
			online = append(online, in.Online)
		}
		if diff := cmp.Diff([]bool{true, false}, online); diff != "" {
			t.Errorf("Instances() online (-want +got):\n%s", diff)
		}
		r := run(t, l, activate(makeRelease(t, t.TempDir(), "v1", releaseOptions{})))
		got := []string{r.Status, r.Invocations[0].Status, r.Invocations[1].Status}
		want := []string{fleet.StatusFailed, fleet.StatusSuccess, fleet.StatusDeliveryTimedOut}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("statuses of command, test-1, test-2 (-want +got):\n%s", diff)
		}
		if v := current(t, l, "test-2"); v != "" {
			t.Errorf("Current(test-2) = %q, want none: the command never ran", v)
		}
		if err := l.SetOffline("test", "test-2", false); err != nil {
			t.Fatal(err)
		}
		if in := instances(t, l); !in[1].Online {
			t.Errorf("Instances()[1].Online = false after SetOffline(false)")
		}
	})

	t.Run("FailActivation", func(t *testing.T) {
		t.Parallel()
		l := newFleet(t, 1)
		dir := t.TempDir()
		v1 := makeRelease(t, dir, "v1", releaseOptions{})
		v2 := makeRelease(t, dir, "v2", releaseOptions{})
		if r := run(t, l, activate(v1)); r.Status != fleet.StatusSuccess {
			t.Fatalf("activate v1 = %s; output:\n%s", r.Status, r.Invocations[0].Output)
		}
		address := instances(t, l)[0].Address
		_, before := probe(t, address)
		if err := l.FailActivation("test", "test-1", true); err != nil {
			t.Fatal(err)
		}
		if r := run(t, l, activate(v1)); r.Status != fleet.StatusSuccess {
			t.Errorf("no-op activate v1 with the knob armed = %s, want Success", r.Status)
		}
		inv := run(t, l, activate(v2)).Invocations[0]
		if inv.Status != fleet.StatusFailed || inv.ExitCode != fleet.ExitRestart {
			t.Errorf("activate v2 = %s exit %d, want Failed exit %d; output:\n%s", inv.Status, inv.ExitCode, fleet.ExitRestart, inv.Output)
		}
		if got := current(t, l, "test-1"); got != "v2" {
			t.Errorf("Current() after the failed restart = %q, want v2", got)
		}
		if _, h := probe(t, address); h != before {
			t.Errorf("app after the failed restart = %+v, want the old one %+v still running", h, before)
		}
		if r := run(t, l, fleet.Command{Action: fleet.ActionRollback}); r.Status != fleet.StatusSuccess {
			t.Errorf("rollback = %s, want Success; output:\n%s", r.Status, r.Invocations[0].Output)
		}
		if r := run(t, l, activate(v2)); r.Status != fleet.StatusSuccess {
			t.Errorf("activate v2 once the knob fired = %s, want Success; output:\n%s", r.Status, r.Invocations[0].Output)
		}
		if _, h := probe(t, address); h.Version != "v2" {
			t.Errorf("app version = %q, want v2", h.Version)
		}
	})
}

// TestLocalWithoutCurl runs the host script with wget as its HTTP client,
// on a PATH that holds only the tools the script needs.
func TestLocalWithoutCurl(t *testing.T) {
	bin := t.TempDir()
	for _, tool := range []string{"sh", "date", "cat", "tr", "sed", "mkdir", "rm", "mv", "ln", "readlink", "ls",
		"grep", "head", "tail", "awk", "cut", "tar", "gzip", "sha256sum", "setsid", "nohup", "sleep", "wget"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			if tool == "wget" {
				if os.Getenv("CI") == "true" {
					t.Fatal("wget is missing (CI installs it in .ci/run)")
				}
				t.Skip("wget is not installed (apt-get install wget)")
			}
			if tool == "setsid" {
				continue
			}
			t.Fatalf("the host script needs %s: %v", tool, err)
		}
		if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	l := newFleet(t, 1)
	dir := t.TempDir()
	tests := []struct {
		name     string
		release  release
		wantExit int
	}{
		{"healthy", makeRelease(t, dir, "v1", releaseOptions{}), 0},
		{"another version", makeRelease(t, dir, "v2", releaseOptions{reportVersion: "v1", healthTimeout: 1}), fleet.ExitHealth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := run(t, l, activate(tt.release)).Invocations[0]
			if inv.ExitCode != tt.wantExit {
				t.Errorf("activate %s exit = %d, want %d; output:\n%s", tt.release.version, inv.ExitCode, tt.wantExit, inv.Output)
			}
		})
	}
}

// TestLocalTimeout kills a script that runs past ExecutionTimeout; the app
// it started lives in its own session, and Stop still stops it.
func TestLocalTimeout(t *testing.T) {
	l := newFleet(t, 1)
	l.ExecutionTimeout = 4 * time.Second
	if err := l.FailHealth("test", "test-1", true); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	inv := run(t, l, activate(makeRelease(t, t.TempDir(), "v1", releaseOptions{healthTimeout: 30}))).Invocations[0]
	if inv.Status != fleet.StatusTimedOut || inv.ExitCode != -1 {
		t.Errorf("activate = %s exit %d, want TimedOut exit -1; output:\n%s", inv.Status, inv.ExitCode, inv.Output)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("timed-out activate took %s, want about 4s", d)
	}
	// The app the killed script started stays. On a machine loaded enough
	// that the script was killed before it started the app, there is none.
	pids, err := l.PIDs()
	switch started := strings.Contains(inv.Output, "started '"); {
	case err != nil:
		t.Errorf("PIDs() = %v", err)
	case started && len(pids) != 1:
		t.Errorf("PIDs() = %v, want the app the killed script started; output:\n%s", pids, inv.Output)
	case !started && len(pids) != 0:
		t.Errorf("PIDs() = %v, want none: the script was killed before it started the app; output:\n%s", pids, inv.Output)
	}
}

// TestLocalStop checks that Stop kills an app that ignores SIGTERM once its
// context ends.
func TestLocalStop(t *testing.T) {
	l := newFleet(t, 1)
	if r := run(t, l, activate(makeRelease(t, t.TempDir(), "v1", releaseOptions{start: "bin/app -ignore-term"}))); r.Status != fleet.StatusSuccess {
		t.Fatalf("activate = %s; output:\n%s", r.Status, r.Invocations[0].Output)
	}
	pids, err := l.PIDs()
	if err != nil || len(pids) != 1 {
		t.Fatalf("PIDs() = %v, %v, want one app", pids, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.Stop(ctx); err != nil {
		t.Errorf("Stop() = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop() took %s, want SIGKILL soon after its context ended", d)
	}
	if running(pids[0]) {
		t.Errorf("app pid %d is alive after Stop()", pids[0])
	}
}

// TestLocalSendErrors checks the commands Send refuses.
func TestLocalSendErrors(t *testing.T) {
	l := newFleet(t, 1)
	ok := fleet.Command{Action: fleet.ActionActivate, Version: "v1", ArtifactURI: "file:///tmp/v1.tar.gz", SHA256: "ab", InstanceIDs: []string{"test-1"}}
	tests := []struct {
		name   string
		env    string
		change func(*fleet.Command)
		want   error
	}{
		{"unknown instance", "test", func(c *fleet.Command) { c.InstanceIDs = []string{"test-9"} }, fleet.ErrUnknownInstance},
		{"unknown environment", "prod", func(c *fleet.Command) {}, fleet.ErrUnknownInstance},
		{"invalid environment", "../x", func(c *fleet.Command) {}, fleet.ErrInvalidName},
		{"no instances", "test", func(c *fleet.Command) { c.InstanceIDs = nil }, fleet.ErrInvalidCommand},
		{"instance twice", "test", func(c *fleet.Command) { c.InstanceIDs = []string{"test-1", "test-1"} }, fleet.ErrInvalidCommand},
		{"unknown action", "test", func(c *fleet.Command) { c.Action = "restart" }, fleet.ErrInvalidCommand},
		{"S3 artifact", "test", func(c *fleet.Command) { c.ArtifactURI = "s3://bucket/v1.tar.gz" }, fleet.ErrInvalidCommand},
		{"relative artifact", "test", func(c *fleet.Command) { c.ArtifactURI = "file://v1.tar.gz" }, fleet.ErrInvalidCommand},
		{"activate without checksum", "test", func(c *fleet.Command) { c.SHA256 = "" }, fleet.ErrInvalidCommand},
		{"negative keep", "test", func(c *fleet.Command) { c.Action, c.Keep = fleet.ActionPrune, -1 }, fleet.ErrInvalidCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := ok
			tt.change(&cmd)
			if _, err := l.Send(context.Background(), tt.env, cmd); !errors.Is(err, tt.want) {
				t.Errorf("Send() = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := l.Status(context.Background(), "no-such-command"); !errors.Is(err, fleet.ErrUnknownCommand) {
		t.Errorf("Status(no-such-command) = %v, want %v", err, fleet.ErrUnknownCommand)
	}
}

// TestLocalProvision checks the instances Provision makes and the inputs it
// refuses.
func TestLocalProvision(t *testing.T) {
	root := t.TempDir()
	l := fleet.NewLocal(root, scripts.HostScript)
	for range 2 { // idempotent
		if err := l.Provision("staging", 11, 30001, map[string]string{"DATABASE_PATH": "/data/app.db", "QUOTED": `"x"`}); err != nil {
			t.Fatalf("Provision() = %v", err)
		}
	}
	got, err := l.Instances(context.Background(), "staging")
	if err != nil {
		t.Fatalf("Instances() = %v", err)
	}
	var want []fleet.Instance
	for i := 1; i <= 11; i++ {
		id := fmt.Sprintf("staging-%d", i)
		want = append(want, fleet.Instance{ID: id, Address: fmt.Sprintf("127.0.0.1:%d", 30000+i), Online: true,
			Tags: map[string]string{"app": "app", "env": "staging", "name": id}})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Instances() (-want +got):\n%s", diff)
	}
	hostEnv, err := os.ReadFile(filepath.Join(l.InstanceDir("staging", "staging-2"), "host.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"SLIPWAY_SERVICE_MODE=process", "PORT=30002", "SLIPWAY_HOST=127.0.0.1", "DATABASE_PATH=/data/app.db", `QUOTED=""x""`} {
		if !slices.Contains(strings.Split(string(hostEnv), "\n"), line) {
			t.Errorf("host.env lacks %q:\n%s", line, hostEnv)
		}
	}
	script, err := os.ReadFile(l.ScriptPath())
	if err != nil || !bytes.Equal(script, scripts.HostScript) {
		t.Errorf("ScriptPath() holds %d bytes (%v), want scripts.HostScript", len(script), err)
	}
	if none, err := l.Instances(context.Background(), "prod"); err != nil || len(none) != 0 {
		t.Errorf("Instances(prod) = %v, %v, want none", none, err)
	}

	bad := []struct {
		name     string
		env      string
		n, port  int
		extraEnv map[string]string
	}{
		{"empty environment", "", 1, 30000, nil},
		{"environment with a slash", "a/b", 1, 30000, nil},
		{"no instances", "x", 0, 30000, nil},
		{"port out of range", "x", 2, 65535, nil},
		{"reserved variable", "x", 1, 30000, map[string]string{"PORT": "1"}},
		{"invalid variable name", "x", 1, 30000, map[string]string{"A-B": "1"}},
		{"value with a line break", "x", 1, 30000, map[string]string{"A": "1\nB=2"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if err := l.Provision(tt.env, tt.n, tt.port, tt.extraEnv); err == nil {
				t.Errorf("Provision(%q, %d, %d, %v) = nil, want an error", tt.env, tt.n, tt.port, tt.extraEnv)
			}
		})
	}
}
