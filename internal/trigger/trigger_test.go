package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
)

const commit = "3f9a1c2d4e5f60718293a4b5c6d7e8f901234567"

var quiet = slog.New(slog.DiscardHandler)

var cfg = &config.Config{
	App: "demo",
	Environments: map[string]config.Environment{
		"staging":    {Alarms: []string{"demo-staging-5xx"}},
		"production": {Production: true, Alarms: []string{"demo-production-5xx"}},
	},
	Triggers: config.Triggers{Repositories: []string{"demo", "github.com/acme/demo"}, Branches: map[string]string{"main": "staging"}},
}

// recorder is a Starter that records what it starts and refuses a name twice.
type recorder struct {
	mu     sync.Mutex
	starts []start
}

type start struct {
	Machine, Name string
	Input         json.RawMessage
}

func (r *recorder) Start(ctx context.Context, machine, name string, input []byte) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.starts {
		if s.Name == name {
			return "", ErrAlreadyStarted
		}
	}
	r.starts = append(r.starts, start{machine, name, input})
	return "arn:" + name, nil
}

func readEvent(t *testing.T, path string) events.EventBridgeEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", path))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return ev
}

func openLedger(t *testing.T) *ledgersqlite.Store {
	t.Helper()
	l, err := ledgersqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestPushRouter(t *testing.T) {
	tests := []struct {
		name       string
		event      string
		publish    bool
		wantAction string
		wantStart  bool
		wantEvent  string
	}{
		{"codecommit push to main", "codecommit/push-main.json", true, "started", true, "push-started"},
		{"slipway.git push to main", "git/push-main.json", true, "started", true, "push-started"},
		{"push with no published release", "git/push-main.json", false, "no-artifact", false, "push-no-artifact"},
		{"push to an unmapped branch", "git/push-other-branch.json", true, "ignored", false, ""},
		{"codecommit push to an unmapped branch", "codecommit/push-other-branch.json", true, "ignored", false, ""},
		{"codecommit tag", "codecommit/tag-main.json", true, "ignored", false, ""},
		{"slipway.git tag", "git/push-tag.json", true, "ignored", false, ""},
		{"push for another app", "git/push-other-app.json", true, "ignored", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			l := openLedger(t)
			arts := &artifact.Dir{Root: t.TempDir()}
			if tt.publish {
				if _, err := arts.Publish(ctx, "demo", commit, []byte("bundle")); err != nil {
					t.Fatal(err)
				}
			}
			st := &recorder{}
			r := &PushRouter{Config: cfg, Ledger: l, Artifacts: arts, Starter: st, Log: quiet}
			res, err := r.Handle(ctx, readEvent(t, tt.event))
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if res.Action != tt.wantAction {
				t.Errorf("Handle() action = %s (%s), want %s", res.Action, res.Message, tt.wantAction)
			}
			if got := len(st.starts) == 1; got != tt.wantStart {
				t.Fatalf("started = %+v, want a start: %v", st.starts, tt.wantStart)
			}
			if tt.wantStart {
				s := st.starts[0]
				if s.Machine != MachineDeploy || !strings.HasPrefix(s.Name, "push-staging-"+commit[:12]+"-") || s.Name != res.DeploymentID {
					t.Errorf("started %s %s (deployment %s), want deploy push-staging-%s-<hash>, the deployment's id", s.Machine, s.Name, res.DeploymentID, commit[:12])
				}
				var in contract.DeployRequest
				json.Unmarshal(s.Input, &in)
				want := contract.DeployRequest{App: "demo", Environment: "staging", Version: commit}
				if in.App != want.App || in.Environment != want.Environment || in.Version != want.Version || in.Trigger.Source != "push" || in.Trigger.Commit != commit {
					t.Errorf("deploy input = %+v, want %+v from a push", in, want)
				}
				p, ok, _ := l.GetPending(ctx, "demo", "staging")
				if !ok || p.Version != commit {
					t.Errorf("queued push = %+v, %v; want %s queued", p, ok, commit)
				}
			}
			evs, _ := l.Events(ctx, "demo", "staging", 0)
			if tt.wantEvent == "" {
				if len(evs) != 0 {
					t.Errorf("events = %+v, want none", evs)
				}
				return
			}
			if len(evs) != 1 || evs[0].Kind != tt.wantEvent {
				t.Fatalf("events = %+v, want one %s", evs, tt.wantEvent)
			}
			if tt.wantEvent == "push-no-artifact" && !strings.Contains(evs[0].Message, "slipway release publish") {
				t.Errorf("no-artifact message = %q, want it to say how to publish", evs[0].Message)
			}
		})
	}
}

