package schema_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/schema"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// TestMigrateHandler runs the Migrate handler's actions on a SQLite
// database, row by row: what it applies, what it records in the ledger
// (the schema version after, a step), and how a failure reads.
func TestMigrateHandler(t *testing.T) {
	reversible := map[string]string{
		"0001_users.up.sql":   "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
		"0001_users.down.sql": "DROP TABLE users;",
		"0002_email.up.sql":   "ALTER TABLE users ADD COLUMN email TEXT;",
		"0002_email.down.sql": "ALTER TABLE users DROP COLUMN email;",
	}
	broken := map[string]string{
		"0001_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY);",
		"0002_fill.up.sql":  "INSERT INTO accounts (id) VALUES (1);",
	}
	const password = "pa55-w0rd-never-shown"
	for _, tt := range []struct {
		name   string
		files  map[string]string
		setup  func(t *testing.T, e *dbEnv, h *schema.Migrate) // before the action
		action string
		// secret replaces the database secret's value; "-" removes the secret.
		secret string
		// the output's From → To, or the error's words
		from, to   int64
		wantErr    string
		errVersion int64
		stepStatus string
		stepSays   string
		after      int64 // the record's schema version after; -1 unchanged
	}{
		{name: "up applies what is pending", files: reversible, action: "up", from: 0, to: 2,
			stepStatus: pipeline.StepOK, stepSays: "schema 0 → 2: applied [1 2]", after: 2},
		{name: "up with nothing pending", files: reversible, action: "up", from: 2, to: 2,
			setup:      func(t *testing.T, e *dbEnv, h *schema.Migrate) { up(t, e, h, "d-0") },
			stepStatus: pipeline.StepSkipped, stepSays: "schema is at 2: nothing to apply", after: 2},
		{name: "a broken migration stops at its statement", files: broken, action: "up",
			wantErr: "no such table: accounts", errVersion: 2, stepStatus: pipeline.StepFailed, stepSays: "(applied before it: [1])", after: 1},
		{name: "the database secret is missing", files: reversible, action: "up", secret: "-",
			wantErr: `secret "db" not found`, stepStatus: pipeline.StepFailed, stepSays: "create it, or fix database_secret in the Slipway configuration", after: -1},
		{name: "the database refuses the connection", files: reversible, action: "up",
			secret:  `{"engine":"postgres","host":"127.0.0.1","port":1,"username":"app","password":"` + password + `","dbname":"app"}`,
			wantErr: "check the secret and that the database accepts connections from here", stepStatus: pipeline.StepFailed, stepSays: "connect to the database of staging", after: -1},
		{name: "revert without a snapshot", files: reversible, action: "revert",
			stepStatus: pipeline.StepSkipped, stepSays: "no migration ran: the schema was not changed", after: -1},
		{name: "revert runs the down files", files: reversible, action: "revert", from: 2, to: 0,
			setup: func(t *testing.T, e *dbEnv, h *schema.Migrate) {
				snapshot(t, e, "d-1")
				up(t, e, h, "d-1")
			},
			stepStatus: pipeline.StepOK, stepSays: "schema reverted 2 → 0: ran down migrations [2 1]", after: 0},
		{name: "unknown action", files: reversible, action: "down", wantErr: `unknown action "down" (up, revert or observe)`, after: -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newDBEnv(t, tt.files, "")
			if err := e.deps.Ledger.PutDeployment(ctx, ledger.Deployment{ID: "d-1", App: "demo", Environment: "staging", Version: "v1", Kind: contract.KindDeploy,
				Status: contract.StatusRunning, StartedAt: time.Now(), SchemaBefore: 0, SchemaAfter: -1}); err != nil {
				t.Fatal(err)
			}
			h := &schema.Migrate{Deps: e.deps}
			if tt.setup != nil {
				tt.setup(t, e, h)
			}
			switch tt.secret {
			case "":
			case "-":
				e.deps.Secrets = &secret.File{Path: t.TempDir() + "/none.json"}
			default:
				e.deps.Secrets.(*secret.File).Put("db", tt.secret)
			}
			stepsBefore, _ := e.deps.Ledger.Steps(ctx, "d-1")
			recBefore, _ := e.deps.Ledger.GetDeployment(ctx, "d-1")
			out, err := h.Handle(ctx, contract.MigrateInput{Action: tt.action, DeploymentID: "d-1", App: "demo", Environment: "staging", Version: "v1", Artifact: e.meta})
			if tt.wantErr == "" {
				if err != nil || out.From != tt.from || out.To != tt.to {
					t.Fatalf("Handle(%s) = %+v, %v; want %d → %d", tt.action, out, err, tt.from, tt.to)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Handle(%s) = %+v, %v; want an error saying %q", tt.action, out, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), password) {
					t.Fatalf("the error shows the database password: %v", err)
				}
				var mf *contract.MigrationFailed
				if tt.stepStatus != "" && (!errors.As(err, &mf) || mf.Version != tt.errVersion) {
					t.Errorf("error = %T %v; want a MigrationFailed naming migration %d", err, err, tt.errVersion)
				}
			}
			steps, _ := e.deps.Ledger.Steps(ctx, "d-1")
			steps = steps[len(stepsBefore):]
			if tt.stepStatus == "" {
				if len(steps) != 0 {
					t.Errorf("steps = %v; want none", steps)
				}
			} else if len(steps) != 1 || steps[0].Status != tt.stepStatus || !strings.Contains(steps[0].Message, tt.stepSays) {
				t.Errorf("steps = %v; want one, %s, saying %q", steps, tt.stepStatus, tt.stepSays)
			} else if strings.Contains(steps[0].Message, password) {
				t.Errorf("the step shows the database password: %q", steps[0].Message)
			}
			rec, _ := e.deps.Ledger.GetDeployment(ctx, "d-1")
			want := tt.after
			if want == -1 {
				want = recBefore.SchemaAfter
			}
			if rec.SchemaAfter != want {
				t.Errorf("record's schema after = %d; want %d", rec.SchemaAfter, want)
			}
		})
	}
}

