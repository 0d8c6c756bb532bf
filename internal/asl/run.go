package asl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Run.
type Options struct {
	// Resolver finds the handler for each Task. With none, every Task fails
	// with an error naming its resource.
	Resolver Resolver
	// Clock drives Wait states, Retry intervals and every timestamp. The
	// default is a virtual clock starting now, so Wait states and retry
	// intervals take no time while the history's timestamps still move on;
	// give RealClock() for a run that really waits. Task timeouts and the
	// TimeoutSeconds and HeartbeatSeconds of a task token are measured on
	// the wall clock either way (see Callbacks).
	Clock Clock
	// ExecutionName defaults to a random UUID.
	ExecutionName string
	// StateMachineName defaults to "StateMachine".
	StateMachineName string
	// Region and Account build the ARNs in the context object; they default
	// to "us-east-1" and "000000000000".
	Region, Account string
	// Callbacks completes the task tokens of .waitForTaskToken Tasks. A run
	// that reaches such a Task without Callbacks fails with States.Runtime.
	Callbacks *Callbacks
	// Mocks, if set, answers the Tasks it names with mocked responses
	// instead of their handlers (Step Functions Local's mock
	// configuration; see MockConfig).
	Mocks *MockTestCase
	// OnEvent, if set, is called with each history event as it is appended,
	// in order, synchronously and with the history locked: it must not
	// block for long.
	OnEvent func(HistoryEvent)
	// MaxHistoryEvents caps the execution's history, as Step Functions
	// caps it at 25,000 events; 0 means DefaultMaxHistoryEvents, and less
	// than 2 means 2. An execution that reaches the cap ends FAILED with
	// States.Runtime, which no Retry or Catch handles; its ExecutionFailed
	// event is the last of the cap, and the events that would have come
	// before it are not kept. Each child execution of a Distributed Map
	// has a cap of its own.
	MaxHistoryEvents int
}

// Execution is the outcome of a Run.
type Execution struct {
	ExecutionARN string
	Name         string
	// Status is SUCCEEDED, FAILED, TIMED_OUT (the state machine's
	// TimeoutSeconds ran out) or ABORTED (the context was cancelled).
	Status string
	// Output is the execution's output, when it SUCCEEDED.
	Output json.RawMessage
	// Error and Cause say why it did not succeed; either may be empty, as a
	// Fail state need not set them.
	Error, Cause string
	StartDate    time.Time
	StopDate     time.Time
	History      []HistoryEvent
}

// payloadLimit is Step Functions' limit on a state's input or output.
const payloadLimit = 256 * 1024

