package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// Reattached is the ledger detail of the step that says what closing an
// unfinished deployment put back into its target groups.
type Reattached struct {
	// Groups maps a target group to the instances registered in it again.
	Groups map[string][]string `json:"groups"`
	// LeftOut says, per instance, why one the deployment took out stays
	// out.
	LeftOut map[string]string `json:"left_out,omitempty"`
	// Healthy says whether the balancer reported every instance put back
	// healthy before the record was closed.
	Healthy bool `json:"healthy"`
	// LeftOutGroups maps a target group to the instances left out of it:
	// the next deployment's waves put them back (Preflight's PutBack).
	LeftOutGroups map[string][]string `json:"left_out_groups,omitempty"`
}

// reattachPace is how often reattach reads the target health while it
// waits for the instances it put back.
const reattachPace = 250 * time.Millisecond

// reattach puts back into service what deployment dep took out of its
// target groups (its detach steps, written before each deregistration,
// say what) and did not put back before its execution ended: every such
// instance that is observed healthy and on a release that served, the
// release the deployment replaced (for a rollback also the one it returns
// to) or one that an instance in service in that group serves. An
// instance that was in no group at the start, a standby, is in no detach
// step and is never registered. It waits, up to SettleWait, until the
// balancer reports them healthy, writes a step and an event, and returns a
// note for the record ("" when the deployment had nothing out).
func (d *Deps) reattach(ctx context.Context, dep ledger.Deployment, observed []ledger.InstanceResult) string {
	if d.Traffic == nil || d.Ledger == nil {
		return ""
	}
	steps, err := d.Ledger.Steps(ctx, dep.ID)
	if err != nil {
		return "its steps could not be read to put back what it took out of its target groups: " + err.Error()
	}
	detached := map[string][]string{}
	for _, st := range steps {
		if st.Stage != contract.StageRollout || len(st.Detail) == 0 {
			continue
		}
		var rec DetachRecord
		if json.Unmarshal(st.Detail, &rec) != nil {
			continue
		}
		for g, ids := range rec.Detached {
			for _, id := range ids {
				if !slices.Contains(detached[g], id) {
					detached[g] = append(detached[g], id)
				}
			}
		}
	}
	if len(detached) == 0 {
		return ""
	}
	obs := map[string]ledger.InstanceResult{}
	for _, r := range observed {
		obs[r.InstanceID] = r
	}
	served := map[string]bool{}
	if dep.PreviousVersion != "" {
		served[dep.PreviousVersion] = true
	}
	if dep.Kind == contract.KindRollback && dep.Version != "" {
		served[dep.Version] = true
	}
	rec := Reattached{Groups: map[string][]string{}, LeftOut: map[string]string{}, LeftOutGroups: map[string][]string{}}
	var problems []string
	for _, g := range sortedGroups(detached) {
		ts, err := d.Traffic.Targets(ctx, g)
		if err != nil {
			problems = append(problems, fmt.Sprintf("target group %s could not be read: %v", g, err))
			continue
		}
		state := map[string]string{}
		inService := map[string]bool{}
		for v := range served {
			inService[v] = true
		}
		for _, t := range ts {
			state[t.ID] = t.State
			if r, ok := obs[t.ID]; ok && t.State == traffic.StateHealthy && r.Status == ObservedHealthy {
				inService[r.Version] = true
			}
		}
		var put []string
		ids := slices.Clone(detached[g])
		sort.Strings(ids)
		for _, id := range ids {
			if s, ok := state[id]; ok && s != traffic.StateDraining {
				continue // registered: put back already
			}
			r, ok := obs[id]
			switch {
			case !ok:
				rec.LeftOut[id] = "not observed"
			case r.Status != ObservedHealthy:
				rec.LeftOut[id] = strings.ToLower(r.Status) + cond(r.Output != "", ": "+r.Output, "")
			case !inService[r.Version]:
				rec.LeftOut[id] = fmt.Sprintf("on %s, which nothing in service in %s serves", r.Version, g)
			default:
				put = append(put, id)
				continue
			}
			rec.LeftOutGroups[g] = append(rec.LeftOutGroups[g], id)
		}
		if len(put) == 0 {
			continue
		}
		if err := d.Traffic.Register(ctx, g, targetsOf(put)); err != nil {
			problems = append(problems, fmt.Sprintf("registering %s in %s failed: %v", List(put), g, err))
			for _, id := range put {
				rec.LeftOut[id] = "register in " + g + " failed"
			}
			rec.LeftOutGroups[g] = append(rec.LeftOutGroups[g], put...)
			continue
		}
		rec.Groups[g] = put
	}
	var waiting []string
	if len(rec.Groups) > 0 {
		waiting = d.awaitHealthy(ctx, rec.Groups)
		rec.Healthy = len(waiting) == 0
	}
	var parts []string
	if len(rec.Groups) > 0 {
		var in []string
		for _, g := range sortedGroups(rec.Groups) {
			in = append(in, fmt.Sprintf("%s in %s", List(rec.Groups[g]), g))
		}
		s := "put back into service what it had taken out: " + strings.Join(in, "; ")
		if rec.Healthy {
			s += " (the load balancer reports them healthy)"
		} else {
			s += fmt.Sprintf(" (not reported healthy after %s: %s)", d.settleWait(), strings.Join(waiting, ", "))
		}
		parts = append(parts, s)
	}
	if len(rec.LeftOut) > 0 {
		var out []string
		for _, id := range slices.Sorted(maps.Keys(rec.LeftOut)) {
			out = append(out, id+" ("+rec.LeftOut[id]+")")
		}
		parts = append(parts, fmt.Sprintf("left out of its target groups: %s; the next deployment or rollback puts them back once they are healthy on its release (`slipway rollback --env %s`, or a deployment)",
			strings.Join(out, ", "), dep.Environment))
	}
	parts = append(parts, problems...)
	if len(parts) == 0 {
		return ""
	}
	note := strings.Join(parts, "; ")
	status := StepOK
	if len(rec.LeftOut) > 0 || len(problems) > 0 || (len(rec.Groups) > 0 && !rec.Healthy) {
		status = StepFailed
	}
	d.Step(ctx, dep.ID, contract.StageRollout, status, note, rec)
	if err := d.Ledger.AddEvent(ctx, ledger.Event{App: dep.App, Environment: dep.Environment, At: d.Time(), Source: "closer", Kind: "reattached",
		Message: fmt.Sprintf("deployment %s: %s", dep.ID, note), DeploymentID: dep.ID}); err != nil {
		d.Logger().Error("event not recorded", "deployment", dep.ID, "err", err)
	}
	return note
}

