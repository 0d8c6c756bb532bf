package localenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/statemachine"
)

// RunOptions shape one execution on the embedded engine.
type RunOptions struct {
	// Progress, when set, receives one line per ledger step as it is written.
	Progress io.Writer
	// RealTime makes Wait states and retries really wait.
	RealTime bool
	// Name is the execution name (and deployment id); default: generated.
	Name string
	// OnEvent, when set, sees every history event as it happens (tests use
	// it to raise an alarm at a chosen moment).
	OnEvent func(asl.HistoryEvent)
}

// Deploy runs the deploy state machine for req on the embedded engine.
func (e *Env) Deploy(ctx context.Context, req contract.DeployRequest, opts RunOptions) (*asl.Execution, error) {
	if opts.Name == "" {
		opts.Name = ExecutionName(req.Environment, req.Version)
	}
	in, _ := json.Marshal(req)
	return e.Run(ctx, "deploy", statemachine.Deploy, in, opts)
}

// Rollback runs the rollback state machine for req on the embedded engine.
func (e *Env) Rollback(ctx context.Context, req contract.RollbackRequest, opts RunOptions) (*asl.Execution, error) {
	if opts.Name == "" {
		opts.Name = ExecutionName(req.Environment, "rollback")
	}
	in, _ := json.Marshal(req)
	return e.Run(ctx, "rollback", statemachine.Rollback, in, opts)
}

// Run runs a definition with the environment's handlers.
func (e *Env) Run(ctx context.Context, machine string, definition, input []byte, opts RunOptions) (*asl.Execution, error) {
	resolver, subs := e.Handlers()
	def, err := asl.Substitute(definition, subs)
	if err != nil {
		return nil, err
	}
	sm, err := asl.Parse(def)
	if err != nil {
		return nil, fmt.Errorf("parse %s definition: %w", machine, err)
	}
	clock := asl.Clock(asl.NewVirtualClock(time.Now().UTC()))
	if opts.RealTime {
		clock = asl.RealClock()
	}
	if opts.Name == "" {
		opts.Name = ExecutionName(machine, "")
	}
	p := &progress{w: opts.Progress, ledger: e.Ledger, id: opts.Name, hook: opts.OnEvent}
	if err := e.markRunning(opts.Name); err != nil {
		return nil, err
	}
	defer e.markDone(opts.Name)
	cb := &asl.Callbacks{}
	watch, stop := context.WithCancel(ctx)
	defer stop()
	go e.watchApprovals(watch, cb)
	exec, err := asl.Run(ctx, sm, input, asl.Options{
		Callbacks:        cb,
		Resolver:         resolver,
		Clock:            clock,
		ExecutionName:    opts.Name,
		StateMachineName: "slipway-" + e.Config.App + "-" + machine,
		Region:           "local",
		Account:          "000000000000",
		OnEvent:          p.onEvent,
	})
	if err == nil && (exec.Status == asl.StatusAborted || exec.Status == asl.StatusTimedOut) {
		e.finishStopped(exec)
	}
	return exec, err
}

// finishStopped closes the record of an execution that was stopped (Ctrl-C
// on `slipway deploy --local`) or timed out, from what the fleet is
// observed to be once the host commands it sent have finished, and
// releases its lease, so nothing is left RUNNING and locked without a word.
// It does not roll back on its own: a stop is a person's decision; the
// record says what every instance serves and how to bring the environment
// back to one release.
func (e *Env) finishStopped(exec *asl.Execution) {
	ctx := context.Background()
	var st contract.State
	last := ""
	for _, ev := range exec.History {
		if d := ev.StateEnteredEventDetails; d != nil {
			var s contract.State
			if json.Unmarshal([]byte(d.Input), &s) == nil && s.DeploymentID != "" {
				st, last = s, d.Name
			}
		}
	}
	if last == "" || st.Outcome != nil {
		return // stopped before Init, or after Record wrote the outcome
	}
	dep, err := e.Ledger.GetDeployment(ctx, st.DeploymentID)
	if err != nil {
		// Stopped before Preflight opened the record: nothing to close.
		return
	}
	if dep.Final() {
		return
	}
	why := contract.StateError{Error: pipeline.StoppedError, Cause: "stopped by a person during " + last}
	if exec.Status == asl.StatusTimedOut {
		why = contract.StateError{Error: pipeline.TimedOutError, Cause: "the execution timed out during " + last}
	}
	if _, err := e.Deps.CloseUnfinished(ctx, dep, why, &st); err != nil {
		e.Deps.Logger().Error("record of a stopped execution not written", "deployment", st.DeploymentID, "err", err)
	}
}