// Run executes sm with input, a JSON document (empty input means {}). It
// returns an error only when the execution cannot start; an execution that
// fails is returned with Status FAILED.
func Run(ctx context.Context, sm *StateMachine, input []byte, opts Options) (*Execution, error) {
	if sm == nil {
		return nil, errors.New("run state machine: no state machine")
	}
	var in any = map[string]any{}
	if len(bytes.TrimSpace(input)) > 0 {
		v, err := decodeJSON(input)
		if err != nil {
			return nil, fmt.Errorf("execution input: %w", err)
		}
		in = v
	}
	r := newRunner(sm, in, opts)
	r.ctx = ctx
	// The run's own context also ends when the history is full, so that
	// every branch, iteration and handler stops at once.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	r.stop = stop
	top := &thread{r: r, at: r.start, vars: &varScope{}}
	r.emit(top, HistoryEvent{Type: EventExecutionStarted, ExecutionStartedEventDetails: &ExecutionStartedEventDetails{
		Input: r.inputText, InputDetails: &DataDetails{}, RoleARN: r.roleARN,
	}})
	top.last = 0 // AWS gives the first state's Entered event previousEventId 0

	if _, real := r.clock.(realClock); real && !r.deadline.IsZero() {
		// On the wall clock the deadline also stops a Task that is still
		// running when it comes.
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(runCtx, r.deadline)
		defer cancel()
	}
	out, f := top.runMachine(runCtx, sm, in)
	switch {
	case r.full.Load():
		// Events were dropped: whatever else happened, the history is
		// not the whole story, and the execution fails as on AWS.
		f = historyFull(r.maxEvents)
	case f != nil && f.kind == failAborted && ctx.Err() == nil:
		if tf := r.alive(ctx, top); tf != nil {
			f = tf
		}
	}
	ex := &Execution{ExecutionARN: r.executionARN, Name: r.name, StartDate: r.start}
	switch {
	case f == nil:
		text := jsonText(out)
		ex.Status, ex.Output = StatusSucceeded, json.RawMessage(text)
		r.emitLast(top, HistoryEvent{Type: EventExecutionSucceeded, ExecutionSucceededEventDetails: &ExecutionSucceededEventDetails{
			Output: text, OutputDetails: &DataDetails{},
		}})
	case f.kind == failAborted:
		ex.Status = StatusAborted
		r.emitLast(top, HistoryEvent{Type: EventExecutionAborted, ExecutionAbortedEventDetails: &FailureEventDetails{}})
	case f.kind == failTimedOut:
		ex.Status, ex.Error, ex.Cause = StatusTimedOut, StatesTimeout, f.cause
		r.emitLast(top, HistoryEvent{Type: EventExecutionTimedOut, ExecutionTimedOutEventDetails: &FailureEventDetails{
			Error: ex.Error, Cause: ex.Cause,
		}})
	default:
		ex.Status, ex.Error, ex.Cause = StatusFailed, f.err, f.cause
		r.emitLast(top, HistoryEvent{Type: EventExecutionFailed, ExecutionFailedEventDetails: &FailureEventDetails{
			Error: f.err, Cause: f.cause,
		}})
	}
	ex.StopDate = r.now(top)
	r.mu.Lock()
	ex.History = r.events.all()
	r.mu.Unlock()
	return ex, nil
}

// runner is one execution.
type runner struct {
	sm              *StateMachine
	opts            Options
	clock           Clock
	virtual         *VirtualClock // the clock, when it is virtual
	resolver        Resolver
	region, account string
	name            string
	executionARN    string
	roleARN         string
	start           time.Time
	deadline        time.Time // zero: no TimeoutSeconds
	inputText       string

	ctx context.Context // the caller's: when it ends, the whole execution stops

	ctxExecution    map[string]any
	ctxStateMachine map[string]any

	mu     sync.Mutex
	events eventLog

	maxEvents int                // the history's cap, the final event included
	full      atomic.Bool        // the history reached maxEvents - 1: only the final event may follow
	stop      context.CancelFunc // ends the run's context

	mockMu     sync.Mutex
	mockCounts map[string]int // invocations of each mocked state
}

// eventLog stores the history in fixed-size chunks, so that a long history
// is not copied over and over as it grows.
type eventLog struct {
	chunks [][]HistoryEvent
	n      int
}

const eventChunk = 1024

func (l *eventLog) append(ev HistoryEvent) {
	if l.n%eventChunk == 0 {
		l.chunks = append(l.chunks, make([]HistoryEvent, 0, eventChunk))
	}
	last := len(l.chunks) - 1
	l.chunks[last] = append(l.chunks[last], ev)
	l.n++
}

