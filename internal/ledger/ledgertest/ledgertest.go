// Package ledgertest holds what the ledger's tests share: Run, the
// conformance suite every ledger store must pass, and DynamoFake, an
// in-memory DynamoDB that speaks the wire protocol so the DynamoDB store
// can be tested through the real SDK client.
//
// It is test code: nothing outside _test.go files should import it.
package ledgertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/sqlite"
)

// Store is the method set every ledger store has.
type Store interface {
	PutDeployment(ctx context.Context, d ledger.Deployment) error
	GetDeployment(ctx context.Context, id string) (ledger.Deployment, error)
	UpdateDeployment(ctx context.Context, id string, fn func(*ledger.Deployment) error) (ledger.Deployment, error)
	ListDeployments(ctx context.Context, app, env string, limit int) ([]ledger.Deployment, error)
	AddStep(ctx context.Context, st ledger.Step) error
	Steps(ctx context.Context, deploymentID string) ([]ledger.Step, error)
	PutInstanceResults(ctx context.Context, results []ledger.InstanceResult) error
	InstanceResults(ctx context.Context, deploymentID string) ([]ledger.InstanceResult, error)
	AcquireLease(ctx context.Context, app, env, owner, deploymentID string, ttl time.Duration, now time.Time) (ledger.Lock, error)
	ReleaseLease(ctx context.Context, app, env, owner string) (bool, error)
	Locks(ctx context.Context, app, env string) ([]ledger.Lock, error)
	Freeze(ctx context.Context, app, env, owner, message string, now time.Time) error
	Unfreeze(ctx context.Context, app, env string) (bool, error)
	BreakLease(ctx context.Context, app, env string) (ledger.Lock, bool, error)
	AddEvent(ctx context.Context, e ledger.Event) error
	Events(ctx context.Context, app, env string, limit int) ([]ledger.Event, error)
	SetPending(ctx context.Context, p ledger.Pending) error
	GetPending(ctx context.Context, app, env string) (ledger.Pending, bool, error)
	ClearPending(ctx context.Context, app, env, version string) (bool, error)
	PutApproval(ctx context.Context, a ledger.Approval) error
	GetApproval(ctx context.Context, app, env, deploymentID string) (ledger.Approval, error)
	DecideApproval(ctx context.Context, app, env, deploymentID, decision, by, reason string, now time.Time) (ledger.Approval, error)
	Approvals(ctx context.Context, app, env string) ([]ledger.Approval, error)
}

var (
	_ Store = (*sqlite.Store)(nil)
	_ Store = (*ledger.Dynamo)(nil)
)

// t0 is the suite's clock: a fixed instant with a fractional second.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

// Option changes how Run exercises a store.
type Option func(*options)

type options struct{ serial bool }

// SerialConditionalWrites makes the contention tests (concurrent leases,
// concurrent updates, concurrent step writers) send their conditional writes one after another
// instead of at once. It is for moto_server, which answers requests on
// threads with no lock around a conditional write's check, so two
// concurrent conditional puts can both succeed there; real DynamoDB, the
// wire fake and SQLite evaluate the condition atomically and run the
// concurrent form.
func SerialConditionalWrites() Option { return func(o *options) { o.serial = true } }

// Run runs the conformance suite against the stores open returns; open is
// called once per subtest and must return an empty store.
func Run(t *testing.T, open func(t *testing.T) Store, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	t.Run("deployments", func(t *testing.T) { testDeployments(t, open) })
	t.Run("update", func(t *testing.T) { testUpdate(t, open, o.serial) })
	t.Run("list", func(t *testing.T) { testList(t, open) })
	t.Run("steps", func(t *testing.T) { testSteps(t, open, o.serial) })
	t.Run("instance results", func(t *testing.T) { testInstanceResults(t, open) })
	t.Run("leases", func(t *testing.T) { testLeases(t, open) })
	t.Run("concurrent leases", func(t *testing.T) { testConcurrentLeases(t, open, o.serial) })
	t.Run("break lease", func(t *testing.T) { testBreakLease(t, open) })
	t.Run("events", func(t *testing.T) { testEvents(t, open) })
	t.Run("pending push", func(t *testing.T) { testPending(t, open) })
	t.Run("approvals", func(t *testing.T) { testApprovals(t, open) })
}