func contractAbandoned(why string) contract.StateError {
	return contract.StateError{Error: pipeline.AbandonedError, Cause: why}
}

// approvalPoll is how often a waiting execution looks for a decision.
const approvalPoll = 100 * time.Millisecond

// watchApprovals plays the part of Step Functions' SendTaskSuccess and
// SendTaskFailure API for the embedded environment: `slipway approve` (in
// any process) writes the decision to the ledger, and this completes the
// waiting task's token with it.
func (e *Env) watchApprovals(ctx context.Context, cb *asl.Callbacks) {
	t := time.NewTicker(approvalPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range cb.Pending() {
			var in struct {
				Payload struct {
					Environment string `json:"environment"`
				}
			}
			if json.Unmarshal(p.Input, &in) != nil || in.Payload.Environment == "" {
				continue
			}
			a, err := e.Ledger.GetApproval(ctx, e.Config.App, in.Payload.Environment, p.ExecutionName)
			if err != nil || a.Token != p.Token {
				continue
			}
			switch a.Decision {
			case ledger.ApprovalApproved:
				out, _ := json.Marshal(contract.ApprovalOutput{ApprovedBy: a.DecidedBy, Reason: a.Reason})
				cb.SendTaskSuccess(p.Token, out)
			case ledger.ApprovalRejected:
				cb.SendTaskFailure(p.Token, "Rejected", fmt.Sprintf("rejected by %s: %s", a.DecidedBy, a.Reason))
			}
		}
	}
}

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// ExecutionName returns a unique execution name such as
// staging-v2-20261126T011500Z-3f9a (at most 80 characters, Step Functions' limit).
func ExecutionName(env, version string) string {
	var b [2]byte
	rand.Read(b[:])
	parts := []string{env}
	if version != "" {
		parts = append(parts, version)
	}
	parts = append(parts, time.Now().UTC().Format("20060102T150405Z"), hex.EncodeToString(b[:]))
	n := nameUnsafe.ReplaceAllString(strings.Join(parts, "-"), "-")
	if len(n) > 80 {
		n = n[len(n)-80:]
	}
	return n
}

// progress prints ledger steps as the execution writes them.
type progress struct {
	w      io.Writer
	ledger *ledgersqlite.Store
	id     string
	hook   func(asl.HistoryEvent)
	mu     sync.Mutex
	seen   int
}

func (p *progress) onEvent(ev asl.HistoryEvent) {
	if p.hook != nil {
		p.hook(ev)
	}
	if p.w == nil {
		return
	}
	if !strings.HasSuffix(ev.Type, "StateExited") && !strings.HasSuffix(ev.Type, "Failed") && ev.Type != "ExecutionSucceeded" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	steps, err := p.ledger.Steps(context.Background(), p.id)
	if err != nil {
		return
	}
	for _, st := range steps[min(p.seen, len(steps)):] {
		mark := map[string]string{"ok": "✓", "failed": "✗", "skipped": "–", "info": "·"}[st.Status]
		fmt.Fprintf(p.w, "%s  %-15s %s %s\n", time.Now().Format("15:04:05.000"), st.Stage, mark, st.Message)
	}
	p.seen = max(p.seen, len(steps))
}
