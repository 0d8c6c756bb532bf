package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/notify"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
	"github.com/slipway-deploy/slipway/internal/snapshot"
)

// fakeSnapshots answers Create and Status from a script and keeps what it
// pruned.
type fakeSnapshots struct {
	create, status string
	err            error
	pruned         []string
	pruneKeep      int
}

func (f *fakeSnapshots) Create(context.Context, string) (string, error) { return f.create, f.err }
func (f *fakeSnapshots) Status(context.Context, string) (string, error) { return f.status, f.err }
func (f *fakeSnapshots) RestoreProcedure(id string) string              { return "restore " + id }
func (f *fakeSnapshots) Prune(_ context.Context, prefix, current string, keep int) ([]string, error) {
	f.pruneKeep = keep
	f.pruned = append(f.pruned, prefix+"old")
	return []string{prefix + "old"}, nil
}

// TestSnapshotHandler is the Snapshot stage's table: no pending migration
// skips it; create records the snapshot's id on the deployment and waits
// while it is creating; available is a step and prunes the older ones;
// the snapshotter's error fails the stage, named; an unknown action and an
// unknown environment are errors.
func TestSnapshotHandler(t *testing.T) {
	for _, tt := range []struct {
		name       string
		in         contract.SnapshotInput
		snaps      fakeSnapshots
		want       string // the output's status, or "" for an error
		wantErr    string
		recordedID bool
		pruned     bool
	}{
		{name: "no pending migration", in: contract.SnapshotInput{Action: contract.SnapshotCreate}, want: contract.SnapshotSkipped},
		{name: "create, still creating", in: contract.SnapshotInput{Action: contract.SnapshotCreate, Pending: []int64{2}},
			snaps: fakeSnapshots{create: snapshot.Creating}, want: contract.SnapshotCreating, recordedID: true},
		{name: "create, available at once", in: contract.SnapshotInput{Action: contract.SnapshotCreate, Pending: []int64{2}},
			snaps: fakeSnapshots{create: snapshot.Available}, want: contract.SnapshotAvailable, recordedID: true, pruned: true},
		{name: "status, available", in: contract.SnapshotInput{Action: contract.SnapshotStatus, SnapshotID: "slipway-demo-staging-d-1"},
			snaps: fakeSnapshots{status: snapshot.Available}, want: contract.SnapshotAvailable, pruned: true},
		{name: "the snapshotter fails", in: contract.SnapshotInput{Action: contract.SnapshotCreate, Pending: []int64{2}},
			snaps: fakeSnapshots{err: errors.New("InvalidDBInstanceState: the instance is stopped")}, wantErr: "InvalidDBInstanceState"},
		{name: "unknown action", in: contract.SnapshotInput{Action: "delete", Pending: []int64{2}}, wantErr: "unknown action"},
		{name: "unknown environment", in: contract.SnapshotInput{Action: contract.SnapshotCreate, Pending: []int64{2}, Environment: "qa"}, wantErr: "qa"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			led := pipelinetest.Ledger(t)
			if err := led.PutDeployment(ctx, ledger.Deployment{ID: "d-1", App: "demo", Environment: "staging", Kind: contract.KindDeploy, Status: contract.StatusRunning,
				StartedAt: time.Now(), SchemaBefore: -1, SchemaAfter: -1}); err != nil {
				t.Fatal(err)
			}
			snaps := tt.snaps
			h := &Snapshot{Deps: &Deps{Config: &config.Config{App: "demo", Environments: map[string]config.Environment{"staging": {}}}, Ledger: led,
				Snapshots: func(string, config.Environment) (Snapshotter, error) { return &snaps, nil }}}
			in := tt.in
			in.App, in.DeploymentID = "demo", "d-1"
			if in.Environment == "" {
				in.Environment = "staging"
			}
			out, err := h.Handle(ctx, in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Handle = %+v, %v; want an error saying %q", out, err, tt.wantErr)
				}
				return
			}
			if err != nil || out.Status != tt.want {
				t.Fatalf("Handle = %+v, %v; want %s", out, err, tt.want)
			}
			d, _ := led.GetDeployment(ctx, "d-1")
			if got := d.SnapshotID != ""; got != tt.recordedID {
				t.Errorf("the deployment's snapshot id = %q; want one recorded: %v", d.SnapshotID, tt.recordedID)
			}
			if got := len(snaps.pruned) > 0; got != tt.pruned || (got && snaps.pruneKeep != 5) {
				t.Errorf("pruned %v (keep %d); want pruned %v, keeping the default 5", snaps.pruned, snaps.pruneKeep, tt.pruned)
			}
		})
	}
}

// recordedNotes keeps the messages sent.
type recordedNotes struct{ sent []notify.Message }

func (r *recordedNotes) Notify(_ context.Context, m notify.Message) error {
	r.sent = append(r.sent, m)
	return nil
}

// TestApprovalHandler: the approval request is recorded with its task
// token and sent with the commands that decide it; without a token (a
// definition not using .waitForTaskToken) it is an error.
func TestApprovalHandler(t *testing.T) {
	ctx := context.Background()
	led := pipelinetest.Ledger(t)
	notes := &recordedNotes{}
	h := &Approval{Deps: &Deps{Ledger: led, Notifier: notes}}
	in := contract.ApprovalInput{App: "demo", Environment: "production", DeploymentID: "d-9", ExecutionID: "exec-9", Version: "v2", PreviousVersion: "v1",
		Token: "tok-1", InstanceCount: 3, Pending: []int64{4}, Trigger: contract.Trigger{Actor: "ada"}}
	if _, err := h.Handle(ctx, in); err != nil {
		t.Fatal(err)
	}
	a, err := led.GetApproval(ctx, "demo", "production", "d-9")
	if err != nil || a.Token != "tok-1" || !strings.Contains(a.Summary, "deploy v2 to production (replacing v1): 3 instances, 1 pending migration, started by ada") {
		t.Errorf("approval = %+v, %v", a, err)
	}
	if len(notes.sent) != 1 || !strings.Contains(notes.sent[0].Body, "slipway approve d-9") || !strings.Contains(notes.sent[0].Body, "slipway reject d-9") ||
		notes.sent[0].Attributes["kind"] != "approval" {
		t.Errorf("sent = %+v; want one approval request naming approve and reject", notes.sent)
	}
	in.Token = ""
	if _, err := h.Handle(ctx, in); err == nil || !strings.Contains(err.Error(), "waitForTaskToken") {
		t.Errorf("without a token: %v; want an error naming .waitForTaskToken", err)
	}
}
