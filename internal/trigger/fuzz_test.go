package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// The fuzz targets' seed corpora (testdata/fuzz/<target>/) are the sample
// events under events/. Each target decodes the bytes as the Lambda
// runtime does, hands the event to the router with in-memory fakes of its
// ports, then checks what the router did.

// fuzzLedger is an in-memory Ledger. It embeds the interface so that it
// still compiles if the interface grows; a method it does not implement
// panics, which the fuzzer reports.
type fuzzLedger struct {
	Ledger
	mu          sync.Mutex
	deployments []ledger.Deployment
	events      []ledger.Event
	pending     map[string]ledger.Pending // by environment
}

func (l *fuzzLedger) ListDeployments(_ context.Context, app, env string, limit int) ([]ledger.Deployment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []ledger.Deployment
	for _, d := range l.deployments {
		if d.App == app && d.Environment == env && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

func (l *fuzzLedger) AddEvent(_ context.Context, e ledger.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	return nil
}

func (l *fuzzLedger) SetPending(_ context.Context, p ledger.Pending) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == nil {
		l.pending = map[string]ledger.Pending{}
	}
	l.pending[p.Environment] = p
	return nil
}

func (l *fuzzLedger) GetPending(_ context.Context, app, env string) (ledger.Pending, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.pending[env]
	return p, ok, nil
}

func (l *fuzzLedger) ClearPending(_ context.Context, app, env, version string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.pending[env]; ok && p.Version == version {
		delete(l.pending, env)
		return true, nil
	}
	return false, nil
}

// fuzzArtifacts says every release is published, or none.
type fuzzArtifacts struct {
	Artifacts
	published bool
}

func (a *fuzzArtifacts) Stat(_ context.Context, app, version string) (contract.Artifact, error) {
	if !a.published {
		return contract.Artifact{}, &artifact.NotFoundError{App: app, Version: version, Where: "the fuzz store"}
	}
	return contract.Artifact{URI: "mem://" + app + "/" + version, SHA256: "00", Size: 1}, nil
}

// fuzzStarter records starts and refuses a name twice, as Step Functions
// refuses a second execution of one name.
type fuzzStarter struct {
	Starter
	mu     sync.Mutex
	starts []fuzzStart
}

func (s *fuzzStarter) Start(_ context.Context, machine, name string, input []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.starts {
		if st.Name == name {
			return "", ErrAlreadyStarted
		}
	}
	s.starts = append(s.starts, fuzzStart{machine, name, append(json.RawMessage(nil), input...)})
	return "arn:" + name, nil
}

type fuzzStart struct {
	Machine, Name string
	Input         json.RawMessage
}

var fuzzLog = slog.New(slog.DiscardHandler)

// fuzzConfig is the configuration the routers run with.
var fuzzConfig = &config.Config{
	App: "demo",
	Environments: map[string]config.Environment{
		"staging":    {Alarms: []string{"demo-staging-5xx"}},
		"production": {Production: true, Alarms: []string{"demo-production-5xx", "demo-5xx"}},
	},
	Triggers: config.Triggers{
		Repositories: []string{"demo", "github.com/acme/demo"},
		Branches:     map[string]string{"main": "staging", "release": "production"},
	},
}

// validExecutionName is what Step Functions accepts as a name (Slipway's
// names are a subset: no other character).
var validExecutionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// decodeEvent decodes raw as the Lambda runtime decodes the routers' input.
func decodeEvent(raw []byte) (events.EventBridgeEvent, bool) {
	var ev events.EventBridgeEvent
	return ev, json.Unmarshal(raw, &ev) == nil
}

// FuzzPushRouter checks the push router: an error is an *EventError (the
// fakes never fail); an event either starts one deploy of a valid,
// published version to a mapped environment, with the push queued and
// recorded, or starts nothing; and the same event delivered again starts
// nothing more.
func FuzzPushRouter(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte, published bool) {
		ev, ok := decodeEvent(raw)
		if !ok {
			return
		}
		ctx := context.Background()
		l := &fuzzLedger{}
		st := &fuzzStarter{}
		r := &PushRouter{Config: fuzzConfig, Ledger: l, Artifacts: &fuzzArtifacts{published: published}, Starter: st, Log: fuzzLog}
		res, err := r.Handle(ctx, ev)
		if err != nil {
			var ee *EventError
			if !errors.As(err, &ee) {
				t.Fatalf("Handle() error = %v (%T), want an *EventError", err, err)
			}
			if len(st.starts) != 0 {
				t.Fatalf("Handle() error = %v, and started %+v; want nothing started", err, st.starts)
			}
			return
		}
		if res.Message == "" {
			t.Errorf("Handle() = %+v, want a message", res)
		}
		switch res.Action {
		case "started":
			checkPushStart(t, res, st.starts, l)
		case "ignored", "no-artifact":
			if len(st.starts) != 0 {
				t.Fatalf("Handle() = %s, started %+v; want nothing started", res.Action, st.starts)
			}
			if res.Action == "no-artifact" && published {
				t.Fatalf("Handle() = no-artifact, want a start: every release is published")
			}
		default:
			t.Fatalf("Handle() action = %q, want started, ignored or no-artifact", res.Action)
		}
		again, err := r.Handle(ctx, ev)
		if err != nil {
			t.Fatalf("Handle(again) error = %v, want what the first delivery got", err)
		}
		if len(st.starts) > 1 {
			t.Fatalf("Handle(again) started %d executions, want at most one for one event", len(st.starts))
		}
		if res.Action == "started" && again.Action != "already-started" {
			t.Fatalf("Handle(again) = %s, want already-started", again.Action)
		}
	})
}

