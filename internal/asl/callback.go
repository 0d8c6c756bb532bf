package asl

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Callbacks completes the task tokens of Tasks whose resource ends in
// .waitForTaskToken, as SendTaskSuccess, SendTaskFailure and
// SendTaskHeartbeat do on AWS. Give one to Options.Callbacks; the zero
// value is ready to use, and one Callbacks may serve many executions at
// once. Its methods are safe for concurrent use.
//
// Such a Task's TimeoutSeconds and HeartbeatSeconds are measured on the
// wall clock even when the execution runs on a virtual clock: whoever
// completes the token (a person approving a deployment, say) works in real
// time, so a virtual clock must not time them out at once.
type Callbacks struct {
	// OnPending, if set, is called (outside any lock) each time a Task
	// starts waiting for its token.
	OnPending func(PendingTask)

	mu      sync.Mutex
	pending map[string]*waitingTask
}

// PendingTask is a Task waiting for its task token to be completed.
type PendingTask struct {
	Token         string
	ExecutionName string
	StateName     string
	// Input is the effective input the Task sent to its resource (after
	// Parameters), JSON text; it holds the token where Parameters put it.
	Input json.RawMessage
}

// Errors returned by the Callbacks methods, named after the Step Functions
// API errors they stand for.
var (
	// ErrTaskDoesNotExist: no Task is waiting for this token (it never
	// existed, was completed already or timed out).
	ErrTaskDoesNotExist = errors.New("task does not exist")
	// ErrInvalidOutput: the output given to SendTaskSuccess is not JSON.
	ErrInvalidOutput = errors.New("invalid output")
)

type callbackResult struct {
	output any
	failed bool
	err    string
	cause  string
}

type waitingTask struct {
	info      PendingTask
	done      chan callbackResult // buffered: one completion
	heartbeat chan struct{}       // buffered: heartbeats coalesce
}

// SendTaskSuccess completes the Task waiting for token with output, a
// JSON document, which becomes the Task's result.
func (c *Callbacks) SendTaskSuccess(token string, output []byte) error {
	v, err := decodeJSON(output)
	if err != nil {
		return fmt.Errorf("send task success: %w: %v", ErrInvalidOutput, err)
	}
	return c.complete("send task success", token, callbackResult{output: v})
}

// SendTaskFailure fails the Task waiting for token with the error name and
// cause given; Retry and Catch see them as they would a handler's error.
func (c *Callbacks) SendTaskFailure(token, errorName, cause string) error {
	return c.complete("send task failure", token, callbackResult{failed: true, err: errorName, cause: cause})
}

// SendTaskHeartbeat tells the Task waiting for token that its worker is
// still alive, restarting its HeartbeatSeconds.
func (c *Callbacks) SendTaskHeartbeat(token string) error {
	c.mu.Lock()
	w, ok := c.pending[token]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("send task heartbeat: %w", ErrTaskDoesNotExist)
	}
	select {
	case w.heartbeat <- struct{}{}:
	default:
	}
	return nil
}

// Pending lists the Tasks waiting for their tokens, sorted by execution
// name, state name and token.
func (c *Callbacks) Pending() []PendingTask {
	c.mu.Lock()
	out := make([]PendingTask, 0, len(c.pending))
	for _, w := range c.pending {
		out = append(out, w.info)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b PendingTask) int {
		if c := strings.Compare(a.ExecutionName, b.ExecutionName); c != 0 {
			return c
		}
		if c := strings.Compare(a.StateName, b.StateName); c != 0 {
			return c
		}
		return strings.Compare(a.Token, b.Token)
	})
	return out
}

func (c *Callbacks) complete(op, token string, res callbackResult) error {
	c.mu.Lock()
	w, ok := c.pending[token]
	if ok {
		delete(c.pending, token)
	}
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s: %w", op, ErrTaskDoesNotExist)
	}
	w.done <- res
	return nil
}

// register starts waiting for token; the Task calls it before it invokes
// its resource, so that a resource that completes the token at once is not
// missed.
func (c *Callbacks) register(info PendingTask) *waitingTask {
	w := &waitingTask{info: info, done: make(chan callbackResult, 1), heartbeat: make(chan struct{}, 1)}
	c.mu.Lock()
	if c.pending == nil {
		c.pending = map[string]*waitingTask{}
	}
	c.pending[info.Token] = w
	c.mu.Unlock()
	return w
}

// forget stops waiting for token.
func (c *Callbacks) forget(token string) {
	c.mu.Lock()
	delete(c.pending, token)
	c.mu.Unlock()
}

// newTaskToken returns a fresh, unguessable task token.
func newTaskToken() string {
	var b [48]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
