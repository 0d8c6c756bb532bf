package faults

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/litedb"
	"github.com/slipway-deploy/slipway/internal/loadgen"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/scenario"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// manifest is the matrix's manifest: three instances deploy in two waves,
// a canary then the rest (behind the load balancer, the canary alone
// serves while the rest is out: min_healthy 1).
const manifest = `app: demo
service: {start: bin/demo-app, unit: demo-app}
health: {path: %s, successes: 2, interval: 1s, timeout: 6s}
rollout: {waves: [1, "100%%"], poll_interval: 1s, lease_wait: 3m, min_healthy: 1}
bake: {duration: 1m, interval: 20s}
alarms: [demo-5xx]
keep_releases: 5
`

// release is a build of the demo app the matrix deploys.
type release struct {
	// version is the version it is built as (default: its key).
	version string
	// from is the demo app's release whose code and schema it has.
	from string
	// config replaces that release's config.json.
	config string
	// healthPath is the manifest's health path (default /healthz).
	healthPath string
	// migrations adds migration files.
	migrations map[string]string
}

// releases are the builds the rows use, by version.
var releases = map[string]release{
	"v1": {from: "v1"},
	"v2": {from: "v2"},
	// v3 is a good release on v2's schema; v3slow takes 3s to start, so a
	// wave lasts long enough to be interrupted.
	"v3":     {from: "v2", config: `{"schema": 2, "health_query": "SELECT count(*) FROM users"}`},
	"v3slow": {from: "v2", config: `{"schema": 2, "health_query": "SELECT count(*) FROM users", "start_delay": "3s"}`},
	// v4bad fails its health check: its code needs a table nothing creates.
	"v4bad": {from: "v2", config: `{"schema": 2, "health_query": "SELECT count(*) FROM feature_flags"}`},
	// v4hang's health endpoint never answers in time.
	"v4hang": {from: "v2", config: `{"schema": 2, "health_query": "SELECT 1", "health_delay": "60s"}`},
	// v4path moves its health endpoint and is broken: a rollback must probe
	// v2 where v2 answers, /healthz.
	"v4path": {from: "v2", healthPath: "/health/v4", config: `{"schema": 2, "health_query": "SELECT count(*) FROM feature_flags", "health_path": "/health/v4"}`},
	// v4txfail's migration fails inside its transaction: nothing stays.
	"v4txfail": {from: "v2", migrations: map[string]string{
		"0004_flags.up.sql": "CREATE TABLE flags (name TEXT);\nINSERT INTO no_such_table VALUES (1);\n"}},
	// v4stepfail's no-transaction migration changes rows, then fails.
	"v4stepfail": {from: "v2", migrations: map[string]string{
		"0004_shout.up.sql": "-- slipway:no-transaction\nUPDATE users SET name = name || '!';\n-- slipway:ignore engine-rejects the row needs a statement that fails at run time\nINSERT INTO no_such_table VALUES (1);\n"}},
	// v3again is v3 built again from other bytes, as a careless CI would
	// republish it.
	"v3again": {version: "v3", from: "v2", config: `{"schema": 2, "health_query": "SELECT count(*) FROM users WHERE id > 0"}`},
	// v4stepfixed fixes that migration's failed statement: it resumes.
	"v4stepfixed": {from: "v2", migrations: map[string]string{
		"0004_shout.up.sql": "-- slipway:no-transaction\nUPDATE users SET name = name || '!';\nCREATE TABLE shouted (n INTEGER);\n"}},
}

var (
	buildMu sync.Mutex
	built   = map[string][]byte{}
	workDir string
)

// bundle builds (once per test binary) and returns release version.
func bundle(t *testing.T, version string) []byte {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[version]; ok {
		return b
	}
	r, ok := releases[version]
	if !ok {
		t.Fatalf("no release %s in the matrix", version)
	}
	if workDir == "" {
		dir, err := os.MkdirTemp("", "slipway-faults-")
		if err != nil {
			t.Fatal(err)
		}
		workDir = dir
	}
	path := r.healthPath
	if path == "" {
		path = "/healthz"
	}
	opts := scenario.BuildOptions{Manifest: []byte(fmt.Sprintf(manifest, path)), From: r.from, Migrations: r.migrations}
	if r.config != "" {
		opts.Config = []byte(r.config)
	}
	as := version
	if r.version != "" {
		as = r.version
	}
	b, err := scenario.BuildRelease(context.Background(), appDir(), as, filepath.Join(workDir, version), opts)
	if err != nil {
		t.Fatalf("build %s: %v", version, err)
	}
	built[version] = b
	return b
}

func appDir() string { return filepath.Join("..", "..", "examples", "demo-app") }

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// slipwayBinary builds the slipway CLI once per test binary.
func slipwayBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-cli-")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "slipway")
		cmd := exec.Command("go", "build", "-o", cliPath, "../../cmd/slipway")
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("go build slipway: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if workDir != "" {
		os.RemoveAll(workDir)
	}
	if cliPath != "" {
		os.RemoveAll(filepath.Dir(cliPath))
	}
	os.Exit(code)
}