func TestPushRouterRedeliveryAndErrors(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t)
	arts := &artifact.Dir{Root: t.TempDir()}
	arts.Publish(ctx, "demo", commit, []byte("bundle"))
	st := &recorder{}
	r := &PushRouter{Config: cfg, Ledger: l, Artifacts: arts, Starter: st, Log: quiet}
	ev := readEvent(t, "git/push-main.json")
	if _, err := r.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	res, err := r.Handle(ctx, ev)
	if err != nil || res.Action != "already-started" || len(st.starts) != 1 {
		t.Errorf("redelivered push = %+v, %v, starts %d; want already-started and one start", res, err, len(st.starts))
	}
	bad := ev
	bad.Detail = json.RawMessage(`{"repository":"demo"}`)
	var ee *EventError
	if _, err := r.Handle(ctx, bad); !errors.As(err, &ee) || !strings.Contains(err.Error(), "branch, commit") {
		t.Errorf("Handle(detail without branch and commit) error = %v, want an EventError naming them", err)
	}
	other := ev
	other.Source = "aws.s3"
	if _, err := r.Handle(ctx, other); !errors.As(err, &ee) {
		t.Errorf("Handle(s3 event) error = %v, want an EventError", err)
	}
}

func TestAlarmRouter(t *testing.T) {
	now := time.Date(2026, 11, 26, 1, 32, 7, 0, time.UTC)
	succeeded := ledger.Deployment{ID: "dep-2", App: "demo", Environment: "staging", Version: "v2", PreviousVersion: "v1", Kind: "deploy",
		Status: contract.StatusSucceeded, StartedAt: now.Add(-20 * time.Minute), FinishedAt: now.Add(-10 * time.Minute), WatchUntil: now.Add(50 * time.Minute)}
	tests := []struct {
		name       string
		event      string
		history    []ledger.Deployment
		wantAction string
		wantEvent  string
	}{
		{"alarm after a deployment rolls it back", "alarm/alarm-to-alarm.json", []ledger.Deployment{succeeded}, "rollback-started", "alarm-rollback-started"},
		{"alarm back to OK", "alarm/alarm-to-ok.json", []ledger.Deployment{succeeded}, "ignored", "alarm-ok"},
		{"an alarm no environment watches", "alarm/other-alarm.json", []ledger.Deployment{succeeded}, "ignored", ""},
		{"nothing deployed yet", "alarm/alarm-to-alarm.json", nil, "nothing-to-roll-back", "alarm-nothing-to-roll-back"},
		{"a deployment is running", "alarm/alarm-to-alarm.json", []ledger.Deployment{func() ledger.Deployment {
			d := succeeded
			d.Status, d.FinishedAt = contract.StatusRunning, time.Time{}
			return d
		}()}, "deployment-running", "alarm-during-deployment"},
		{"already rolled back", "alarm/alarm-to-alarm.json", []ledger.Deployment{func() ledger.Deployment {
			d := succeeded
			d.Status = contract.StatusRolledBack
			return d
		}()}, "already-rolled-back", "alarm-already-rolled-back"},
		{"after the watch window", "alarm/alarm-to-alarm.json", []ledger.Deployment{func() ledger.Deployment {
			d := succeeded
			d.WatchUntil = now.Add(-time.Minute)
			return d
		}()}, "outside-watch", "alarm-outside-watch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			l := openLedger(t)
			for _, d := range tt.history {
				if err := l.PutDeployment(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			st := &recorder{}
			r := &AlarmRouter{Config: cfg, Ledger: l, Starter: st, Now: func() time.Time { return now }, Log: quiet}
			res, err := r.Handle(ctx, readEvent(t, tt.event))
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if res.Action != tt.wantAction {
				t.Errorf("Handle() = %s (%s), want %s", res.Action, res.Message, tt.wantAction)
			}
			if tt.wantAction == "rollback-started" {
				if len(st.starts) != 1 || st.starts[0].Machine != MachineRollback || !strings.HasPrefix(st.starts[0].Name, "rollback-dep-2-") {
					t.Fatalf("starts = %+v, want one rollback named rollback-dep-2-<hash>", st.starts)
				}
				var in contract.RollbackRequest
				json.Unmarshal(st.starts[0].Input, &in)
				if in.Environment != "staging" || in.Trigger.Source != "alarm" || in.Trigger.Alarm != "demo-staging-5xx" || !strings.Contains(in.Trigger.Reason, "Threshold Crossed") {
					t.Errorf("rollback input = %+v, want staging, triggered by the alarm with its reason", in)
				}
				// The same alarm again (a repeated event) starts nothing more.
				res, err := r.Handle(ctx, readEvent(t, tt.event))
				if err != nil || res.Action != "already-started" || len(st.starts) != 1 {
					t.Errorf("repeated alarm = %+v, %v, starts %d; want already-started and one rollback", res, err, len(st.starts))
				}
			} else if len(st.starts) != 0 {
				t.Errorf("starts = %+v, want none", st.starts)
			}
			evs, _ := l.Events(ctx, "demo", "staging", 0)
			if tt.wantEvent == "" {
				if len(evs) != 0 {
					t.Errorf("events = %+v, want none", evs)
				}
				return
			}
			if len(evs) == 0 || evs[len(evs)-1].Kind != tt.wantEvent {
				t.Errorf("first event = %+v, want %s", evs, tt.wantEvent)
			}
		})
	}
}

// TestEventDetailsRoundTrip decodes every sample event's detail into the
// type Slipway reads it as, with no unknown field, and encodes it back.
func TestEventDetailsRoundTrip(t *testing.T) {
	tests := []struct {
		glob string
		into func() any
	}{
		{"git/*.json", func() any { return &GitPush{} }},
		{"codecommit/*.json", func() any { return &CodeCommitChange{} }},
	}
	for _, tt := range tests {
		files, _ := filepath.Glob(filepath.Join("..", "..", "events", tt.glob))
		if len(files) == 0 {
			t.Fatalf("no sample events match %s", tt.glob)
		}
		for _, f := range files {
			t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
				ev := readEvent(t, strings.TrimPrefix(f, filepath.Join("..", "..", "events")+"/"))
				v := tt.into()
				dec := json.NewDecoder(bytes.NewReader(ev.Detail))
				dec.DisallowUnknownFields()
				if err := dec.Decode(v); err != nil {
					t.Fatalf("decode detail: %v", err)
				}
				back, _ := json.Marshal(v)
				var want, got any
				json.Unmarshal(ev.Detail, &want)
				json.Unmarshal(back, &got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("detail round trip (-file +encoded):\n%s", diff)
				}
			})
		}
	}
}

