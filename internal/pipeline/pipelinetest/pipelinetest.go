// Package pipelinetest holds hand-written fakes of internal/pipeline's
// ports, for table tests of one handler's decisions: a fleet whose command
// results the test scripts, a prober that answers from a script per
// instance, alarms from a map, and a real SQLite ledger in a temporary
// directory. The pipeline's end-to-end tests run on the embedded
// environment instead (internal/localenv, internal/scenario).
//
// It is test code: nothing outside _test.go files should import it.
package pipelinetest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
)

// Ledger opens a SQLite ledger in a temporary directory, closed when the
// test ends.
func Ledger(t testing.TB) *ledgersqlite.Store {
	t.Helper()
	l, err := ledgersqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// Fleet is a fleet of named instances whose command results the test
// sets: Results by command id, or StatusErr. Send numbers its commands
// cmd-1, cmd-2, ... and records them.
type Fleet struct {
	// ByEnv are the instances of each environment.
	ByEnv map[string][]fleet.Instance
	// Results are what Status returns for a command id.
	Results map[string]fleet.CommandResult
	// SendErr and StatusErr, when set, are returned by Send and Status.
	SendErr, StatusErr error

	mu   sync.Mutex
	sent []fleet.Command
}

// Instances returns the environment's instances (tags are not matched).
func (f *Fleet) Instances(_ context.Context, env string, _ map[string]string) ([]fleet.Instance, error) {
	return append([]fleet.Instance(nil), f.ByEnv[env]...), nil
}

// Lookup returns the named instances of env that exist, in ids' order.
func (f *Fleet) Lookup(_ context.Context, env string, ids []string) ([]fleet.Instance, error) {
	var out []fleet.Instance
	for _, id := range ids {
		for _, i := range f.ByEnv[env] {
			if i.ID == id {
				out = append(out, i)
			}
		}
	}
	return out, nil
}

// Send records cmd and returns its id.
func (f *Fleet) Send(_ context.Context, _ string, cmd fleet.Command) (string, error) {
	if f.SendErr != nil {
		return "", f.SendErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, cmd)
	return fmt.Sprintf("cmd-%d", len(f.sent)), nil
}

// Status returns Results[commandID]; a command without one is
// InProgress with no invocation yet.
func (f *Fleet) Status(_ context.Context, commandID string) (fleet.CommandResult, error) {
	if f.StatusErr != nil {
		return fleet.CommandResult{}, f.StatusErr
	}
	if r, ok := f.Results[commandID]; ok {
		return r, nil
	}
	return fleet.CommandResult{CommandID: commandID, Status: "InProgress"}, nil
}

// Sent returns the commands sent so far.
func (f *Fleet) Sent() []fleet.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fleet.Command(nil), f.sent...)
}

// Answer is one scripted probe answer: healthy on the expected version,
// or Problem.
type Answer struct {
	Healthy bool
	Problem string
}

// Healthy and Unhealthy are the two common answers.
var (
	Healthy   = Answer{Healthy: true}
	Unhealthy = Answer{Problem: "answered 503"}
)

// Prober answers each instance's probes from Script[instance], in order;
// once the script runs out, its last answer repeats. An instance without
// a script answers Healthy. It counts the probes per instance.
type Prober struct {
	Script map[string][]Answer

	mu    sync.Mutex
	calls map[string]int
}

// Probe returns the instance's next scripted answer.
func (p *Prober) Probe(_ context.Context, instanceID, addr, path string, expectStatus int, expectVersion string) health.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls == nil {
		p.calls = map[string]int{}
	}
	n := p.calls[instanceID]
	p.calls[instanceID]++
	a := Healthy
	if s := p.Script[instanceID]; len(s) > 0 {
		a = s[min(n, len(s)-1)]
	}
	r := health.Result{InstanceID: instanceID, URL: "http://" + addr + path, Status: expectStatus, Version: expectVersion, Healthy: a.Healthy, Problem: a.Problem}
	if !a.Healthy {
		r.Status = 503
	}
	return r
}

// Calls returns how many times instanceID was probed.
func (p *Prober) Calls(instanceID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[instanceID]
}

// Alarms answers alarm states from State (missing names are OK).
type Alarms struct {
	State map[string]string
	Err   error
}

// States returns each named alarm's state.
func (a *Alarms) States(_ context.Context, names []string) ([]health.Alarm, error) {
	if a.Err != nil {
		return nil, a.Err
	}
	out := make([]health.Alarm, 0, len(names))
	for _, n := range names {
		s := a.State[n]
		if s == "" {
			s = health.StateOK
		}
		out = append(out, health.Alarm{Name: n, State: s})
	}
	return out, nil
}