func checkPushStart(t *testing.T, res Result, starts []fuzzStart, l *fuzzLedger) {
	t.Helper()
	if len(starts) != 1 {
		t.Fatalf("Handle() = started, with %d starts; want one", len(starts))
	}
	s := starts[0]
	if s.Machine != MachineDeploy || !validExecutionName.MatchString(s.Name) || s.Name != res.DeploymentID {
		t.Fatalf("started %s %q (deployment %q), want the deploy machine under a valid name", s.Machine, s.Name, res.DeploymentID)
	}
	if err := artifact.ValidVersion(res.Version); err != nil {
		t.Fatalf("started version %q: %v", res.Version, err)
	}
	mapped := false
	for _, env := range fuzzConfig.Triggers.Branches {
		mapped = mapped || env == res.Environment
	}
	if !mapped {
		t.Fatalf("started for environment %q, which no branch maps to", res.Environment)
	}
	var in contract.DeployRequest
	if err := json.Unmarshal(s.Input, &in); err != nil {
		t.Fatalf("deploy input %s: %v", s.Input, err)
	}
	if in.App != fuzzConfig.App || in.Environment != res.Environment || in.Version != res.Version || in.Trigger.Source != "push" || in.Trigger.Commit != res.Version {
		t.Fatalf("deploy input = %+v, want %s of %s to %s from a push", in, res.Version, fuzzConfig.App, res.Environment)
	}
	if p, ok := l.pending[res.Environment]; !ok || p.Version != res.Version {
		t.Fatalf("queued push = %+v, %v; want %s queued", p, ok, res.Version)
	}
	if n := len(l.events); n != 1 || l.events[0].Kind != "push-started" {
		t.Fatalf("recorded events = %+v, want one push-started", l.events)
	}
}

// alarmHistories are the ledgers FuzzAlarmRouter picks from: nothing
// deployed, a succeeded deployment in its watch window (both
// environments), one running, one rolled back, one past its watch.
func alarmHistories(now time.Time) [][]ledger.Deployment {
	d := func(env, status string, watch time.Duration) ledger.Deployment {
		return ledger.Deployment{ID: "dep-" + env, App: "demo", Environment: env, Version: "v2", PreviousVersion: "v1", Kind: contract.KindDeploy,
			Status: status, StartedAt: now.Add(-20 * time.Minute), FinishedAt: now.Add(-10 * time.Minute), WatchUntil: now.Add(watch)}
	}
	return [][]ledger.Deployment{
		nil,
		{d("staging", contract.StatusSucceeded, time.Hour), d("production", contract.StatusSucceeded, time.Hour)},
		{d("staging", contract.StatusRunning, time.Hour)},
		{d("staging", contract.StatusRolledBack, time.Hour)},
		{d("staging", contract.StatusSucceeded, -time.Minute)},
	}
}

