package faults

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// row is one fault. fault runs it on a world serving v2 and returns the
// record of the deployment under test; the row then checks that record
// against what is really there, and that the next deployment works.
type row struct {
	name    string
	publish []string
	fault   func(t *testing.T, w *world) ledger.Deployment
	// status is the record's final status; statuses, when set, the ones a
	// racy fault may end with.
	status   string
	statuses []string
	// serves is the release every instance must be on and answer with; ""
	// when the row checks the fleet itself.
	serves string
	// schema is the schema version after the fault; dirty the migrations
	// left part way; rowsChanged whether the users table's rows changed.
	schema      int64
	dirty       string
	rowsChanged bool
	// next is the release deployed next, which must succeed.
	next string
	// balancer puts the world's instances behind the embedded load
	// balancer.
	balancer bool
}

func TestFaultMatrix(t *testing.T) {
	rows := []row{
		{
			name: "SIGKILL of slipway deploy mid-wave; the next deployment takes the lease over", publish: []string{"v3slow"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				cmd := w.cli("deploy", "--env", "staging", "--version", "v3slow")
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				w.waitForFile("staging-1", "releases/v3slow/.slipway-release", 60*time.Second)
				cmd.Process.Kill()
				cmd.Wait()
				id := w.running(t)
				// The deployment left RUNNING with a lease; the next one
				// finds its owner gone, closes it from observation and
				// takes the lease over.
				next := w.deploy(v2)
				if next.Status != contract.StatusSucceeded {
					t.Fatalf("the deployment after the kill = %s: %s", next.Status, next.Summary)
				}
				events, _ := w.env.Ledger.Events(context.Background(), "demo", "staging", 0)
				if !hasEvent(events, "lease-taken-over", id) {
					t.Errorf("no lease-taken-over event for %s: %+v", id, events)
				}
				return w.record(id)
			},
			statuses: []string{contract.StatusAbandoned, contract.StatusFailed}, serves: v2, schema: 2, next: "v3",
		},
		{
			name: "SIGKILL of slipway deploy while wave 2 is out of the load balancer; the next deployment puts it back", publish: []string{"v3slow"}, balancer: true,
			fault: func(t *testing.T, w *world) ledger.Deployment {
				cmd := w.cli("deploy", "--env", "staging", "--version", "v3slow")
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				id := w.waitForStep("wave 2: draining staging-2, staging-3 from staging", 90*time.Second)
				w.waitOutOfBalancer(30*time.Second, "staging-2", "staging-3")
				cmd.Process.Kill()
				cmd.Wait()
				if s := w.balancerStates(); s["staging-1"] != traffic.StateHealthy || (s["staging-2"] != "" && s["staging-2"] != traffic.StateDraining) {
					t.Fatalf("the balancer after the kill = %v; want the canary serving, wave 2 out", s)
				}
				// The next deployment, under load through the endpoint,
				// takes the lease over, closes the dead one's record, puts
				// wave 2 back (the canary alone serves until then) and
				// deploys: not a request fails.
				var next ledger.Deployment
				res := w.underLoad(func() { next = w.deploy("v3") })
				if next.Status != contract.StatusSucceeded {
					t.Fatalf("the deployment after the kill = %s: %s", next.Status, next.Summary)
				}
				if res.Failed != 0 || res.Requests < 10 {
					t.Errorf("load through the endpoint during the recovery deployment: %s, want 0 failed of at least 10", res.Detail())
				}
				// Every instance that served before serves through the
				// balancer again: the recovery deployment's own waves put
				// back only what was in at its start, so wave 2 was put back
				// when the dead record was closed.
				if s := w.balancerStates(); len(s) != 3 || s["staging-1"] != traffic.StateHealthy || s["staging-2"] != traffic.StateHealthy || s["staging-3"] != traffic.StateHealthy {
					t.Errorf("the balancer after the recovery = %v; want the 3 instances healthy", s)
				}
				w.servedThroughBalancer("staging-1", "staging-2", "staging-3")
				events, _ := w.env.Ledger.Events(context.Background(), "demo", "staging", 0)
				if !hasEvent(events, "lease-taken-over", id) || !hasEvent(events, "reattached", id) {
					t.Errorf("no lease-taken-over and reattached events for %s: %+v", id, events)
				}
				d := w.record(id)
				// The kill may land while wave 2's activation runs: an
				// instance's release link moved, its app not restarted yet
				// (the host script dies with the CLI's pipe). Closing the
				// record then leaves that instance out, and the recovery
				// deployment puts it back in its first wave
				// (PreflightOutput.PutBack); the balancer checks above hold
				// either way.
				_, leftOut, _ := strings.Cut(d.Cause, "left out of its target groups: ")
				var put string
				if _, after, ok := strings.Cut(d.Cause, "put back into service what it had taken out: "); ok {
					put, _, _ = strings.Cut(after, " in staging")
				}
				var recovery []string
				steps, _ := w.env.Ledger.Steps(context.Background(), next.ID)
				for _, st := range steps {
					if strings.Contains(st.Message, "left out of the target groups by an earlier deployment (closed unfinished, or whose rollback wave failed)") {
						recovery = append(recovery, st.Message)
					}
				}
				for _, inst := range []string{"staging-2", "staging-3"} {
					switch {
					case strings.Contains(put, inst):
					case strings.Contains(leftOut, inst):
						if !strings.Contains(strings.Join(recovery, "; "), inst) {
							t.Errorf("%s was left out when %s was closed, and the recovery deployment %s does not say it puts it back: %q", inst, id, next.ID, recovery)
						}
					default:
						t.Errorf("the dead deployment's cause = %q, want %s put back or left out", d.Cause, inst)
					}
				}
				return d
			},
			status: contract.StatusAbandoned, serves: "v3", schema: 2, next: v2,
		},
		{
			name: "SIGINT of slipway deploy mid-wave", publish: []string{"v3slow"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				cmd := w.cli("deploy", "--env", "staging", "--version", "v3slow")
				var out strings.Builder
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				w.waitForFile("staging-1", "releases/v3slow/.slipway-release", 60*time.Second)
				id := w.running(t)
				cmd.Process.Signal(syscall.SIGINT)
				err := cmd.Wait()
				if code := exitCode(err); code != 1 {
					t.Errorf("slipway deploy after SIGINT exited %d, want 1:\n%s", code, out.String())
				}
				// Once the CLI is gone, no host command is left running, and
				// the canary is whole: its current release is the one it
				// serves.
				if n := w.hostScriptsRunning(); n != 0 {
					t.Errorf("%d host scripts still run after slipway deploy exited", n)
				}
				f := w.fleet()
				if c := f["staging-1"]; c.current != "v3slow" || c.serves != "v3slow" {
					t.Errorf("canary after the stop: current %q, answers %q; want v3slow both (the wave's command finishes before the stop is recorded)", c.current, c.serves)
				}
				for _, id := range []string{"staging-2", "staging-3"} {
					if f[id].current != v2 || f[id].serves != v2 {
						t.Errorf("%s after the stop = %+v, want v2 (wave 2 never started)", id, f[id])
					}
				}
				d := w.record(id)
				if !strings.Contains(d.Summary, "slipway rollback --env staging") || !strings.Contains(d.Summary, "staging-1 on v3slow") {
					t.Errorf("summary of the stopped deployment = %q, want what each instance serves and the command that converges", d.Summary)
				}
				return d
			},
			status: contract.StatusStopped, schema: 2, next: "v3",
		},
		{
			name: "the canary's app dies during wave 2", publish: []string{"v3"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				waves := 0
				return w.deploy("v3", func(ev asl.HistoryEvent) {
					if d := ev.StateEnteredEventDetails; d != nil && d.Name == "DeployWave" {
						if waves++; waves == 2 {
							w.kill("staging-1")
						}
					}
				})
			},
			status: contract.StatusRolledBack, serves: v2, schema: 2, next: "v3",
		},
		{
			name: "an app dies after its wave passed, during the bake", publish: []string{"v3"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				d := w.deploy("v3", func(ev asl.HistoryEvent) {
					if d := ev.StateEnteredEventDetails; d != nil && d.Name == "StartBake" {
						w.kill("staging-2")
					}
				})
				if d.Error != "FleetMismatch" || !strings.Contains(d.Cause, "staging-2") {
					t.Errorf("error = %s %q, want FleetMismatch naming staging-2", d.Error, d.Cause)
				}
				return d
			},
			status: contract.StatusRolledBack, serves: v2, schema: 2, next: "v3",
		},
		{
			name: "two deploys at once: a slow good one, then a bad one", publish: []string{"v3slow", "v4bad"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				a := w.cli("deploy", "--env", "staging", "--version", "v3slow")
				var aOut, bOut strings.Builder
				a.Stdout, a.Stderr = &aOut, &aOut
				if err := a.Start(); err != nil {
					t.Fatal(err)
				}
				w.waitForStep("lease on demo/staging taken", 60*time.Second)
				time.Sleep(300 * time.Millisecond)
				b := w.cli("deploy", "--env", "staging", "--version", "v4bad")
				b.Stdout, b.Stderr = &bOut, &bOut
				if err := b.Start(); err != nil {
					t.Fatal(err)
				}
				if code := exitCode(a.Wait()); code != 0 {
					t.Errorf("the slow good deploy exited %d:\n%s", code, aOut.String())
				}
				if code := exitCode(b.Wait()); code != 1 {
					t.Errorf("the bad deploy exited %d, want 1:\n%s", code, bOut.String())
				}
				// It says whom it waits for once it has waited a few seconds
				// (the lock's first note comes after its pace); on a loaded
				// machine its Preflight can take long enough that the wait
				// is shorter than that, and then it says what changed while
				// it waited.
				if out := bOut.String(); !strings.Contains(out, "waiting for deployment staging-v3slow") &&
					!strings.Contains(out, "while this deployment waited, demo/staging changed: it now serves v3slow") {
					t.Errorf("the second deploy did not say whom it waited for, nor what changed while it waited:\n%s", out)
				}
				ds, _ := w.env.Ledger.ListDeployments(context.Background(), "demo", "staging", 1)
				d := ds[0]
				if d.Version != "v4bad" || d.PreviousVersion != "v3slow" {
					t.Errorf("the bad deploy's record = %s over %s, want v4bad over v3slow (read under the lease)", d.Version, d.PreviousVersion)
				}
				return d
			},
			status: contract.StatusRolledBack, serves: "v3slow", schema: 2, next: "v3",
		},
		{
			name: "a corrupt bundle", publish: []string{"v3"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				path := filepath.Join(w.dir, "artifacts", "demo", "v3.tar.gz")
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)/2] ^= 0xff
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				d := w.deploy("v3")
				if d.Error != "PreflightFailed" || !strings.Contains(d.Cause, "sha256") {
					t.Errorf("error = %s %q, want PreflightFailed naming the checksum", d.Error, d.Cause)
				}
				// Publishing the good bytes again repairs it.
				if code, out := w.runCLI("release", "publish", w.bundleFile("v3"), "--version", "v3"); code != 0 {
					t.Errorf("publish v3 again = %d:\n%s", code, out)
				}
				return d
			},
			status: contract.StatusFailed, serves: v2, schema: 2, next: "v3",
		},
		{
			name: "a release republished with other bytes", publish: []string{"v3"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				if d := w.deploy("v3"); d.Status != contract.StatusSucceeded {
					t.Fatalf("deploy v3 = %s: %s", d.Status, d.Summary)
				}
				pids := map[string]int{}
				for _, id := range []string{"staging-1", "staging-2", "staging-3"} {
					pids[id] = w.appPID(id)
				}
				again := w.bundleFile("v3again")
				if code, out := w.runCLI("release", "publish", again, "--version", "v3"); code != 3 || !strings.Contains(out, "--replace") {
					t.Errorf("publish other bytes as v3 = %d, want 3 with a hint naming --replace:\n%s", code, out)
				}
				if code, out := w.runCLI("release", "publish", again, "--version", "v3", "--replace"); code != 0 {
					t.Fatalf("publish --replace = %d:\n%s", code, out)
				}
				meta, _ := w.env.Artifacts.Stat(context.Background(), "demo", "v3")
				d := w.deploy("v3")
				for id, pid := range pids {
					marker, _ := os.ReadFile(filepath.Join(w.env.Fleet.InstanceDir("staging", id), "releases", "v3", ".slipway-release"))
					if !strings.Contains(string(marker), "sha256="+meta.SHA256) {
						t.Errorf("%s keeps v3 from other bytes than the published ones (%s):\n%s", id, meta.SHA256, marker)
					}
					if w.appPID(id) == pid {
						t.Errorf("%s was not restarted on the republished bytes", id)
					}
				}
				return d
			},
			status: contract.StatusSucceeded, serves: "v3", schema: 2, next: v2,
		},
		{
			name: "a migration fails inside its transaction", publish: []string{"v4txfail"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				return w.deploy("v4txfail")
			},
			status: contract.StatusFailed, serves: v2, schema: 2, next: "v3",
		},
		{
			name: "a no-transaction migration fails part way", publish: []string{"v4stepfail", "v4stepfixed"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				d := w.deploy("v4stepfail")
				if !strings.Contains(d.Summary, "stopped part way") || !strings.Contains(d.Summary, "restore") {
					t.Errorf("summary = %q, want it to say the migration stopped part way and how to restore", d.Summary)
				}
				return d
			},
			status: contract.StatusRolledBackSchemaKept, serves: v2, schema: 4, dirty: "4", rowsChanged: true, next: "v4stepfixed",
		},
		{
			name: "a health endpoint that hangs", publish: []string{"v4hang"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				return w.deploy("v4hang")
			},
			status: contract.StatusRolledBack, serves: v2, schema: 2, next: "v3",
		},
		{
			name: "a broken release that moves its health endpoint", publish: []string{"v4path"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				return w.deploy("v4path")
			},
			status: contract.StatusRolledBack, serves: v2, schema: 2, next: "v3",
		},
		{
			name: "a redeploy of the served release with a dead instance", publish: []string{"v3"},
			fault: func(t *testing.T, w *world) ledger.Deployment {
				if d := w.deploy("v3"); d.Status != contract.StatusSucceeded {
					t.Fatalf("deploy v3 = %s: %s", d.Status, d.Summary)
				}
				w.kill("staging-2")
				d := w.deploy("v3")
				// The release before v3 is still the rollback target.
				if code, out := w.runCLI("rollback", "--env", "staging"); code != 0 || !strings.Contains(out, "serves v2 again") {
					t.Errorf("slipway rollback after the redeploy = %d, want 0 and v2 back:\n%s", code, out)
				}
				w.uniform(v2)
				if code, out := w.runCLI("deploy", "--env", "staging", "--version", "v3"); code != 0 {
					t.Fatalf("deploy v3 again = %d:\n%s", code, out)
				}
				return d
			},
			status: contract.StatusSucceeded, serves: "v3", schema: 2, next: v2,
		},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			opts := localenv.Options{App: "demo", Instances: 3, Balancer: r.balancer}
			w := newWorldWith(t, opts, r.publish...)
			w.publish("v3")
			before := w.db()
			d := r.fault(t, w)
			want := r.statuses
			if r.status != "" {
				want = []string{r.status}
			}
			if !contains(want, d.Status) {
				t.Errorf("status = %s (%s %s): %s; want %v", d.Status, d.Error, d.Cause, d.Summary, want)
			}
			if r.serves != "" {
				w.uniform(r.serves)
			}
			after := w.db()
			if after.version != r.schema || after.dirty != r.dirty {
				t.Errorf("schema = %d (dirty %q), want %d (dirty %q)", after.version, after.dirty, r.schema, r.dirty)
			}
			if r.schema == before.version && after.schema != before.schema {
				t.Errorf("the schema changed (%s -> %s) though its version did not", before.schema, after.schema)
			}
			if changed := after.rows != before.rows; changed != r.rowsChanged {
				t.Errorf("users rows changed = %t, want %t", changed, r.rowsChanged)
			}
			w.settled()
			// The record's observation is what is there now (nothing moved
			// since it closed, except in the rows whose fault deploys again).
			if o := d.Observed; o == nil || o.Fleet == nil {
				if d.Status != contract.StatusFailed || d.Error == "" {
					t.Errorf("record %s keeps no observation", d.ID)
				}
			}
			if n := w.deploy(r.next); n.Status != contract.StatusSucceeded {
				t.Fatalf("the next deployment (%s) = %s: %s", r.next, n.Status, n.Summary)
			}
			w.uniform(r.next)
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func hasEvent(events []ledger.Event, kind, id string) bool {
	for _, e := range events {
		if e.Kind == kind && e.DeploymentID == id {
			return true
		}
	}
	return false
}

func exitCode(err error) int {
	if ee, ok := err.(interface{ ExitCode() int }); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// waitForFile waits until instance id has file rel.
func (w *world) waitForFile(id, rel string, timeout time.Duration) {
	w.t.Helper()
	path := filepath.Join(w.env.Fleet.InstanceDir("staging", id), rel)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("%s has no %s after %s", id, rel, timeout)
}

// running returns the id of the environment's running deployment.
func (w *world) running(t *testing.T) string {
	t.Helper()
	ds, err := w.env.Ledger.ListDeployments(context.Background(), "demo", "staging", 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if !d.Final() {
			return d.ID
		}
	}
	t.Fatalf("no deployment is running: %+v", ds)
	return ""
}

// bundleFile writes release version's bundle to a file for the CLI.
func (w *world) bundleFile(version string) string {
	w.t.Helper()
	path := filepath.Join(w.t.TempDir(), version+".tar.gz")
	if err := os.WriteFile(path, bundle(w.t, version), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return path
}
