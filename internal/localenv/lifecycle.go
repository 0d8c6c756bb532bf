package localenv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/slipway-deploy/slipway/internal/fleet"
)

// StopApps stops every app process the environment started and its load
// balancer, and returns how many apps ran. Everything on disk stays:
// StartApps brings them back. The ledger stays open.
func (e *Env) StopApps(ctx context.Context) (int, error) {
	pids, err := e.Fleet.PIDs()
	if err != nil {
		return 0, err
	}
	return len(pids), errors.Join(e.Fleet.Stop(ctx), e.StopBalancer(ctx))
}

// StartResult says what StartApps started.
type StartResult struct {
	// Started are the instances whose app runs again, as env/id.
	Started []string
	// Balancer reports whether the load balancer runs.
	Balancer bool
}

// StartApps starts the load balancer as it was (same ports, targets and
// weights) and, on every instance that has a current release, that
// release again, with the configuration it last ran with: the host
// script's rollback to the current release, which restarts the app only
// when it does not answer healthily. An instance with nothing deployed
// stays as it is.
func (e *Env) StartApps(ctx context.Context) (StartResult, error) {
	var res StartResult
	if e.HasBalancer() {
		if _, err := e.StartBalancer(ctx); err != nil {
			return res, err
		}
		res.Balancer = true
	}
	var errs []error
	for _, env := range e.Config.Names() {
		insts, err := e.Fleet.Instances(ctx, env)
		if err != nil {
			return res, err
		}
		// One command per release the instances are on.
		byVersion := map[string][]string{}
		for _, in := range insts {
			v, err := e.Fleet.Current(env, in.ID)
			if err != nil {
				return res, err
			}
			if v != "" {
				byVersion[v] = append(byVersion[v], in.ID)
			}
		}
		for _, v := range slices.Sorted(maps.Keys(byVersion)) {
			id, err := e.Fleet.Send(ctx, env, fleet.Command{DeploymentID: "local-start", Action: fleet.ActionRollback, Version: v, InstanceIDs: byVersion[v]})
			if err != nil {
				return res, fmt.Errorf("start %s of %s: %w", v, env, err)
			}
			r, err := e.Fleet.Wait(ctx, id)
			if err != nil {
				return res, fmt.Errorf("start %s of %s: %w", v, env, err)
			}
			for _, inv := range r.Invocations {
				if inv.Status == fleet.StatusSuccess {
					res.Started = append(res.Started, env+"/"+inv.InstanceID)
					continue
				}
				errs = append(errs, fmt.Errorf("start %s on %s of %s: %s (exit %d): %s", v, inv.InstanceID, env, inv.Status, inv.ExitCode, lastLine(inv.Output)))
			}
		}
	}
	return res, errors.Join(errs...)
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := slices.DeleteFunc(strings.Split(s, "\n"), func(l string) bool { return strings.TrimSpace(l) == "" })
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}