// world is one row's embedded environment: three instances of demo on
// staging, serving v2 (deployed first) on schema 2 with data.
type world struct {
	t   *testing.T
	dir string
	env *localenv.Env
}

// newWorldWith sets up a row's world on an environment initialised with
// opts (the matrix gives demo with three instances, and a balancer where
// the row runs behind one).
func newWorldWith(t *testing.T, opts localenv.Options, versions ...string) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real processes")
	}
	dir := filepath.Join(t.TempDir(), "state")
	env, err := localenv.Init(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dir: dir, env: env}
	t.Cleanup(func() { env.Stop(context.Background()) })
	for _, v := range append([]string{"v2"}, versions...) {
		w.publish(v)
	}
	if d := w.deploy(v2); d.Status != contract.StatusSucceeded {
		t.Fatalf("baseline deploy of v2 = %s: %s", d.Status, d.Summary)
	}
	return w
}

const v2 = "v2"

func (w *world) publish(version string) {
	w.t.Helper()
	if _, err := w.env.Artifacts.Publish(context.Background(), "demo", version, bundle(w.t, version)); err != nil {
		w.t.Fatal(err)
	}
}

// deploy runs the deploy machine in this process and returns the record.
func (w *world) deploy(version string, hooks ...func(asl.HistoryEvent)) ledger.Deployment {
	w.t.Helper()
	opts := localenv.RunOptions{}
	if len(hooks) > 0 {
		opts.OnEvent = hooks[0]
	}
	exec, err := w.env.Deploy(context.Background(), contract.DeployRequest{App: "demo", Environment: "staging", Version: version,
		Trigger: contract.Trigger{Source: "cli", Actor: "faults"}}, opts)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.record(exec.Name)
}

func (w *world) record(id string) ledger.Deployment {
	w.t.Helper()
	d, err := w.env.Ledger.GetDeployment(context.Background(), id)
	if err != nil {
		w.t.Fatalf("no record of %s: %v", id, err)
	}
	return d
}

// cli returns the slipway CLI acting on this world's environment.
func (w *world) cli(args ...string) *exec.Cmd {
	cmd := exec.Command(slipwayBinary(w.t), args...)
	cmd.Env = append(os.Environ(), "SLIPWAY_LOCAL_DIR="+w.dir, "NO_COLOR=1")
	return cmd
}