func testEvents(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	s := open(t)
	for i, kind := range []string{"push-started", "push-coalesced", "alarm-ignored"} {
		e := ledger.Event{App: "shop", Environment: "staging", At: t0.Add(time.Duration(i) * time.Second), Source: "push", Kind: kind,
			Message: "event " + kind, DeploymentID: fmt.Sprintf("dep-%d", i), Detail: json.RawMessage(`{"commit":"abc"}`)}
		if err := s.AddEvent(ctx, e); err != nil {
			t.Fatalf("AddEvent(%s) = %v", kind, err)
		}
	}
	if err := s.AddEvent(ctx, ledger.Event{App: "shop", Environment: "production", At: t0, Source: "alarm", Kind: "other-env", Message: "x"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(ctx, "shop", "staging", 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range got {
		kinds = append(kinds, e.Kind)
	}
	if diff := cmp.Diff([]string{"alarm-ignored", "push-coalesced", "push-started"}, kinds); diff != "" {
		t.Errorf("Events newest first (-want +got):\n%s", diff)
	}
	if got[2].DeploymentID != "dep-0" || string(got[2].Detail) != `{"commit":"abc"}` || !got[2].At.Equal(t0) {
		t.Errorf("Events()[2] = %+v, want every field back", got[2])
	}
	limited, err := s.Events(ctx, "shop", "staging", 2)
	if err != nil || len(limited) != 2 || limited[0].Kind != "alarm-ignored" {
		t.Errorf("Events(limit 2) = %+v, %v; want the 2 newest", limited, err)
	}
}

func testPending(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	s := open(t)
	if _, ok, err := s.GetPending(ctx, "shop", "staging"); ok || err != nil {
		t.Fatalf("GetPending(empty) = %v, %v; want nothing", ok, err)
	}
	for i, v := range []string{"c1", "c2"} {
		if err := s.SetPending(ctx, ledger.Pending{App: "shop", Environment: "staging", Version: v, At: t0.Add(time.Duration(i) * time.Second),
			Trigger: contract.Trigger{Source: "push", Commit: v}}); err != nil {
			t.Fatal(err)
		}
	}
	p, ok, err := s.GetPending(ctx, "shop", "staging")
	if err != nil || !ok || p.Version != "c2" || p.Trigger.Commit != "c2" || !p.At.Equal(t0.Add(time.Second)) {
		t.Fatalf("GetPending = %+v, %v, %v; want c2, the latest", p, ok, err)
	}
	if cleared, err := s.ClearPending(ctx, "shop", "staging", "c1"); cleared || err != nil {
		t.Errorf("ClearPending(c1) = %v, %v; want false: c2 replaced it", cleared, err)
	}
	if cleared, err := s.ClearPending(ctx, "shop", "staging", "c2"); !cleared || err != nil {
		t.Errorf("ClearPending(c2) = %v, %v; want true", cleared, err)
	}
	if _, ok, _ := s.GetPending(ctx, "shop", "staging"); ok {
		t.Errorf("GetPending after ClearPending found a push")
	}
}

func testApprovals(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	s := open(t)
	a := ledger.Approval{App: "shop", Environment: "production", DeploymentID: "dep-9", ExecutionID: "arn:exec", Version: "v2",
		Token: "tok-123", Summary: "deploy v2 to production", RequestedAt: t0}
	if _, err := s.GetApproval(ctx, "shop", "production", "dep-9"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("GetApproval(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.DecideApproval(ctx, "shop", "production", "dep-9", ledger.ApprovalApproved, "ada", "", t0); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("DecideApproval(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetApproval(ctx, "shop", "production", ""); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("GetApproval(\"\") = %v, want ErrNotFound", err)
	}
	if _, err := s.DecideApproval(ctx, "shop", "production", "", ledger.ApprovalApproved, "ada", "", t0); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("DecideApproval(\"\") = %v, want ErrNotFound", err)
	}
	if list, err := s.Approvals(ctx, "shop", "production"); err != nil || len(list) != 0 {
		t.Errorf("Approvals(none) = %+v, %v; want none", list, err)
	}
	if err := s.PutApproval(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetApproval(ctx, "shop", "production", "dep-9")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("GetApproval (-want +got):\n%s", diff)
	}
	decided, err := s.DecideApproval(ctx, "shop", "production", "dep-9", ledger.ApprovalRejected, "grace", "not during the sale", t0.Add(time.Minute))
	if err != nil || decided.Decision != ledger.ApprovalRejected || decided.DecidedBy != "grace" || decided.Token != "tok-123" {
		t.Fatalf("DecideApproval = %+v, %v; want rejected by grace, token kept", decided, err)
	}
	var de *ledger.DecidedError
	if _, err := s.DecideApproval(ctx, "shop", "production", "dep-9", ledger.ApprovalApproved, "ada", "", t0.Add(2*time.Minute)); !errors.As(err, &de) || de.Approval.DecidedBy != "grace" {
		t.Errorf("second DecideApproval = %v, want *DecidedError naming grace", err)
	}
	if err := s.PutApproval(ctx, ledger.Approval{App: "shop", Environment: "production", DeploymentID: "dep-10", Token: "t2", RequestedAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	list, err := s.Approvals(ctx, "shop", "production")
	if err != nil || len(list) != 2 || list[0].DeploymentID != "dep-10" {
		t.Errorf("Approvals = %+v, %v; want dep-10 then dep-9", list, err)
	}
}

func fullDeployment() ledger.Deployment {
	return ledger.Deployment{
		ID: "dep-1", App: "shop", Environment: "production", Version: "v2", PreviousVersion: "v1",
		Kind: "deploy", Status: contract.StatusFailed, ExecutionID: "arn:aws:states:us-east-1:123456789012:execution:slipway:dep-1",
		Trigger:   contract.Trigger{Source: "cli", Actor: "ada", Reason: "release \"v2\"", Commit: "abc123"},
		StartedAt: t0, FinishedAt: t0.Add(90 * time.Second),
		Error: "DeployFailed", Cause: "wave 1: v2 failed on 1 of 2 instances", Summary: "rolled back",
		SnapshotID: "slipway-shop-production-dep-1", SchemaBefore: 41, SchemaAfter: 42,
		TargetDeploymentID: "dep-0", RolledBackBy: "dep-3", WatchUntil: t0.Add(time.Hour + 90*time.Second),
		Report: json.RawMessage(`{"waves":[{"wave":1,"ok":1,"failed":1}],"note":"ünïcode"}`),
		Observed: &contract.Observation{CommandID: "obs-1", Status: "Success",
			Fleet: &contract.FleetObservation{Total: 2, Versions: map[string]int{"v1": 1, "v2": 1}, Healthy: 2, Problems: []string{"i-2: on v2"},
				Problem: "the fleet is not uniformly on one release, healthy: i-1 on v1; i-2 on v2"},
			Schema: &contract.SchemaObservation{Known: true, Version: 42, Dirty: []int64{42}}},
		Config: &contract.ConfigPrint{Fingerprint: "hmac-sha256:0123456789abcdef0123456789abcdef", Keys: map[string]string{"API_TOKEN": "aa11", "LOG_LEVEL": "bb22"},
			Changed: []string{"LOG_LEVEL"}, Previous: "hmac-sha256:fedcba9876543210fedcba9876543210"},
	}
}

func testDeployments(t *testing.T, open func(t *testing.T) Store) {
	minimal := ledger.Deployment{ID: "dep-2", App: "shop", Environment: "staging", Version: "v3", Kind: "deploy",
		Status: contract.StatusRunning, StartedAt: t0, SchemaBefore: -1, SchemaAfter: -1}
	tests := []struct {
		name string
		put  []ledger.Deployment
		get  string
		want ledger.Deployment
	}{
		{name: "every field round trips", put: []ledger.Deployment{fullDeployment()}, get: "dep-1", want: fullDeployment()},
		{name: "empty fields stay empty", put: []ledger.Deployment{minimal}, get: "dep-2", want: minimal},
		{
			name: "put replaces",
			put: []ledger.Deployment{fullDeployment(), func() ledger.Deployment {
				d := fullDeployment()
				d.Status, d.Error, d.Cause, d.Report, d.FinishedAt = contract.StatusRunning, "", "", nil, time.Time{}
				return d
			}()},
			get: "dep-1",
			want: func() ledger.Deployment {
				d := fullDeployment()
				d.Status, d.Error, d.Cause, d.Report, d.FinishedAt = contract.StatusRunning, "", "", nil, time.Time{}
				return d
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			for _, d := range tt.put {
				if err := s.PutDeployment(ctx, d); err != nil {
					t.Fatalf("PutDeployment(%s) = %v", d.ID, err)
				}
			}
			got, err := s.GetDeployment(ctx, tt.get)
			if err != nil {
				t.Fatalf("GetDeployment(%s) = %v", tt.get, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GetDeployment(%s) mismatch (-want +got):\n%s", tt.get, diff)
			}
		})
	}
	t.Run("missing is ErrNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.GetDeployment(context.Background(), "nope")
		if !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("GetDeployment(nope) = %v, want ErrNotFound", err)
		}
	})
}

func testUpdate(t *testing.T, open func(t *testing.T) Store, serial bool) {
	ctx := context.Background()
	t.Run("applies and stores", func(t *testing.T) {
		s := open(t)
		mustPut(t, s, fullDeployment())
		got, err := s.UpdateDeployment(ctx, "dep-1", func(d *ledger.Deployment) error {
			d.Status, d.Summary, d.SchemaAfter = contract.StatusSucceeded, "done", 43
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateDeployment = %v", err)
		}
		want := fullDeployment()
		want.Status, want.Summary, want.SchemaAfter = contract.StatusSucceeded, "done", 43
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("UpdateDeployment returned mismatch (-want +got):\n%s", diff)
		}
		stored, err := s.GetDeployment(ctx, "dep-1")
		if err != nil {
			t.Fatalf("GetDeployment = %v", err)
		}
		if diff := cmp.Diff(want, stored); diff != "" {
			t.Errorf("stored deployment mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("error from fn stores nothing", func(t *testing.T) {
		s := open(t)
		mustPut(t, s, fullDeployment())
		boom := errors.New("boom")
		_, err := s.UpdateDeployment(ctx, "dep-1", func(d *ledger.Deployment) error {
			d.Status = "CHANGED"
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("UpdateDeployment = %v, want %v", err, boom)
		}
		stored, err := s.GetDeployment(ctx, "dep-1")
		if err != nil {
			t.Fatalf("GetDeployment = %v", err)
		}
		if diff := cmp.Diff(fullDeployment(), stored); diff != "" {
			t.Errorf("stored deployment changed (-want +got):\n%s", diff)
		}
	})
	t.Run("missing is ErrNotFound", func(t *testing.T) {
		s := open(t)
		called := false
		_, err := s.UpdateDeployment(ctx, "nope", func(*ledger.Deployment) error { called = true; return nil })
		if !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("UpdateDeployment(nope) = %v, want ErrNotFound", err)
		}
		if called {
			t.Errorf("UpdateDeployment(nope) called fn")
		}
	})
	t.Run("concurrent updates are not lost", func(t *testing.T) {
		s := open(t)
		d := fullDeployment()
		d.SchemaAfter = 0
		mustPut(t, s, d)
		const n = 5
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			inc := func() {
				_, err := s.UpdateDeployment(ctx, "dep-1", func(d *ledger.Deployment) error {
					d.SchemaAfter++
					return nil
				})
				errs <- err
			}
			if serial {
				inc()
				continue
			}
			wg.Go(inc)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("UpdateDeployment = %v", err)
			}
		}
		got, err := s.GetDeployment(ctx, "dep-1")
		if err != nil {
			t.Fatalf("GetDeployment = %v", err)
		}
		if got.SchemaAfter != n {
			t.Errorf("after %d concurrent increments SchemaAfter = %d, want %d", n, got.SchemaAfter, n)
		}
	})
}

func testList(t *testing.T, open func(t *testing.T) Store) {
	dep := func(id, app, env string, started time.Time) ledger.Deployment {
		return ledger.Deployment{ID: id, App: app, Environment: env, Version: "v-" + id, Kind: "deploy",
			Status: contract.StatusSucceeded, StartedAt: started, SchemaBefore: -1, SchemaAfter: -1}
	}
	// Put out of order, across environments and apps; d and e start at the
	// same instant, so the ID breaks the tie (descending).
	all := []ledger.Deployment{
		dep("c", "shop", "staging", t0.Add(3*time.Minute)),
		dep("a", "shop", "staging", t0.Add(1*time.Minute)),
		dep("p1", "shop", "production", t0.Add(2*time.Minute)),
		dep("e", "shop", "staging", t0.Add(5*time.Minute)),
		dep("d", "shop", "staging", t0.Add(5*time.Minute)),
		dep("b", "shop", "staging", t0.Add(2*time.Minute)),
		dep("p2", "shop", "production", t0.Add(4*time.Minute)),
		dep("x", "blog", "staging", t0.Add(9*time.Minute)),
	}
	tests := []struct {
		name  string
		app   string
		env   string
		limit int
		want  []string
	}{
		{name: "one environment newest first", app: "shop", env: "staging", want: []string{"e", "d", "c", "b", "a"}},
		{name: "limit", app: "shop", env: "staging", limit: 2, want: []string{"e", "d"}},
		{name: "limit beyond count", app: "shop", env: "staging", limit: 50, want: []string{"e", "d", "c", "b", "a"}},
		{name: "limit on a page boundary", app: "shop", env: "staging", limit: 4, want: []string{"e", "d", "c", "b"}},
		{name: "every environment of the app", app: "shop", want: []string{"e", "d", "p2", "c", "p1", "b", "a"}},
		{name: "every environment with limit", app: "shop", limit: 3, want: []string{"e", "d", "p2"}},
		{name: "other app", app: "blog", env: "staging", want: []string{"x"}},
		{name: "unknown environment", app: "shop", env: "qa"},
		{name: "unknown app", app: "nope"},
	}
	ctx := context.Background()
	s := open(t)
	for _, d := range all {
		mustPut(t, s, d)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListDeployments(ctx, tt.app, tt.env, tt.limit)
			if err != nil {
				t.Fatalf("ListDeployments(%q, %q, %d) = %v", tt.app, tt.env, tt.limit, err)
			}
			var ids []string
			for _, d := range got {
				ids = append(ids, d.ID)
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("ListDeployments(%q, %q, %d) IDs mismatch (-want +got):\n%s", tt.app, tt.env, tt.limit, diff)
			}
		})
	}
	t.Run("items are whole", func(t *testing.T) {
		full := fullDeployment()
		full.App = "whole"
		mustPut(t, s, full)
		got, err := s.ListDeployments(ctx, full.App, full.Environment, 1)
		if err != nil {
			t.Fatalf("ListDeployments = %v", err)
		}
		if diff := cmp.Diff([]ledger.Deployment{full}, got); diff != "" {
			t.Errorf("ListDeployments mismatch (-want +got):\n%s", diff)
		}
	})
}

func testSteps(t *testing.T, open func(t *testing.T) Store, serial bool) {
	ctx := context.Background()
	t.Run("numbered in order", func(t *testing.T) {
		s := open(t)
		add := []ledger.Step{
			{DeploymentID: "dep-1", Stage: "preflight", Status: "ok", Message: "plan ready", At: t0,
				Detail: json.RawMessage(`{"waves":2}`)},
			{DeploymentID: "dep-2", Stage: "preflight", Status: "failed", Message: "other deployment", At: t0},
			{DeploymentID: "dep-1", Stage: "lock", Status: "ok", Message: "lease taken", At: t0.Add(time.Second)},
			{DeploymentID: "dep-1", Stage: "snapshot", Status: "skipped", Message: "no database", At: t0.Add(2 * time.Second)},
		}
		for _, st := range add {
			if err := s.AddStep(ctx, st); err != nil {
				t.Fatalf("AddStep(%s) = %v", st.Stage, err)
			}
		}
		want := []ledger.Step{add[0], add[2], add[3]}
		for i := range want {
			want[i].Seq = i + 1
		}
		got, err := s.Steps(ctx, "dep-1")
		if err != nil {
			t.Fatalf("Steps(dep-1) = %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Steps(dep-1) mismatch (-want +got):\n%s", diff)
		}
		other, err := s.Steps(ctx, "dep-2")
		if err != nil {
			t.Fatalf("Steps(dep-2) = %v", err)
		}
		if len(other) != 1 || other[0].Seq != 1 || other[0].Message != "other deployment" {
			t.Errorf("Steps(dep-2) = %+v, want one step numbered 1", other)
		}
	})
	t.Run("zero time is filled in", func(t *testing.T) {
		s := open(t)
		before := time.Now().Add(-time.Second)
		if err := s.AddStep(ctx, ledger.Step{DeploymentID: "dep-1", Stage: "init", Status: "info", Message: "hi"}); err != nil {
			t.Fatalf("AddStep = %v", err)
		}
		got, err := s.Steps(ctx, "dep-1")
		if err != nil || len(got) != 1 {
			t.Fatalf("Steps = %v, %v, want one step", got, err)
		}
		if got[0].At.Before(before) {
			t.Errorf("Steps()[0].At = %v, want about now", got[0].At)
		}
	})
	t.Run("none", func(t *testing.T) {
		s := open(t)
		got, err := s.Steps(ctx, "nope")
		if err != nil || len(got) != 0 {
			t.Errorf("Steps(nope) = %v, %v, want none", got, err)
		}
	})
	t.Run("concurrent writers get distinct numbers", func(t *testing.T) {
		s := open(t)
		const n = 10
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			add := func() {
				errs <- s.AddStep(ctx, ledger.Step{DeploymentID: "dep-1", Stage: "rollout", Status: "info",
					Message: fmt.Sprintf("writer %d", i), At: t0})
			}
			if serial {
				add()
				continue
			}
			wg.Go(add)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("AddStep = %v", err)
			}
		}
		got, err := s.Steps(ctx, "dep-1")
		if err != nil {
			t.Fatalf("Steps = %v", err)
		}
		var seqs []int
		msgs := map[string]bool{}
		for _, st := range got {
			seqs = append(seqs, st.Seq)
			msgs[st.Message] = true
		}
		if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, seqs); diff != "" {
			t.Errorf("Steps() numbers mismatch (-want +got):\n%s", diff)
		}
		if len(msgs) != n {
			t.Errorf("Steps() holds %d distinct writers, want %d", len(msgs), n)
		}
	})
}

