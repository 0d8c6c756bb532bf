package localenv

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/trigger"
	"github.com/slipway-deploy/slipway/statemachine"
)

// Starter starts executions on the embedded engine in the background, as
// Step Functions does: Start returns at once, names are unique, and Wait
// collects the results. It is the embedded counterpart of the Step
// Functions adapter the triggers use on AWS.
type Starter struct {
	env  *Env
	opts RunOptions

	mu      sync.Mutex
	started map[string]bool
	results map[string]*asl.Execution
	errs    []error
	wg      sync.WaitGroup
}

// Starter returns a starter whose executions run with opts (Name is set
// per execution).
func (e *Env) Starter(opts RunOptions) *Starter {
	return &Starter{env: e, opts: opts, started: map[string]bool{}, results: map[string]*asl.Execution{}}
}

var _ trigger.Starter = (*Starter)(nil)

// Start starts machine ("deploy" or "rollback") as execution name.
func (s *Starter) Start(ctx context.Context, machine, name string, input []byte) (string, error) {
	def := map[string][]byte{trigger.MachineDeploy: statemachine.Deploy, trigger.MachineRollback: statemachine.Rollback}[machine]
	if def == nil {
		return "", fmt.Errorf("start %s: unknown state machine %q", name, machine)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started[name] {
		return "", trigger.ErrAlreadyStarted
	}
	// An execution of an earlier process left its record in the ledger.
	if _, err := s.env.Ledger.GetDeployment(ctx, name); err == nil {
		return "", trigger.ErrAlreadyStarted
	} else if !errors.Is(err, ledger.ErrNotFound) {
		return "", err
	}
	s.started[name] = true
	opts := s.opts
	opts.Name = name
	run := context.WithoutCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		exec, err := s.env.Run(run, machine, def, input, opts)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("execution %s: %w", name, err))
			return
		}
		s.results[name] = exec
	}()
	return "arn:aws:states:local:000000000000:execution:slipway-" + s.env.Config.App + "-" + machine + ":" + name, nil
}

// Wait waits for every execution started so far and returns them by name.
func (s *Starter) Wait() (map[string]*asl.Execution, error) {
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*asl.Execution, len(s.results))
	for k, v := range s.results {
		out[k] = v
	}
	return out, errors.Join(s.errs...)
}
