package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/lambdaenv/lambdaenvtest"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

// TestOperations runs the function's handler, as main wires it, through
// every scenario (every sample event, twice) and one of its own: an
// execution that timed out while its record was RUNNING and its lease held
// is closed from observation and its lease released. It checks the AWS
// calls against the operations file (go test -update rewrites it).
func TestOperations(t *testing.T) {
	closeTimedOut := lambdaenvtest.Scenario{Name: "a timed-out execution is closed", Run: func(ctx context.Context, t *testing.T, w *lambdaenvtest.World, invoke func([]byte) ([]byte, error)) {
		led := w.Ledger(t)
		// One in production (a rollback execution), one in staging, whose
		// event is the sample one.
		for _, env := range []struct{ env, machine string }{{"production", "rollback"}, {"staging", "deploy"}} {
			id := w.Abandon(t, env.env, env.machine)
			ev := map[string]any{"source": "aws.states", "detail-type": "Step Functions Execution Status Change", "detail": map[string]any{
				"name": id, "status": "TIMED_OUT", "stateMachineArn": fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:slipway-demo-%s", lambdaenvtest.Region, lambdaenvtest.Account, env.machine),
				"executionArn": fmt.Sprintf("arn:aws:states:%s:%s:execution:slipway-demo-%s:%s", lambdaenvtest.Region, lambdaenvtest.Account, env.machine, id)}}
			payload, _ := json.Marshal(ev)
			if env.env == "staging" {
				// The sample event of events/states names this execution.
				if raw, err := os.ReadFile(filepath.Join(lambdaenvtest.RepoRoot(t), "events", "states", "deploy-timed-out.json")); err == nil {
					payload = raw
				}
			}
			out, err := invoke(payload)
			var res pipeline.CloserResult
			if err != nil || json.Unmarshal(out, &res) != nil || res.Action != "closed" {
				t.Fatalf("closer on %s = %s, %v; want it closed", id, out, err)
			}
			d, err := led.GetDeployment(ctx, id)
			if err != nil || d.Status != contract.StatusStopped || d.Error != pipeline.TimedOutError {
				t.Errorf("%s = %s %s (%v), want STOPPED after States.Timeout", id, d.Status, d.Error, err)
			}
			if locks, _ := led.Locks(ctx, lambdaenvtest.App, env.env); len(locks) != 0 {
				t.Errorf("locks of %s = %+v, want the lease released", env.env, locks)
			}
			// The instance its wave took out of the target group, healthy
			// on a release in service, is back in it.
			if env.env == "staging" {
				if got := w.TargetState("staging", "i-00000000000000003"); got != "healthy" {
					t.Errorf("i-00000000000000003 in staging's target group: %q, want healthy (put back); closed as %s", got, d.Cause)
				}
			}
		}
	}}
	lambdaenvtest.Operations(t, "closer", func(env *lambdaenv.Env) (any, error) {
		h, err := handler(env)
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	}, closeTimedOut)
}
