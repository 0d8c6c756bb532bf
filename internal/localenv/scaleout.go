package localenv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-deploy/slipway/internal/autoscale"
	"github.com/slipway-deploy/slipway/internal/pipeline"
)

// ScaleOut launches one more instance in env, as the environment's Auto
// Scaling group would, and runs the launch lifecycle hook's handler on it
// (pipeline.Lifecycle, the lifecycle function's own code): the instance
// gets the environment's release (the one being deployed, while a
// deployment runs) and is probed. CONTINUE keeps it; ABANDON terminates
// it, as Auto Scaling does, and the ledger says why.
func (e *Env) ScaleOut(ctx context.Context, env string) (pipeline.LifecycleResult, error) {
	if _, err := e.Config.Env(env); err != nil {
		return pipeline.LifecycleResult{}, err
	}
	id, err := e.AddInstance(ctx, env)
	if err != nil {
		return pipeline.LifecycleResult{}, fmt.Errorf("scale out %s: %w", env, err)
	}
	acts := &localActions{}
	h := &pipeline.Lifecycle{Deps: e.Deps, Actions: acts, Poll: 200 * time.Millisecond, Heartbeat: time.Hour, Wait: 2 * time.Minute}
	res, err := h.Launch(ctx, env, autoscale.Action{Group: "local-" + env, Hook: "slipway-launch", InstanceID: id})
	if acts.result != autoscale.Continue {
		// Abandoned, or never answered: Auto Scaling's default result for
		// the hook is ABANDON, and the instance goes.
		if terr := e.Fleet.Terminate(context.WithoutCancel(ctx), env, id); terr != nil {
			err = errors.Join(err, terr)
		}
	}
	return res, err
}

// localActions is the embedded Auto Scaling group's side of a lifecycle
// action: it keeps the answer.
type localActions struct{ result string }

func (a *localActions) Complete(_ context.Context, _ autoscale.Action, result string) error {
	if a.result != "" {
		return autoscale.ErrGone
	}
	a.result = result
	return nil
}

func (a *localActions) Heartbeat(context.Context, autoscale.Action) error { return nil }