// TestPushRouterDeploysACommitAgain: Step Functions refuses an execution
// name for 90 days after the execution closed, so a push's name comes from
// its event: the same commit pushed again (a new event) deploys again,
// while the same event delivered again starts nothing.
func TestPushRouterDeploysACommitAgain(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t)
	arts := &artifact.Dir{Root: t.TempDir()}
	arts.Publish(ctx, "demo", commit, []byte("bundle"))
	st := &recorder{}
	r := &PushRouter{Config: cfg, Ledger: l, Artifacts: arts, Starter: st, Log: quiet}
	first := readEvent(t, "git/push-main.json")
	again := first
	again.ID, again.Time = "0d3c9a41-5b6e-4f70-8192-a3b4c5d6e7f8", first.Time.Add(10*time.Minute)
	steps := []struct {
		name       string
		event      events.EventBridgeEvent
		wantAction string
		wantStarts int
	}{
		{"first push", first, "started", 1},
		{"the first deployment ended: no push queued", first, "", 1},
		{"the same commit pushed again", again, "started", 2},
		{"the first event delivered again", first, "superseded", 2},
		{"the second event delivered again", again, "already-started", 2},
	}
	for _, s := range steps {
		if s.wantAction == "" { // the deployment's ReleaseLock
			l.ClearPending(ctx, "demo", "staging", commit)
			continue
		}
		res, err := r.Handle(ctx, s.event)
		if err != nil || res.Action != s.wantAction || len(st.starts) != s.wantStarts {
			t.Fatalf("%s: Handle() = %+v, %v, %d starts; want %s, %d starts", s.name, res, err, len(st.starts), s.wantAction, s.wantStarts)
		}
	}
	if st.starts[0].Name == st.starts[1].Name {
		t.Errorf("both pushes started %s, want two names", st.starts[0].Name)
	}
	// The redelivered event leaves nothing queued that no deployment will
	// take out.
	if p, ok, _ := l.GetPending(ctx, "demo", "staging"); ok {
		t.Errorf("queued push after a redelivery = %+v, want none", p)
	}
}

