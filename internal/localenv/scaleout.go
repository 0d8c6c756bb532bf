package localenv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-deploy/slipway/internal/autoscale"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/traffic"
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
	if acts.result == autoscale.Continue {
		// In service: an Auto Scaling group registers its new instance in
		// the target groups attached to it; the embedded group does the same
		// with the environment's, when the environment has a balancer.
		if rerr := e.registerTargets(ctx, env, id); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if acts.result != autoscale.Continue {
		// Abandoned, or never answered: Auto Scaling's default result for
		// the hook is ABANDON, and the instance goes.
		if terr := e.Fleet.Terminate(context.WithoutCancel(ctx), env, id); terr != nil {
			err = errors.Join(err, terr)
		}
	}
	return res, err
}

// registerTargets puts instance id into env's target groups, if the
// environment serves behind the embedded load balancer (Deps.Traffic and
// environments.<env>.target_groups); nothing otherwise.
func (e *Env) registerTargets(ctx context.Context, env, id string) error {
	cfg, err := e.Config.Env(env)
	if err != nil || e.Deps.Traffic == nil {
		return err
	}
	for _, g := range cfg.TargetGroups {
		if err := e.Deps.Traffic.Register(ctx, g, []traffic.Target{{ID: id}}); err != nil {
			return fmt.Errorf("scale out %s: %s is in service but could not be registered in target group %s: %w", env, id, g, err)
		}
	}
	return nil
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