func (l *eventLog) all() []HistoryEvent {
	out := make([]HistoryEvent, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return out
}

func newRunner(sm *StateMachine, input any, opts Options) *runner {
	r := &runner{sm: sm, opts: opts, clock: opts.Clock, resolver: opts.Resolver,
		region: opts.Region, account: opts.Account, name: opts.ExecutionName}
	if r.clock == nil {
		r.clock = NewVirtualClock(time.Now())
	}
	r.virtual, _ = r.clock.(*VirtualClock)
	if r.region == "" {
		r.region = "us-east-1"
	}
	if r.account == "" {
		r.account = "000000000000"
	}
	if r.name == "" {
		r.name = newUUID()
	}
	smName := opts.StateMachineName
	if smName == "" {
		smName = "StateMachine"
	}
	smARN := fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", r.region, r.account, smName)
	r.executionARN = fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", r.region, r.account, smName, r.name)
	r.roleARN = fmt.Sprintf("arn:aws:iam::%s:role/service-role/StepFunctions-%s-role", r.account, smName)
	r.maxEvents = opts.MaxHistoryEvents
	if r.maxEvents == 0 {
		r.maxEvents = DefaultMaxHistoryEvents
	}
	r.maxEvents = max(r.maxEvents, 2)
	r.stop = func() {}
	r.start = r.clock.Now()
	if sm.TimeoutSeconds > 0 {
		r.deadline = r.start.Add(time.Duration(sm.TimeoutSeconds) * time.Second)
	}
	r.inputText = jsonText(input)
	r.ctxExecution = map[string]any{
		"Id":           r.executionARN,
		"Input":        input,
		"Name":         r.name,
		"RoleArn":      r.roleARN,
		"StartTime":    isoMillis(r.start),
		"RedriveCount": json.Number("0"),
	}
	r.ctxStateMachine = map[string]any{"Id": smARN, "Name": smName}
	return r
}

// thread is one line of execution: the top level, a Parallel branch or a
// Map iteration. It remembers its last event, which the next event it
// appends names as previousEventId.
//
// On a virtual clock each thread also keeps its own time, at: where the
// thread has got to. A branch starts at its parent's time and moves on only
// by its own waits, so branches that wait side by side do not add their
// waits together however the goroutines are scheduled; the shared clock
// ends at the latest of them.
type thread struct {
	r    *runner
	last int64
	at   time.Time
	vars *varScope
	// nested: the thread is a Parallel branch or a Map iteration.
	nested bool
	// child, when set, is the history of the child execution the thread
	// runs in (an iteration of a Distributed Map), which the execution's
	// own history does not show.
	child *childHistory
}

// childHistory is the history of a child execution.
type childHistory struct {
	mu     sync.Mutex
	events eventLog
	full   atomic.Bool // the history reached its cap
}

// fork starts a thread that continues from t, in a variable scope nested
// in t's.
func (t *thread) fork() *thread {
	return &thread{r: t.r, last: t.last, at: t.at, vars: t.vars.child(), child: t.child, nested: true}
}

// join moves t on to where its forked threads got to.
func (t *thread) join(children []*thread) {
	for _, c := range children {
		if c == nil {
			continue
		}
		t.last = max(t.last, c.last)
		if c.at.After(t.at) {
			t.at = c.at
		}
	}
}

// now is the time on t: the thread's own time on a virtual clock, else the
// clock's.
func (r *runner) now(t *thread) time.Time {
	if r.virtual != nil {
		return t.at
	}
	return r.clock.Now()
}

// emit appends ev to the history on t's behalf and returns its id. Once
// the history holds all but one of the events its cap allows, emit drops
// ev, returns 0 and marks the history full: the execution (or the child
// execution t runs in) is ending, and the last event is its ExecutionFailed.
func (r *runner) emit(t *thread, ev HistoryEvent) int64 {
	if c := t.child; c != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.events.n >= r.maxEvents-1 {
			c.full.Store(true)
			return 0
		}
		ev.ID = int64(c.events.n) + 1
		ev.PreviousEventID = t.last
		ev.Timestamp = r.now(t)
		c.events.append(ev)
		t.last = ev.ID
		return ev.ID
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events.n >= r.maxEvents-1 {
		if !r.full.Swap(true) {
			r.stop()
		}
		return 0
	}
	return r.appendLocked(t, ev)
}

// emitLast appends the execution's final event, for which emit always
// leaves room.
func (r *runner) emitLast(t *thread, ev HistoryEvent) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.appendLocked(t, ev)
}