// TestMigrateObserve: observe reads the version and changes nothing; a
// database out of reach is an observation that says why, not an error.
func TestMigrateObserve(t *testing.T) {
	ctx := context.Background()
	e := newDBEnv(t, map[string]string{"0001_t.up.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY);"}, "")
	e.deps.Ledger.PutDeployment(ctx, ledger.Deployment{ID: "d-1", App: "demo", Environment: "staging", Version: "v1", Kind: contract.KindDeploy,
		Status: contract.StatusRunning, StartedAt: time.Now(), SchemaBefore: 0, SchemaAfter: -1})
	h := &schema.Migrate{Deps: e.deps}
	up(t, e, h, "d-1")
	out, err := h.Handle(ctx, contract.MigrateInput{Action: contract.MigrateObserve, Environment: "staging"})
	if err != nil || out.Observed == nil || !out.Observed.Known || out.Observed.Version != 1 || out.From != 1 || out.To != 1 {
		t.Fatalf("observe = %+v (%+v), %v; want version 1 known", out, out.Observed, err)
	}
	e.deps.Secrets = &secret.File{Path: t.TempDir() + "/none.json"}
	out, err = h.Handle(ctx, contract.MigrateInput{Action: contract.MigrateObserve, Environment: "staging"})
	if err != nil || out.Observed == nil || out.Observed.Known || !strings.Contains(out.Observed.Note, `"db"`) {
		t.Fatalf("observe without the secret = %+v (%+v), %v; want unknown, saying which secret", out, out.Observed, err)
	}
}

func up(t *testing.T, e *dbEnv, h *schema.Migrate, id string) {
	t.Helper()
	if _, err := h.Handle(context.Background(), contract.MigrateInput{Action: "up", DeploymentID: id, App: "demo", Environment: "staging", Version: "v1", Artifact: e.meta}); err != nil {
		t.Fatal(err)
	}
}

func snapshot(t *testing.T, e *dbEnv, id string) {
	t.Helper()
	out, err := (&pipeline.Snapshot{Deps: e.deps}).Handle(context.Background(), contract.SnapshotInput{Action: contract.SnapshotCreate, DeploymentID: id, App: "demo", Environment: "staging", Pending: []int64{1, 2}})
	if err != nil || out.Status != contract.SnapshotAvailable {
		t.Fatalf("Snapshot = %+v, %v", out, err)
	}
}
