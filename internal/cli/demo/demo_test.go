package demo

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/litedb"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// TestDemoEndToEnd runs the demo scenario as `slipway demo` does, through
// `slipway deploy --local`'s code, in a temporary directory and
// checks what is real afterwards: where current points on every instance,
// what every instance's /healthz answers, the schema version in the
// database, the ledger, and that no process is left running.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three releases and runs real processes")
	}
	root := filepath.Join(t.TempDir(), "state")
	var out strings.Builder
	ctx := context.Background()
	outcomes, err := Run(ctx, &Options{IO: &factory.IOStreams{Out: &out}, Dir: root, AppDir: filepath.Join("..", "..", "..", "examples", "demo-app"), Instances: 3, Keep: true})
	env, openErr := localenv.Open(root)
	if openErr != nil {
		t.Fatalf("open the demo environment: %v", openErr)
	}
	t.Cleanup(func() { env.Stop(context.Background()) })
	if err != nil {
		t.Fatalf("Run() error = %v\noutput:\n%s", err, out.String())
	}

	// Outcomes, from the ledger.
	want := map[string]string{"v1": contract.StatusSucceeded, "v2": contract.StatusSucceeded, "v3": contract.StatusRolledBack}
	for _, o := range outcomes {
		d, err := env.Ledger.GetDeployment(ctx, o.DeploymentID)
		if err != nil {
			t.Fatalf("GetDeployment(%s): %v", o.DeploymentID, err)
		}
		if d.Status != want[o.Version] {
			t.Errorf("ledger: deployment of %s is %s, want %s", o.Version, d.Status, want[o.Version])
		}
		if d.FinishedAt.IsZero() || d.Summary == "" {
			t.Errorf("ledger: deployment of %s has no finish time or summary: %+v", o.Version, d)
		}
	}
	v3 := outcomes[2]
	d3, _ := env.Ledger.GetDeployment(ctx, v3.DeploymentID)
	if d3.Error != "HealthCheckFailed" || d3.PreviousVersion != "v2" || d3.SnapshotID == "" {
		t.Errorf("ledger: v3 = error %q previous %q snapshot %q, want HealthCheckFailed, v2 and a snapshot", d3.Error, d3.PreviousVersion, d3.SnapshotID)
	}
	if !strings.Contains(d3.Summary, "reverted from 3 to 2") {
		t.Errorf("ledger: v3 summary = %q, want it to say the schema was reverted from 3 to 2", d3.Summary)
	}
	steps, err := env.Ledger.Steps(ctx, v3.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, s := range steps {
		stages = append(stages, s.Stage+":"+s.Status)
	}
	for _, want := range []string{"rollout:failed", "rollback:ok", "verify-rollback:ok", "revert-schema:ok", "record:failed", "unlock:ok"} {
		if !strings.Contains(strings.Join(stages, " "), want) {
			t.Errorf("ledger: v3 steps %v lack %s", stages, want)
		}
	}
	all, err := env.Ledger.InstanceResults(ctx, v3.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	var results, observed []ledger.InstanceResult
	for _, r := range all {
		switch r.Action {
		case "activate", "rollback":
			results = append(results, r)
		case "observe":
			observed = append(observed, r)
		}
	}
	if len(observed) != 3 {
		t.Errorf("ledger: v3 observed %d instances at the end, want 3: %+v", len(observed), observed)
	}
	for _, o := range observed {
		if o.Version != "v2" || o.Status != "Healthy" {
			t.Errorf("ledger: %s observed %s %s after the rollback, want v2 Healthy", o.InstanceID, o.Version, o.Status)
		}
	}
	if len(results) != 2 || results[0].Action != "activate" || results[0].ExitCode != 6 || results[1].Action != "rollback" || results[1].Status != "Success" {
		t.Errorf("ledger: v3 instance results = %+v, want the canary's failed activation (exit 6) and its successful rollback", results)
	}

	// Every instance: current -> releases/v2, and /healthz answers v2 on schema 2.
	insts, err := env.Fleet.Instances(ctx, "staging")
	if err != nil || len(insts) != 3 {
		t.Fatalf("Instances() = %v, %v; want 3", insts, err)
	}
	for _, inst := range insts {
		link, err := os.Readlink(filepath.Join(env.Fleet.InstanceDir("staging", inst.ID), "current"))
		if err != nil || filepath.Base(link) != "v2" {
			t.Errorf("%s: current -> %q (%v), want releases/v2", inst.ID, link, err)
		}
		resp, err := http.Get("http://" + inst.Address + "/healthz")
		if err != nil {
			t.Errorf("%s: GET /healthz: %v", inst.ID, err)
			continue
		}
		var h struct {
			Status        string `json:"status"`
			Version       string `json:"version"`
			SchemaVersion int64  `json:"schema_version"`
		}
		json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if resp.StatusCode != 200 || h.Version != "v2" || h.SchemaVersion != 2 || h.Status != "ok" {
			t.Errorf("%s: /healthz = %d %+v, want 200 ok v2 schema 2", inst.ID, resp.StatusCode, h)
		}
	}

	// The database: schema at 2, v3's column gone, v2's still there.
	db, err := litedb.Open(env.DatabasePath("staging"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var schema int64
	if err := db.QueryRow(`SELECT MAX(version) FROM slipway_migrations`).Scan(&schema); err != nil || schema != 2 {
		t.Errorf("schema version = %d (%v), want 2", schema, err)
	}
	if hasColumn(t, db, "users", "nickname") || !hasColumn(t, db, "users", "email") {
		t.Errorf("users columns: want email (v2) and no nickname (v3 reverted)")
	}

	// No lease left, and after Stop no process.
	locks, _ := env.Ledger.Locks(ctx, "demo", "staging")
	if len(locks) != 0 {
		t.Errorf("locks after the demo = %+v, want none", locks)
	}
	pids, err := env.Fleet.PIDs()
	if err != nil || len(pids) != 3 {
		t.Fatalf("PIDs() before Stop = %v, %v; want 3 running apps", pids, err)
	}
	if err := env.Stop(ctx); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d still running after Stop", pid)
		}
	}
}

func hasColumn(t *testing.T, db *sql.DB, table, column string) bool {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		rows.Scan(&n)
		if n == column {
			return true
		}
	}
	return false
}