func (r *runner) appendLocked(t *thread, ev HistoryEvent) int64 {
	ev.ID = int64(r.events.n) + 1
	ev.PreviousEventID = t.last
	ev.Timestamp = r.now(t)
	r.events.append(ev)
	t.last = ev.ID
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(ev)
	}
	return ev.ID
}

// alive reports why the execution must stop, if it must.
func (r *runner) alive(ctx context.Context, t *thread) *failure {
	if f := r.overflowed(t); f != nil {
		return f
	}
	if ctx.Err() != nil {
		return aborted
	}
	if !r.deadline.IsZero() && !r.now(t).Before(r.deadline) {
		return &failure{kind: failTimedOut, err: StatesTimeout,
			cause: fmt.Sprintf("The execution ran longer than the state machine's TimeoutSeconds (%d).", r.sm.TimeoutSeconds)}
	}
	return nil
}

// overflowed returns the failure of an execution, or of the child
// execution t runs in, whose history is full.
func (r *runner) overflowed(t *thread) *failure {
	if r.full.Load() || (t.child != nil && t.child.full.Load()) {
		return historyFull(r.maxEvents)
	}
	return nil
}

// sleepUntil waits on the clock until until, stopping early at the
// execution's deadline, and moves t on.
func (r *runner) sleepUntil(ctx context.Context, t *thread, until time.Time) *failure {
	if !r.deadline.IsZero() && until.After(r.deadline) {
		until = r.deadline
	}
	var err error
	if r.virtual != nil {
		err = r.virtual.SleepUntil(ctx, until)
		if err == nil && until.After(t.at) {
			t.at = until
		}
	} else {
		err = r.clock.Sleep(ctx, until.Sub(r.clock.Now()))
	}
	if err != nil {
		return aborted
	}
	return r.alive(ctx, t)
}

// runMachine runs the states of m from StartAt until one ends the thread.
func (t *thread) runMachine(ctx context.Context, m *StateMachine, input any) (any, *failure) {
	name := m.StartAt
	inputText := "" // the JSON text of input, once a state has rendered it
	for {
		if f := t.r.alive(ctx, t); f != nil {
			return nil, f
		}
		s := m.States[name]
		if s == nil {
			// Parse rules this out; a machine edited afterwards may not.
			return nil, &failure{err: StatesRuntime, cause: fmt.Sprintf("There is no state named '%s' to go to.", name)}
		}
		out, outText, next, f := t.runState(ctx, s, input, inputText)
		if f != nil {
			return nil, f
		}
		if next == "" {
			return out, nil
		}
		name, input, inputText = next, out, outText
	}
}

// stateRun is one state being run.
type stateRun struct {
	t          *thread
	s          *State
	enteredID  int64
	entered    time.Time
	retryCount int
	started    bool           // the attempt got as far as ParallelStateStarted or MapStateStarted
	taskToken  string         // the attempt's task token, for .waitForTaskToken
	rule       *ChoiceRule    // the Choice rule that matched, nil for Default
	assigned   map[string]any // the variables the state assigns as it exits

	ctxMu      sync.Mutex
	ctxObject  map[string]any // $$ as of ctxRetries retries
	ctxRetries int
}

// runtimeError builds a States.Runtime failure, worded as AWS words them.
func (sr *stateRun) runtimeError(format string, a ...any) *failure {
	return &failure{err: StatesRuntime, cause: sr.errorPrefix() + fmt.Sprintf(format, a...)}
}

func (sr *stateRun) errorPrefix() string {
	return fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). ", sr.s.Name, sr.enteredID)
}

// contextObject returns $$ for the state. It is built once per attempt and
// shared: like every value in the engine, it is never modified.
func (sr *stateRun) contextObject() any { return sr.baseContext() }