// FuzzAlarmRouter checks the alarm router: an error is an *EventError;
// only an alarm in ALARM, watched by an environment whose last deployment
// succeeded and is in its watch window, starts one rollback of that
// environment; and the same event again starts nothing more.
func FuzzAlarmRouter(f *testing.F) {
	now := time.Date(2026, 11, 26, 1, 32, 7, 0, time.UTC)
	histories := alarmHistories(now)
	f.Fuzz(func(t *testing.T, raw []byte, history byte) {
		ev, ok := decodeEvent(raw)
		if !ok {
			return
		}
		ctx := context.Background()
		l := &fuzzLedger{deployments: histories[int(history)%len(histories)]}
		st := &fuzzStarter{}
		r := &AlarmRouter{Config: fuzzConfig, Ledger: l, Starter: st, Now: func() time.Time { return now }, Log: fuzzLog}
		res, err := r.Handle(ctx, ev)
		if err != nil {
			var ee *EventError
			if !errors.As(err, &ee) {
				t.Fatalf("Handle() error = %v (%T), want an *EventError", err, err)
			}
			if len(st.starts) != 0 {
				t.Fatalf("Handle() error = %v, and started %+v; want nothing started", err, st.starts)
			}
			return
		}
		switch res.Action {
		case "rollback-started":
			checkRollbackStart(t, res, st.starts, l, ev)
		case "ignored", "nothing-to-roll-back", "deployment-running", "already-rolled-back", "outside-watch":
			if len(st.starts) != 0 {
				t.Fatalf("Handle() = %s, started %+v; want nothing started", res.Action, st.starts)
			}
		default:
			t.Fatalf("Handle() action = %q, want a known action", res.Action)
		}
		again, err := r.Handle(ctx, ev)
		if err != nil {
			t.Fatalf("Handle(again) error = %v, want what the first delivery got", err)
		}
		if len(st.starts) > 1 {
			t.Fatalf("Handle(again) started %d rollbacks, want at most one for one event", len(st.starts))
		}
		if res.Action == "rollback-started" && again.Action != "already-started" {
			t.Fatalf("Handle(again) = %s, want already-started", again.Action)
		}
	})
}

func checkRollbackStart(t *testing.T, res Result, starts []fuzzStart, l *fuzzLedger, ev events.EventBridgeEvent) {
	t.Helper()
	if len(starts) != 1 {
		t.Fatalf("Handle() = rollback-started, with %d starts; want one", len(starts))
	}
	s := starts[0]
	if s.Machine != MachineRollback || !validExecutionName.MatchString(s.Name) {
		t.Fatalf("started %s %q, want the rollback machine under a valid name", s.Machine, s.Name)
	}
	var d AlarmChange
	if err := json.Unmarshal(ev.Detail, &d); err != nil || d.State.Value != "ALARM" {
		t.Fatalf("rollback started for detail %s (%v), want an alarm in ALARM", ev.Detail, err)
	}
	env, ok := fuzzConfig.EnvironmentOfAlarm(d.AlarmName)
	if !ok || env != res.Environment {
		t.Fatalf("rollback of %q for alarm %q, want the environment that watches it (%q, %v)", res.Environment, d.AlarmName, env, ok)
	}
	var last *ledger.Deployment
	for i := range l.deployments {
		if l.deployments[i].Environment == env {
			last = &l.deployments[i]
			break
		}
	}
	if last == nil || last.Status != contract.StatusSucceeded || last.ID != res.DeploymentID {
		t.Fatalf("rollback of deployment %q, want the environment's last succeeded one (%+v)", res.DeploymentID, last)
	}
	var in contract.RollbackRequest
	if err := json.Unmarshal(s.Input, &in); err != nil {
		t.Fatalf("rollback input %s: %v", s.Input, err)
	}
	if in.App != fuzzConfig.App || in.Environment != env || in.Trigger.Source != "alarm" || in.Trigger.Alarm != d.AlarmName {
		t.Fatalf("rollback input = %+v, want %s rolled back for alarm %s", in, env, d.AlarmName)
	}
}
