package backend

import (
	"strings"
	"sync"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/report"
)

// Event kinds.
const (
	// EventStep is a ledger step: what a stage did or decided.
	EventStep = "step"
	// EventStage is a stage that ended, with its duration.
	EventStage = "stage"
	// EventStageStarted is a stage that began.
	EventStageStarted = "stage-started"
	// EventWave is how far a wave's host command got: sent only when
	// StartOptions.Waves asks for it.
	EventWave = "wave"
)

// Event is one thing that happened while an execution ran.
type Event struct {
	Kind string
	At   time.Time
	// Stage is the pipeline stage: preflight, approval, lock, snapshot,
	// migrate, rollout, bake, rollback, record, unlock.
	Stage string
	// Status is the step's (ok, failed, skipped, info) or, for a stage,
	// the worst of its steps' (ok, failed, skipped).
	Status  string
	Message string
	// Duration is a stage's.
	Duration time.Duration
	// Wave is an EventWave's progress.
	Wave *WaveProgress
}

// WaveProgress is one host command's progress: a wave's activation, or
// the rollback's switch back.
type WaveProgress struct {
	// Action is the host script's: activate, or rollback.
	Action string
	// Wave counts from 1; 0 for a rollback's command.
	Wave int
	// Waves is how many waves Preflight planned; 0 when not known.
	Waves int
	// Instances the command was sent to, how many of them ended, and how
	// many of those failed.
	Instances, Done, Failed int
}

// StageOf returns the stage of a Task state (pipeline.Tasks); a state
// the table does not know counts as a stage of its own name.
func StageOf(state string) string {
	if t, ok := pipeline.Tasks[state]; ok {
		return t.Stage
	}
	return strings.ToLower(state)
}

// tracker turns history events and ledger steps into Events. Its methods
// are safe for concurrent use.
type tracker struct {
	emit func(Event)
	// failures marks a stage failed when one of its Tasks fails; without
	// the ledger's steps, it is all a history says.
	failures bool

	mu      sync.Mutex
	stage   string
	start   time.Time
	status  string
	seen    int
	timings []report.StageTiming
	// waves is the number Preflight planned; commands, each command's
	// progress last sent.
	waves    int
	commands map[string]WaveProgress
}

func newTracker(emit func(Event)) *tracker {
	if emit == nil {
		emit = func(Event) {}
	}
	return &tracker{emit: emit}
}

// state sees a history event of type typ for state name at a time.
func (t *tracker) state(typ, name string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case typ == "TaskStateEntered":
		stage := StageOf(name)
		if stage == t.stage {
			return
		}
		t.closeStage(at)
		t.stage, t.start, t.status = stage, at, ""
		t.emit(Event{Kind: EventStageStarted, At: at, Stage: stage})
	case strings.HasPrefix(typ, "Execution") && typ != "ExecutionStarted":
		t.closeStage(at)
	case t.failures && (strings.HasSuffix(typ, "Failed") || strings.HasSuffix(typ, "TimedOut")):
		t.status = worse(t.status, report.StatusFailed)
	}
}

// end closes the stage that runs when the execution ends.
func (t *tracker) end(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closeStage(at)
}

func (t *tracker) closeStage(at time.Time) {
	if t.stage == "" {
		return
	}
	status := t.status
	if status == "" {
		status = report.StatusOK
	}
	d := at.Sub(t.start)
	t.timings = append(t.timings, report.StageTiming{Stage: t.stage, StartedAt: t.start.UTC(), Seconds: float64(d.Milliseconds()) / 1000, Status: status})
	t.emit(Event{Kind: EventStage, At: at, Stage: t.stage, Status: status, Duration: d})
	t.stage = ""
}

// steps sees the ledger's steps so far, in order, and emits the new ones.
func (t *tracker) steps(steps []ledger.Step) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range steps[min(t.seen, len(steps)):] {
		if st.Stage == contract.StagePreflight && st.Status == contract.StepOK {
			if d, ok := contract.ParsePreflightDetail(st.Detail); ok {
				t.waves = len(d.Waves)
			}
		}
		if t.stage != "" && report.StageOfStep(st.Stage) == t.stage {
			status := st.Status
			if st.Stage == contract.StageRecord {
				// Record's step is failed when the deployment failed; the
				// stage itself did its job.
				status = report.StatusOK
			}
			t.status = worse(t.status, status)
		}
		t.emit(Event{Kind: EventStep, At: st.At, Stage: st.Stage, Status: st.Status, Message: st.Message})
	}
	t.seen = max(t.seen, len(steps))
}

// wantsResults reports whether host commands may be under way: the
// instance results are worth reading.
func (t *tracker) wantsResults() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stage == contract.StageRollout || t.stage == contract.StageRollback
}

// results sees the ledger's instance results so far and emits the
// progress of each command that moved.
func (t *tracker) results(rs []ledger.InstanceResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var order []string
	now := map[string]WaveProgress{}
	for _, r := range rs {
		if r.Action != "activate" && r.Action != "rollback" {
			continue // the host check's answers
		}
		p, ok := now[r.CommandID]
		if !ok {
			order = append(order, r.CommandID)
			p = WaveProgress{Action: r.Action, Wave: max(r.Wave+1, 0), Waves: t.waves}
		}
		p.Instances++
		if fleet.Final(r.Status) {
			p.Done++
			if r.Status != fleet.StatusSuccess {
				p.Failed++
			}
		}
		now[r.CommandID] = p
	}
	if t.commands == nil {
		t.commands = map[string]WaveProgress{}
	}
	for _, id := range order {
		if p := now[id]; t.commands[id] != p {
			t.commands[id] = p
			stage := contract.StageRollout
			if p.Action == "rollback" {
				stage = contract.StageRollback
			}
			t.emit(Event{Kind: EventWave, At: time.Now(), Stage: stage, Wave: &p})
		}
	}
}

func worse(a, b string) string {
	rank := map[string]int{"": 0, "info": 0, report.StatusSkipped: 1, report.StatusOK: 2, report.StatusFailed: 3}
	if b == "info" {
		b = report.StatusOK
	}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Timings returns the stage timings of a finished history: events are
// (type, state name, time), oldest first.
func timingsOf(events []historyEvent) []report.StageTiming {
	t := newTracker(nil)
	t.failures = true
	for _, e := range events {
		t.state(e.typ, e.name, e.at)
	}
	if n := len(events); n > 0 {
		t.end(events[n-1].at)
	}
	return t.timings
}

type historyEvent struct {
	typ, name string
	at        time.Time
}