// TestPushRouterOlderEventNeverOverridesTheQueue: an older push delivered
// (again, or late) after a newer one is queued does not take its place,
// which would make the newer deployment step aside for an older release.
func TestPushRouterOlderEventNeverOverridesTheQueue(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t)
	arts := &artifact.Dir{Root: t.TempDir()}
	const newer = "5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8"
	arts.Publish(ctx, "demo", commit, []byte("bundle"))
	arts.Publish(ctx, "demo", newer, []byte("bundle 2"))
	st := &recorder{}
	r := &PushRouter{Config: cfg, Ledger: l, Artifacts: arts, Starter: st, Log: quiet}
	old := readEvent(t, "git/push-main.json")
	next := old
	next.ID, next.Time = "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b", old.Time.Add(time.Minute)
	next.Detail = json.RawMessage(strings.Replace(string(old.Detail), commit, newer, 1))
	for _, ev := range []events.EventBridgeEvent{next, old} {
		if _, err := r.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if p, ok, _ := l.GetPending(ctx, "demo", "staging"); !ok || p.Version != newer {
		t.Errorf("queued push = %+v (%v), want %s", p, ok, newer)
	}
	if len(st.starts) != 1 {
		t.Errorf("starts = %+v, want only the newer push's", st.starts)
	}
}

func TestExecutionName(t *testing.T) {
	long := strings.Repeat("staging-v2-20261126T011500Z-", 3)
	tests := []struct {
		name string
		a, b []string
		same bool
	}{
		{"the same parts", []string{"push", "staging", "v1.2"}, []string{"push", "staging", "v1.2"}, true},
		{"a dot and a dash", []string{"push", "staging", "v1.2"}, []string{"push", "staging", "v1-2"}, false},
		{"a dot and an underscore", []string{"push", "staging", "v1.2"}, []string{"push", "staging", "v1_2"}, false},
		{"ids that differ past the cut", []string{"rollback", long + "a"}, []string{"rollback", long + "b"}, false},
		{"parts split differently", []string{"push", "a-b", "c"}, []string{"push", "a", "b-c"}, false},
	}
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := executionName(tt.a), executionName(tt.b)
			if (a == b) != tt.same {
				t.Errorf("executionName(%q) = %s, executionName(%q) = %s; want equal: %v", tt.a, a, tt.b, b, tt.same)
			}
			for _, n := range []string{a, b} {
				if !valid.MatchString(n) {
					t.Errorf("executionName() = %q, want at most 80 of [A-Za-z0-9_-]", n)
				}
			}
		})
	}
	if got := executionName([]string{"push", "staging", "v1.2"}); !strings.HasPrefix(got, "push-staging-v1_2-") {
		t.Errorf("executionName(push staging v1.2) = %s, want it to read push-staging-v1_2-<hash>", got)
	}
}

// TestPushRouterKeepsTheCommitTime: a slipway.git push that says when its
// commit was made (the GitHub webhook's do) starts a deployment whose
// trigger keeps that time, for `slipway stats`' lead time.
func TestPushRouterKeepsTheCommitTime(t *testing.T) {
	ctx := context.Background()
	arts := &artifact.Dir{Root: t.TempDir()}
	if _, err := arts.Publish(ctx, "demo", commit, []byte("bundle")); err != nil {
		t.Fatal(err)
	}
	ev := readEvent(t, "git/push-main.json")
	committed := time.Date(2026, 11, 26, 1, 24, 41, 0, time.UTC)
	ev.Detail, _ = json.Marshal(GitPush{Repository: "demo", Branch: "main", Commit: commit, Pusher: "ada", App: "demo", CommittedAt: committed})
	st := &recorder{}
	r := &PushRouter{Config: cfg, Ledger: openLedger(t), Artifacts: arts, Starter: st, Log: quiet}
	if _, err := r.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if len(st.starts) != 1 {
		t.Fatalf("started %d, want 1", len(st.starts))
	}
	var in contract.DeployRequest
	if err := json.Unmarshal(st.starts[0].Input, &in); err != nil {
		t.Fatal(err)
	}
	if !in.Trigger.CommittedAt.Equal(committed) {
		t.Errorf("deploy input trigger = %+v, want committed_at %s", in.Trigger, committed)
	}
}