func (sr *stateRun) baseContext() map[string]any {
	sr.ctxMu.Lock()
	defer sr.ctxMu.Unlock()
	if sr.ctxObject != nil && sr.ctxRetries == sr.retryCount {
		return sr.ctxObject
	}
	st := map[string]any{"Name": sr.s.Name, "EnteredTime": isoMillis(sr.entered)}
	switch sr.s.Type {
	case "Task", "Parallel", "Map":
		st["RetryCount"] = number(sr.retryCount)
	}
	sr.ctxObject = map[string]any{"Execution": sr.t.r.ctxExecution, "StateMachine": sr.t.r.ctxStateMachine, "State": st}
	if sr.taskToken != "" {
		sr.ctxObject["Task"] = map[string]any{"Token": sr.taskToken}
	}
	sr.ctxRetries = sr.retryCount
	return sr.ctxObject
}

// setTaskToken gives the attempt its task token, $$.Task.Token.
func (sr *stateRun) setTaskToken(token string) {
	sr.ctxMu.Lock()
	defer sr.ctxMu.Unlock()
	sr.taskToken = token
	sr.ctxObject = nil
}

// contextWithItem returns $$ for a Map state's ItemSelector: the state's
// context object and Map.Item.
func (sr *stateRun) contextWithItem(index int, value any) any {
	base := sr.baseContext()
	m := make(map[string]any, len(base)+1)
	for k, v := range base {
		m[k] = v
	}
	m["Map"] = map[string]any{"Item": map[string]any{"Index": number(index), "Value": value}}
	return m
}

func (sr *stateRun) scope(input any) *scope {
	return &scope{input: input, context: sr.contextObject, vars: sr.t.vars}
}

// resolvePath evaluates p against input, the context object or the
// variable it starts at.
func (sr *stateRun) resolvePath(p *path, input any) (any, error) {
	return sr.scope(input).resolve(p)
}

