package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// WarmSide is the ledger detail of the step Record writes when a
// blue/green deployment succeeds: the side that served before keeps its
// release and its registration in its target group (weight 0) until
// Until, the manifest's rollout.keep_warm after the deployment ended. A
// rollback before then is one switch of the listener back to it, with no
// host touched (Preflight.warmSide decides, under the lease).
type WarmSide struct {
	// BlueGreen is the deployment's blue/green state as it ended: Serving
	// is the warm side, Idle the one that serves now.
	BlueGreen contract.BlueGreenState `json:"blue_green"`
	// Version is the release the warm side runs.
	Version string    `json:"version"`
	Until   time.Time `json:"until"`
}

// keepWarm records, for a blue/green deployment that succeeded, which side
// stays warm, on which release, and until when.
func (h *Record) keepWarm(ctx context.Context, st contract.State, now time.Time) {
	p := st.Preflight
	if st.Kind == contract.KindRollback || p == nil || p.BlueGreen == nil || p.PreviousVersion == "" ||
		st.BlueGreen == nil || st.BlueGreen.BlueGreen == nil || !st.BlueGreen.BlueGreen.Shifted {
		return
	}
	w := WarmSide{BlueGreen: *st.BlueGreen.BlueGreen, Version: p.PreviousVersion, Until: now.Add(time.Duration(p.BlueGreen.KeepWarmSeconds) * time.Second)}
	h.Step(ctx, st.DeploymentID, contract.StageRollout, StepInfo, fmt.Sprintf("%s (%s) stays warm on %s until %s (rollout.keep_warm): a rollback before then switches the listener back to it, with no restart",
		w.BlueGreen.Serving, w.BlueGreen.ServingGroup, w.Version, w.Until.UTC().Format(time.RFC3339)), w)
}

// lastWarmSide returns the WarmSide step of deployment id, if it has one.
func (d *Deps) lastWarmSide(ctx context.Context, id string) (*WarmSide, error) {
	steps, err := d.Ledger.Steps(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, s := range slices.Backward(steps) {
		if s.Stage != contract.StageRollout || len(s.Detail) == 0 {
			continue
		}
		var w WarmSide
		if json.Unmarshal(s.Detail, &w) == nil && w.BlueGreen.Listener != "" && w.Version != "" {
			return &w, nil
		}
	}
	return nil, nil
}

// warmSide decides, for a rollback of deployment from to version, whether
// the side from left warm can take the traffic back in one switch: it must
// run version, be within its keep_warm window, be given by tags (so that
// the observation can tell it apart), have every instance registered and
// healthy in its target group, and the listener must still send
// everything to the other side. It returns the state the switch back runs
// on, or nil and why not ("" when from was not a blue/green deployment).
func (d *Deps) warmSide(ctx context.Context, from *ledger.Deployment, version, env string, bg *config.BlueGreen) (*contract.BlueGreenState, string) {
	if bg == nil || from == nil || from.Kind != contract.KindDeploy || from.Status != contract.StatusSucceeded || d.Traffic == nil {
		return nil, ""
	}
	w, err := d.lastWarmSide(ctx, from.ID)
	if err != nil {
		return nil, "the steps of " + from.ID + " could not be read: " + err.Error()
	}
	if w == nil {
		return nil, ""
	}
	s := w.BlueGreen
	switch {
	case w.Version != version:
		return nil, fmt.Sprintf("it runs %s, not %s", w.Version, version)
	case d.Time().After(w.Until):
		return nil, fmt.Sprintf("its rollout.keep_warm window ended at %s", w.Until.UTC().Format(time.RFC3339))
	case len(s.ServingTags) == 0:
		return nil, "it is given by Auto Scaling groups, not by tags, so its instances cannot be observed apart from the other side's"
	}
	weights, err := d.Traffic.Weights(ctx, s.Listener)
	if err != nil {
		return nil, fmt.Sprintf("the weights of listener %s could not be read: %v", s.Listener, err)
	}
	if weights[s.IdleGroup] != 100 || weights[s.ServingGroup] != 0 {
		return nil, fmt.Sprintf("listener %s no longer sends everything to %s (%s): it forwards %s", s.Listener, s.Idle, s.IdleGroup, formatWeights(weights))
	}
	insts, err := d.Fleet.Instances(ctx, env, s.ServingTags)
	if err != nil {
		return nil, fmt.Sprintf("its instances could not be listed: %v", err)
	}
	if len(insts) == 0 {
		return nil, fmt.Sprintf("no instance has its tags %s any more", formatTags(s.ServingTags))
	}
	ts, err := d.Traffic.Targets(ctx, s.ServingGroup)
	if err != nil {
		return nil, fmt.Sprintf("the target health of %s could not be read: %v", s.ServingGroup, err)
	}
	state := traffic.ByID(ts)
	var bad []string
	for _, i := range insts {
		t, ok := state[i.ID]
		switch {
		case !i.Online:
			bad = append(bad, i.ID+" is not Online")
		case !ok:
			bad = append(bad, i.ID+" is not registered in "+s.ServingGroup)
		case t.State != traffic.StateHealthy:
			bad = append(bad, i.ID+" is "+t.State)
		}
	}
	if len(bad) > 0 {
		return nil, strings.Join(bad, ", ")
	}
	s.SwitchedBack, s.SwitchBackMillis, s.Healthy, s.Waiting = false, 0, true, ""
	s.ObserveTags = s.ServingTags
	// The warm side's instances as they are now: once the listener is
	// back on them they run their release's after_traffic hook.
	s.ServingInstances = nil
	for _, i := range insts {
		s.ServingInstances = append(s.ServingInstances, i.ID)
	}
	sort.Strings(s.ServingInstances)
	return &s, ""
}

func formatWeights(w map[string]int) string {
	var parts []string
	for g, v := range w {
		parts = append(parts, fmt.Sprintf("%s=%d", g, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// switchedBack reports whether the execution switched a listener back
// (a blue/green deployment's or a rollback's switch back).
func switchedBack(st contract.State) bool {
	return st.BlueGreen != nil && st.BlueGreen.BlueGreen != nil && st.BlueGreen.BlueGreen.SwitchedBack
}