// runCLI runs the CLI to its end and returns its exit code and output.
func (w *world) runCLI(args ...string) (int, string) {
	w.t.Helper()
	cmd := w.cli(args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return 0, out.String()
}

// waitForStep waits until deployment steps of the environment contain
// text, and returns the deployment's id.
func (w *world) waitForStep(text string, timeout time.Duration) string {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ds, _ := w.env.Ledger.ListDeployments(context.Background(), "demo", "staging", 5)
		for _, d := range ds {
			if d.Final() {
				continue
			}
			steps, _ := w.env.Ledger.Steps(context.Background(), d.ID)
			for _, s := range steps {
				if strings.Contains(s.Message, text) {
					return d.ID
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("no running deployment wrote %q within %s", text, timeout)
	return ""
}

// instance is what one instance really is.
type instance struct {
	current string // where its current link points
	serves  string // the version its app answers, "" when it does not
}

// fleet reads every instance's current link and probes its app where its
// current release says it answers.
func (w *world) fleet() map[string]instance {
	w.t.Helper()
	insts, err := w.env.Fleet.Instances(context.Background(), "staging")
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]instance{}
	for _, i := range insts {
		cur, err := w.env.Fleet.Current("staging", i.ID)
		if err != nil {
			w.t.Fatal(err)
		}
		path := "/healthz"
		if r := releases[cur]; r.healthPath != "" {
			path = r.healthPath
		}
		res := health.NewProber(3*time.Second).Probe(context.Background(), i.ID, i.Address, path, 200, "")
		serves := ""
		if res.Status == 200 {
			serves = res.Version
		}
		out[i.ID] = instance{current: cur, serves: serves}
	}
	return out
}

// uniform checks that every instance is on version and answers with it.
func (w *world) uniform(version string) {
	w.t.Helper()
	for id, i := range w.fleet() {
		if i.current != version || i.serves != version {
			w.t.Errorf("%s: current %q, answers %q; want both %s", id, i.current, i.serves, version)
		}
	}
}

// dbState is the database: the schema version, the migrations that stopped
// part way, and checksums of the schema and of the users table's rows.
type dbState struct {
	version int64
	dirty   string
	schema  string
	rows    string
}

func (w *world) db() dbState {
	w.t.Helper()
	db, err := litedb.Open(w.env.DatabasePath("staging"))
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	var s dbState
	if err := db.QueryRow(`SELECT COALESCE(MAX(version), 0), COALESCE(group_concat(CASE WHEN dirty THEN version END), '') FROM slipway_migrations`).Scan(&s.version, &s.dirty); err != nil {
		w.t.Fatal(err)
	}
	s.schema = checksum(w.t, db, `SELECT type, name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name != 'slipway_migrations' ORDER BY name`)
	s.rows = checksum(w.t, db, `SELECT * FROM users ORDER BY id`)
	return s
}

func checksum(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	h := sha256.New()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%v\n", vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// settled checks the ledger after a row: once `slipway status` has looked,
// nothing is RUNNING, no lease is held, and every record's status is one
// the observation it keeps supports.
func (w *world) settled() {
	w.t.Helper()
	if code, out := w.runCLI("status", "--env", "staging"); code != 0 {
		w.t.Errorf("slipway status = %d:\n%s", code, out)
	}
	ds, err := w.env.Ledger.ListDeployments(context.Background(), "demo", "staging", 0)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, d := range ds {
		if !d.Final() {
			w.t.Errorf("deployment %s is still %s", d.ID, d.Status)
		}
		o := d.Observed
		switch {
		case d.Status == contract.StatusSucceeded && (o == nil || o.Fleet == nil || o.Fleet.Uniform != d.Version):
			w.t.Errorf("%s is SUCCEEDED but was observed %+v", d.ID, o)
		case contract.RolledBack(d.Status) && d.Kind == contract.KindDeploy && (o == nil || o.Fleet == nil || o.Fleet.Uniform != d.PreviousVersion):
			w.t.Errorf("%s is %s but was observed %+v, not uniformly on %s", d.ID, d.Status, o, d.PreviousVersion)
		}
	}
	locks, err := w.env.Ledger.Locks(context.Background(), "demo", "staging")
	if err != nil || len(locks) != 0 {
		w.t.Errorf("locks after the row = %+v, %v; want none", locks, err)
	}
}

// appPID returns the pid of instance id's app.
func (w *world) appPID(id string) int {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.env.Fleet.InstanceDir("staging", id), "app.pid"))
	if err != nil {
		w.t.Fatal(err)
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	return pid
}

// kill kills instance id's app, as an OOM killer or a crash would.
func (w *world) kill(id string) {
	w.t.Helper()
	pid := w.appPID(id)
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for i := 0; i < 50 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

// hostScriptsRunning counts the host scripts running on this world's
// instances.
func (w *world) hostScriptsRunning() int {
	script := filepath.Join(w.dir, "bin", "slipway-host.sh")
	matches, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	n := 0
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err == nil && bytes.Contains(b, []byte(script)) {
			n++
		}
	}
	return n
}

// balancerStates returns the state of each target of staging's group in
// the load balancer.
func (w *world) balancerStates() map[string]string {
	w.t.Helper()
	ts, err := w.env.Deps.Traffic.Targets(context.Background(), "staging")
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]string{}
	for _, t := range ts {
		out[t.ID] = t.State
	}
	return out
}

// waitOutOfBalancer waits until none of ids is in service in staging's
// group (each draining or gone).
func (w *world) waitOutOfBalancer(timeout time.Duration, ids ...string) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s := w.balancerStates()
		out := 0
		for _, id := range ids {
			if st, ok := s[id]; !ok || st == traffic.StateDraining {
				out++
			}
		}
		if out == len(ids) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("%v still in service in the balancer after %s: %v", ids, timeout, w.balancerStates())
}

// underLoad runs fn while two clients send a request every 5 ms each
// through staging's endpoint, and returns what they counted.
func (w *world) underLoad(fn func()) loadgen.Result {
	w.t.Helper()
	u, err := w.env.Endpoint("staging")
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := loadgen.Start(ctx, loadgen.Options{URLs: []string{u + "/"}, Workers: 2, Interval: 5 * time.Millisecond})
	if err != nil {
		w.t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	err = run.WaitStarted(wctx)
	wcancel()
	if err != nil {
		run.Stop()
		w.t.Fatalf("no answer through %s before the load: %v", u, err)
	}
	fn()
	return run.Stop()
}

// servedThroughBalancer sends requests through staging's endpoint until
// each of ids has answered some (per the balancer's target counters).
func (w *world) servedThroughBalancer(ids ...string) {
	w.t.Helper()
	c, err := w.env.Balancer()
	if err != nil {
		w.t.Fatal(err)
	}
	u, err := w.env.Endpoint("staging")
	if err != nil {
		w.t.Fatal(err)
	}
	count := func() map[string]uint64 {
		cs, err := c.Counters(context.Background())
		if err != nil {
			w.t.Fatal(err)
		}
		out := map[string]uint64{}
		for key, n := range cs.Targets {
			for _, id := range ids {
				if strings.HasPrefix(key, "staging/"+id+":") {
					out[id] += n.Requests
				}
			}
		}
		return out
	}
	before := count()
	for i := 0; i < 30*len(ids); i++ {
		resp, err := http.Get(u + "/")
		if err != nil {
			w.t.Fatalf("request through %s: %v", u, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	after := count()
	for _, id := range ids {
		if after[id] == before[id] {
			w.t.Errorf("%s answered none of %d requests through the balancer (counters %v -> %v)", id, 30*len(ids), before, after)
		}
	}
}