// awaitHealthy waits, up to SettleWait, until the balancer reports every
// instance of groups healthy in its group, and returns those it does not
// ("id in group: state").
func (d *Deps) awaitHealthy(ctx context.Context, groups map[string][]string) []string {
	deadline := d.waitUntil(ctx)
	for {
		var waiting []string
		for _, g := range sortedGroups(groups) {
			ts, err := d.Traffic.Targets(ctx, g)
			if err != nil {
				waiting = append(waiting, fmt.Sprintf("%s unreadable (%v)", g, err))
				continue
			}
			state := map[string]string{}
			for _, t := range ts {
				state[t.ID] = t.State
			}
			for _, id := range groups[g] {
				if state[id] != traffic.StateHealthy {
					waiting = append(waiting, fmt.Sprintf("%s in %s: %s", id, g, cond(state[id] != "", state[id], "not registered")))
				}
			}
		}
		if len(waiting) == 0 || !time.Now().Before(deadline) {
			return waiting
		}
		select {
		case <-ctx.Done():
			return waiting
		case <-time.After(reattachPace):
		}
	}
}

func cond(ok bool, a, b string) string {
	if ok {
		return a
	}
	return b
}

// leftOut returns, per target group, the instances that closing the
// unfinished deployments since the environment last served one release
// (ds, newest first) left out of it, and that are still out of it. The
// next deployment's waves put them back (PreflightOutput.PutBack).
func (d *Deps) leftOut(ctx context.Context, ds []ledger.Deployment, groups []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, dep := range ds {
		if dep.Status == contract.StatusSucceeded || (dep.Kind == contract.KindRollback && contract.RolledBack(dep.Status)) {
			break // it put every instance of its waves back
		}
		if !dep.Final() {
			continue
		}
		steps, err := d.Ledger.Steps(ctx, dep.ID)
		if err != nil {
			return nil, err
		}
		for _, st := range steps {
			var rec Reattached
			if st.Stage != contract.StageRollout || len(st.Detail) == 0 || json.Unmarshal(st.Detail, &rec) != nil {
				continue
			}
			for g, ids := range rec.LeftOutGroups {
				for _, id := range ids {
					if slices.Contains(groups, g) && !slices.Contains(out[g], id) {
						out[g] = append(out[g], id)
					}
				}
			}
		}
	}
	for g, ids := range out {
		ts, err := d.Traffic.Targets(ctx, g)
		if err != nil {
			return nil, err
		}
		in := traffic.ByID(ts)
		out[g] = slices.DeleteFunc(ids, func(id string) bool { t, ok := in[id]; return ok && t.State != traffic.StateDraining })
		if len(out[g]) == 0 {
			delete(out, g)
		} else {
			sort.Strings(out[g])
		}
	}
	return out, nil
}