// runState runs one state and returns its output and the state to go to
// next ("" when the thread ends).
//
// inputText is the JSON text of input when the caller has it (the previous
// state's output), else ""; the state's own output text comes back with
// its output, so that each document is rendered once.
func (t *thread) runState(ctx context.Context, s *State, input any, inputText string) (any, string, string, *failure) {
	r := t.r
	if inputText == "" {
		inputText = jsonText(input)
	}
	id := r.emit(t, HistoryEvent{Type: s.Type + "StateEntered", StateEnteredEventDetails: &StateEnteredEventDetails{
		Name: s.Name, Input: inputText, InputDetails: &DataDetails{},
	}})
	sr := &stateRun{t: t, s: s, enteredID: id, entered: r.now(t)}
	if f := r.overflowed(t); f != nil {
		return nil, "", "", f
	}
	if len(inputText) > payloadLimit {
		return nil, "", "", &failure{err: StatesDataLimitExceeded,
			cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", s.Name)}
	}
	var (
		out  any
		next string
		f    *failure
	)
	switch s.Type {
	case "Pass":
		out, f = sr.pass(input)
		next = s.Next
	case "Task":
		out, next, f = sr.retryCatch(ctx, input, sr.task, nil)
		// In a branch or an iteration, a Task that fails, or that a failing
		// sibling stops, ends with TaskStateAborted.
		if f != nil && t.nested && (f.kind == failError || (f.kind == failAborted && r.ctx.Err() == nil)) {
			r.emit(t, HistoryEvent{Type: EventTaskStateAborted})
		}
	case "Parallel":
		out, next, f = sr.retryCatch(ctx, input, sr.parallel, func() {
			r.emit(t, HistoryEvent{Type: EventParallelStateFailed})
		})
	case "Map":
		out, next, f = sr.retryCatch(ctx, input, sr.mapState, func() {
			r.emit(t, HistoryEvent{Type: EventMapStateFailed})
		})
	case "Choice":
		out, next, f = sr.choice(input)
	case "Wait":
		out, f = sr.wait(ctx, input)
		next = s.Next
	case "Succeed":
		out, f = sr.passThrough(input)
	case "Fail":
		return nil, "", "", sr.fail(input)
	}
	if f != nil {
		return nil, "", "", f
	}
	outText := jsonText(out)
	if len(outText) > payloadLimit {
		return nil, "", "", &failure{err: StatesDataLimitExceeded,
			cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", s.Name)}
	}
	details := &StateExitedEventDetails{Name: s.Name, Output: outText, OutputDetails: &DataDetails{}}
	if sr.assigned != nil {
		t.vars.set(sr.assigned)
		details.AssignedVariables = make(map[string]string, len(sr.assigned))
		for k, v := range sr.assigned {
			details.AssignedVariables[k] = jsonText(v)
		}
		details.AssignedVariablesDetails = &DataDetails{}
	}
	r.emit(t, HistoryEvent{Type: s.Type + "StateExited", StateExitedEventDetails: details})
	return out, outText, next, nil
}

// retryCatch runs attempt until it succeeds or the state's Retry gives up,
// then hands a remaining error to the state's Catch. onFailed runs once the
// state has failed for good, before any catcher.
func (sr *stateRun) retryCatch(ctx context.Context, raw any, attempt func(context.Context, any) (any, *failure), onFailed func()) (any, string, *failure) {
	s := sr.s
	counts := make([]int64, len(s.Retry))
	for {
		sr.started, sr.assigned = false, nil
		out, f := attempt(ctx, raw)
		if f == nil {
			return out, s.Next, nil
		}
		sr.assigned = nil
		if f.kind != failError {
			return nil, "", f
		}
		if i := matchingRetrier(s.Retry, f); i >= 0 && counts[i] < s.Retry[i].MaxAttempts {
			delay := s.Retry[i].delay(counts[i])
			counts[i]++
			sr.retryCount++
			if stop := sr.t.r.sleepUntil(ctx, sr.t, sr.t.r.now(sr.t).Add(delay)); stop != nil {
				return nil, "", stop
			}
			continue
		}
		if onFailed != nil && (sr.started || f.err == StatesQueryEvaluationError) {
			onFailed()
		}
		for _, c := range s.Catch {
			if f.matches(c.ErrorEquals) {
				out, cf := s.flow.errorOutput(sr, c, raw, f)
				if cf != nil {
					return nil, "", cf
				}
				return out, c.Next, nil
			}
		}
		return nil, "", f
	}
}

// matchingRetrier returns the index of the first retrier that matches the
// error, or -1.
func matchingRetrier(rs []*Retrier, f *failure) int {
	for i, r := range rs {
		if f.matches(r.ErrorEquals) {
			return i
		}
	}
	return -1
}

// delay is the wait before retry number n+1: IntervalSeconds ×
// BackoffRate^n, capped at MaxDelaySeconds, and with FULL jitter a random
// fraction of that.
func (r *Retrier) delay(n int64) time.Duration {
	const longest = 1e9 // seconds; far beyond any execution's life
	secs := float64(r.IntervalSeconds)
	for range n {
		secs *= r.BackoffRate
		if secs > longest {
			break
		}
	}
	if r.MaxDelaySeconds > 0 && secs > float64(r.MaxDelaySeconds) {
		secs = float64(r.MaxDelaySeconds)
	}
	secs = min(secs, longest)
	if r.JitterStrategy == "FULL" {
		secs *= randFloat()
	}
	return time.Duration(secs * float64(time.Second))
}

// DefaultMaxHistoryEvents is Step Functions' quota on the events of one
// execution's history.
const DefaultMaxHistoryEvents = 25000

// historyFull is the failure of an execution whose history reached its
// cap, worded as Step Functions words it.
func historyFull(limit int) *failure {
	return &failure{err: StatesRuntime, cause: fmt.Sprintf("The execution reached the maximum number of history events (%d).", limit)}
}