func testInstanceResults(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	res := func(cmd, inst, status string, exit int) ledger.InstanceResult {
		return ledger.InstanceResult{DeploymentID: "dep-1", CommandID: cmd, Wave: 1, InstanceID: inst, Action: "activate",
			Version: "v2", Status: status, ExitCode: exit, Output: "out of " + inst, StartedAt: t0, FinishedAt: t0.Add(time.Minute)}
	}
	many := func(n int) []ledger.InstanceResult {
		var out []ledger.InstanceResult
		for i := range n {
			out = append(out, res("cmd-big", fmt.Sprintf("i-%04d", i), "Success", 0))
		}
		return out
	}
	pending := res("cmd-1", "i-a", "Pending", -1)
	pending.Output, pending.FinishedAt = "", time.Time{}
	tests := []struct {
		name  string
		calls [][]ledger.InstanceResult
		want  []ledger.InstanceResult
	}{
		{
			name:  "in the order recorded",
			calls: [][]ledger.InstanceResult{{res("cmd-1", "i-c", "Success", 0), res("cmd-1", "i-a", "Failed", 6)}, {res("cmd-2", "i-b", "Success", 0)}},
			want:  []ledger.InstanceResult{res("cmd-1", "i-c", "Success", 0), res("cmd-1", "i-a", "Failed", 6), res("cmd-2", "i-b", "Success", 0)},
		},
		{
			name: "a result recorded again replaces the old one and moves last",
			calls: [][]ledger.InstanceResult{
				{pending, res("cmd-1", "i-b", "Pending", -1)},
				{res("cmd-1", "i-a", "Failed", 6)},
			},
			want: []ledger.InstanceResult{res("cmd-1", "i-b", "Pending", -1), res("cmd-1", "i-a", "Failed", 6)},
		},
		{
			name:  "the same result twice in one call: the last wins",
			calls: [][]ledger.InstanceResult{{res("cmd-1", "i-a", "Pending", -1), res("cmd-1", "i-b", "Success", 0), res("cmd-1", "i-a", "Failed", 6)}},
			want:  []ledger.InstanceResult{res("cmd-1", "i-b", "Success", 0), res("cmd-1", "i-a", "Failed", 6)},
		},
		{
			name:  "the same instance under two commands is two results",
			calls: [][]ledger.InstanceResult{{res("cmd-1", "i-a", "Failed", 6)}, {res("cmd-2", "i-a", "Success", 0)}},
			want:  []ledger.InstanceResult{res("cmd-1", "i-a", "Failed", 6), res("cmd-2", "i-a", "Success", 0)},
		},
		{name: "more than a batch", calls: [][]ledger.InstanceResult{many(60)}, want: many(60)},
		{name: "nothing", calls: [][]ledger.InstanceResult{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			for _, c := range tt.calls {
				if err := s.PutInstanceResults(ctx, c); err != nil {
					t.Fatalf("PutInstanceResults = %v", err)
				}
			}
			other := res("cmd-9", "i-z", "Success", 0)
			other.DeploymentID = "dep-2"
			if err := s.PutInstanceResults(ctx, []ledger.InstanceResult{other}); err != nil {
				t.Fatalf("PutInstanceResults(dep-2) = %v", err)
			}
			got, err := s.InstanceResults(ctx, "dep-1")
			if err != nil {
				t.Fatalf("InstanceResults = %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("InstanceResults mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testLeases(t *testing.T, open func(t *testing.T) Store) {
	const app, env = "shop", "production"
	ttl := 15 * time.Minute
	lease := func(owner, dep string, at time.Time) ledger.Lock {
		return ledger.Lock{App: app, Environment: env, Kind: ledger.LockLease, Owner: owner, DeploymentID: dep,
			AcquiredAt: at, ExpiresAt: at.Add(ttl)}
	}
	freeze := ledger.Lock{App: app, Environment: env, Kind: ledger.LockManual, Owner: "grace", Message: "quarter end", AcquiredAt: t0}

	// Each op runs in order on one fresh store.
	type op struct {
		do      string // acquire, release, freeze, unfreeze
		owner   string
		env     string // default env
		at      time.Time
		wantOK  bool         // release, unfreeze
		wantErr *ledger.Lock // acquire: the holder HeldError names
	}
	tests := []struct {
		name      string
		ops       []op
		wantLocks []ledger.Lock
	}{
		{
			name:      "acquire a free environment",
			ops:       []op{{do: "acquire", owner: "exec-1", at: t0}},
			wantLocks: []ledger.Lock{lease("exec-1", "dep-exec-1", t0)},
		},
		{
			name: "held by another owner",
			ops: []op{
				{do: "acquire", owner: "exec-1", at: t0},
				{do: "acquire", owner: "exec-2", at: t0.Add(ttl - time.Nanosecond), wantErr: ptr(lease("exec-1", "dep-exec-1", t0))},
			},
			wantLocks: []ledger.Lock{lease("exec-1", "dep-exec-1", t0)},
		},
		{
			name: "an expired lease can be taken",
			ops: []op{
				{do: "acquire", owner: "exec-1", at: t0},
				{do: "acquire", owner: "exec-2", at: t0.Add(ttl)},
			},
			wantLocks: []ledger.Lock{lease("exec-2", "dep-exec-2", t0.Add(ttl))},
		},
		{
			name: "the same owner extends",
			ops: []op{
				{do: "acquire", owner: "exec-1", at: t0},
				{do: "acquire", owner: "exec-1", at: t0.Add(10 * time.Minute)},
			},
			wantLocks: []ledger.Lock{lease("exec-1", "dep-exec-1", t0.Add(10*time.Minute))},
		},
		{
			name: "another environment is independent",
			ops: []op{
				{do: "acquire", owner: "exec-1", at: t0},
				{do: "acquire", owner: "exec-2", env: "staging", at: t0},
			},
			wantLocks: []ledger.Lock{lease("exec-1", "dep-exec-1", t0)},
		},
		{
			name: "release by a non-owner is a no-op",
			ops: []op{
				{do: "acquire", owner: "exec-1", at: t0},
				{do: "release", owner: "exec-2", wantOK: false},
			},
			wantLocks: []ledger.Lock{lease("exec-1", "dep-exec-1", t0)},
		},
		{
			name: "release by the owner, then nothing to release",
			ops: []op{
				{do: "acquire", owner: "exec-1", at: t0},
				{do: "release", owner: "exec-1", wantOK: true},
				{do: "release", owner: "exec-1", wantOK: false},
				{do: "acquire", owner: "exec-2", at: t0.Add(time.Minute)},
			},
			wantLocks: []ledger.Lock{lease("exec-2", "dep-exec-2", t0.Add(time.Minute))},
		},
		{
			name:      "release of nothing",
			ops:       []op{{do: "release", owner: "exec-1", wantOK: false}},
			wantLocks: nil,
		},
		{
			name: "a freeze blocks every lease, even an expired holder's successor",
			ops: []op{
				{do: "freeze", owner: "grace", at: t0},
				{do: "acquire", owner: "exec-1", at: t0.Add(time.Hour), wantErr: &freeze},
			},
			wantLocks: []ledger.Lock{freeze},
		},
		{
			name: "a freeze beside a held lease",
			ops: []op{
				{do: "acquire", owner: "exec-1", at: t0},
				{do: "freeze", owner: "grace", at: t0},
				{do: "acquire", owner: "exec-1", at: t0.Add(time.Minute), wantErr: &freeze},
			},
			wantLocks: []ledger.Lock{lease("exec-1", "dep-exec-1", t0), freeze},
		},
		{
			name: "unfreeze removes it",
			ops: []op{
				{do: "freeze", owner: "grace", at: t0},
				{do: "unfreeze", wantOK: true},
				{do: "unfreeze", wantOK: false},
				{do: "acquire", owner: "exec-1", at: t0},
			},
			wantLocks: []ledger.Lock{lease("exec-1", "dep-exec-1", t0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			for i, o := range tt.ops {
				e := env
				if o.env != "" {
					e = o.env
				}
				switch o.do {
				case "acquire":
					got, err := s.AcquireLease(ctx, app, e, o.owner, "dep-"+o.owner, ttl, o.at)
					if o.wantErr == nil {
						if err != nil {
							t.Fatalf("op %d: AcquireLease(%s) = %v", i, o.owner, err)
						}
						want := lease(o.owner, "dep-"+o.owner, o.at)
						want.Environment = e
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("op %d: AcquireLease(%s) mismatch (-want +got):\n%s", i, o.owner, diff)
						}
						continue
					}
					var held *ledger.HeldError
					if !errors.As(err, &held) {
						t.Fatalf("op %d: AcquireLease(%s) = %v, want *HeldError", i, o.owner, err)
					}
					if diff := cmp.Diff(*o.wantErr, held.Lock); diff != "" {
						t.Errorf("op %d: HeldError.Lock mismatch (-want +got):\n%s", i, diff)
					}
				case "release":
					got, err := s.ReleaseLease(ctx, app, e, o.owner)
					if err != nil || got != o.wantOK {
						t.Errorf("op %d: ReleaseLease(%s) = %v, %v, want %v, nil", i, o.owner, got, err, o.wantOK)
					}
				case "freeze":
					if err := s.Freeze(ctx, app, e, o.owner, "quarter end", o.at); err != nil {
						t.Fatalf("op %d: Freeze = %v", i, err)
					}
				case "unfreeze":
					got, err := s.Unfreeze(ctx, app, e)
					if err != nil || got != o.wantOK {
						t.Errorf("op %d: Unfreeze = %v, %v, want %v, nil", i, got, err, o.wantOK)
					}
				default:
					t.Fatalf("op %d: unknown op %q", i, o.do)
				}
			}
			got, err := s.Locks(ctx, app, env)
			if err != nil {
				t.Fatalf("Locks = %v", err)
			}
			if diff := cmp.Diff(tt.wantLocks, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Locks mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testConcurrentLeases(t *testing.T, open func(t *testing.T) Store, serial bool) {
	ctx := context.Background()
	s := open(t)
	const n = 10
	type result struct {
		owner string
		lock  ledger.Lock
		err   error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		owner := fmt.Sprintf("exec-%d", i)
		acquire := func() {
			l, err := s.AcquireLease(ctx, "shop", "production", owner, "dep-"+owner, time.Hour, t0)
			results <- result{owner, l, err}
		}
		if serial {
			acquire()
			continue
		}
		wg.Go(func() {
			<-start
			acquire()
		})
	}
	close(start)
	wg.Wait()
	close(results)
	var winners []string
	var held []*ledger.HeldError
	for r := range results {
		var h *ledger.HeldError
		switch {
		case r.err == nil:
			winners = append(winners, r.owner)
		case errors.As(r.err, &h):
			held = append(held, h)
		default:
			t.Errorf("AcquireLease(%s) = %v, want a lease or *HeldError", r.owner, r.err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d of %d concurrent AcquireLease calls won (%v), want exactly 1", len(winners), n, winners)
	}
	for _, h := range held {
		if h.Lock.Owner != winners[0] || h.Lock.DeploymentID != "dep-"+winners[0] {
			t.Errorf("HeldError names %s (deployment %s), want the winner %s", h.Lock.Owner, h.Lock.DeploymentID, winners[0])
		}
	}
	locks, err := s.Locks(ctx, "shop", "production")
	if err != nil {
		t.Fatalf("Locks = %v", err)
	}
	if len(locks) != 1 || locks[0].Owner != winners[0] {
		t.Errorf("Locks = %+v, want the winner's lease only", locks)
	}
}

func testBreakLease(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	s := open(t)
	if l, ok, err := s.BreakLease(ctx, "shop", "production"); err != nil || ok {
		t.Fatalf("BreakLease(no lease) = %+v, %v, %v; want false, nil", l, ok, err)
	}
	held, err := s.AcquireLease(ctx, "shop", "production", "exec-1", "dep-1", time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Freeze(ctx, "shop", "production", "grace", "quarter end", t0); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.BreakLease(ctx, "shop", "production")
	if err != nil || !ok {
		t.Fatalf("BreakLease = %+v, %v, %v; want the lease of exec-1", got, ok, err)
	}
	if diff := cmp.Diff(held, got, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Errorf("BreakLease returned (-want +got):\n%s", diff)
	}
	locks, err := s.Locks(ctx, "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(locks) != 1 || locks[0].Kind != ledger.LockManual {
		t.Errorf("Locks after BreakLease = %+v, want only grace's manual lock", locks)
	}
	// The environment is free for another execution once the manual lock goes.
	if _, err := s.Unfreeze(ctx, "shop", "production"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, "shop", "production", "exec-2", "dep-2", time.Hour, t0); err != nil {
		t.Errorf("AcquireLease after BreakLease = %v, want the lease", err)
	}
}

func mustPut(t *testing.T, s Store, d ledger.Deployment) {
	t.Helper()
	if err := s.PutDeployment(context.Background(), d); err != nil {
		t.Fatalf("PutDeployment(%s) = %v", d.ID, err)
	}
}

func ptr[T any](v T) *T { return &v }
