package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/slipway-deploy/slipway/internal/autoscale"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

// LifecycleActions answers Auto Scaling lifecycle actions (autoscale on
// AWS; the embedded environment's scale-out answers itself).
type LifecycleActions interface {
	Complete(ctx context.Context, act autoscale.Action, result string) error
	Heartbeat(ctx context.Context, act autoscale.Action) error
}

// Lifecycle puts an instance that an Auto Scaling group launches into
// service only once it runs the environment's release and is healthy: it
// activates the release through the same host script as a deployment,
// probes the instance, runs the release's before_traffic hook where a load
// balancer will send it traffic (as CodeDeploy's BeforeAllowTraffic), and
// completes the launch lifecycle action with CONTINUE, or with ABANDON
// (and a ledger record saying why) when it cannot. Scale-out never puts an
// empty or outdated instance into service.
//
// The release is the one the environment serves by its records; while a
// deployment's waves run (its migrations have run), the release it
// deploys: its drift check then finds the new instance already on it, and
// its instance results name it, so a rollback returns it with the others.
type Lifecycle struct {
	*Deps
	Actions LifecycleActions
	// Port is the app's port where an instance's address has none (EC2).
	Port int
	// Poll is how often the command and the agent are polled; Heartbeat
	// how often the action's timeout is extended; Wait bounds the whole.
	Poll, Heartbeat, Wait time.Duration
}

// LifecycleDetail is an "EC2 Instance-launch Lifecycle Action" event's
// detail.
type LifecycleDetail struct {
	Token      string `json:"LifecycleActionToken"`
	Group      string `json:"AutoScalingGroupName"`
	Hook       string `json:"LifecycleHookName"`
	InstanceID string `json:"EC2InstanceId"`
	Transition string `json:"LifecycleTransition"`
	Origin     string `json:"Origin,omitempty"`
	Dest       string `json:"Destination,omitempty"`
	Metadata   string `json:"NotificationMetadata,omitempty"`
	Event      string `json:"Event,omitempty"` // autoscaling:TEST_NOTIFICATION
	RequestID  string `json:"RequestId,omitempty"`
	Service    string `json:"Service,omitempty"`
	Time       string `json:"Time,omitempty"`
	AccountID  string `json:"AccountId,omitempty"`
	GroupARN   string `json:"AutoScalingGroupARN,omitempty"`
}

// LifecycleResult says what the function did with one event.
type LifecycleResult struct {
	Action      string `json:"action"` // ignored, CONTINUE, ABANDON
	Environment string `json:"environment,omitempty"`
	InstanceID  string `json:"instance_id,omitempty"`
	Version     string `json:"version,omitempty"`
	Message     string `json:"message"`
}

const launching = "autoscaling:EC2_INSTANCE_LAUNCHING"

// Handle takes one lifecycle event from EventBridge.
func (h *Lifecycle) Handle(ctx context.Context, ev events.EventBridgeEvent) (LifecycleResult, error) {
	if ev.Source != "aws.autoscaling" || ev.DetailType != "EC2 Instance-launch Lifecycle Action" {
		return LifecycleResult{}, fmt.Errorf("event %s from %q (%q) is not an EC2 Instance-launch Lifecycle Action: the lifecycle rule should send only those", ev.ID, ev.Source, ev.DetailType)
	}
	var d LifecycleDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return LifecycleResult{}, fmt.Errorf("lifecycle event %s: the detail is not the Auto Scaling lifecycle action's JSON: %v", ev.ID, err)
	}
	if d.Event == "autoscaling:TEST_NOTIFICATION" {
		return LifecycleResult{Action: "ignored", Message: fmt.Sprintf("test notification of %s: nothing to do", d.Group)}, nil
	}
	if d.Transition != launching {
		return LifecycleResult{Action: "ignored", Message: fmt.Sprintf("transition %q of %s is not a launch: nothing to do", d.Transition, d.InstanceID)}, nil
	}
	if d.Group == "" || d.Hook == "" || d.InstanceID == "" {
		return LifecycleResult{}, fmt.Errorf("lifecycle event %s lacks AutoScalingGroupName, LifecycleHookName or EC2InstanceId: the hook's default result applies", ev.ID)
	}
	env, ok := h.Config.EnvironmentOfGroup(d.Group)
	if !ok {
		//lint:ignore ST1005 "Auto Scaling" is the service's proper name
		return LifecycleResult{}, fmt.Errorf("Auto Scaling group %s is not in any environment of %s (environments.<env>.auto_scaling_groups): instance %s is left to the hook's default result", d.Group, h.Config.App, d.InstanceID)
	}
	act := autoscale.Action{Group: d.Group, Hook: d.Hook, Token: d.Token, InstanceID: d.InstanceID}
	return h.Launch(ctx, env, act)
}

// Launch activates env's release on the action's instance and completes
// the action.
func (h *Lifecycle) Launch(ctx context.Context, env string, act autoscale.Action) (LifecycleResult, error) {
	app := h.Config.App
	res := LifecycleResult{Environment: env, InstanceID: act.InstanceID}
	record := func(kind, msg, deploymentID string) {
		detail, _ := json.Marshal(map[string]string{"group": act.Group, "hook": act.Hook, "instance": act.InstanceID, "version": res.Version})
		if err := h.Ledger.AddEvent(context.WithoutCancel(ctx), ledger.Event{App: app, Environment: env, At: h.Time(), Source: "autoscaling", Kind: kind,
			Message: msg, DeploymentID: deploymentID, Detail: detail}); err != nil {
			h.Logger().Error("lifecycle event not recorded", "kind", kind, "err", err)
		}
	}
	finish := func(result, kind, msg, deploymentID string) (LifecycleResult, error) {
		res.Action, res.Message = result, msg
		err := h.Actions.Complete(context.WithoutCancel(ctx), act, result)
		if err != nil {
			msg += fmt.Sprintf("; the lifecycle action could not be completed (%v)", err)
			res.Message = msg
		}
		record(kind, msg, deploymentID)
		if err != nil && !errors.Is(err, autoscale.ErrGone) {
			return res, err
		}
		return res, nil
	}

	ds, err := h.Ledger.ListDeployments(ctx, app, env, 20)
	if err != nil {
		return res, fmt.Errorf("read the deployments of %s: %w (the hook's default result applies to %s)", env, err, act.InstanceID)
	}
	version, _ := ledger.Serving(ds)
	// The configuration goes with the release: the one what serves runs
	// with, or the running deployment's. Without it a release that declares
	// configuration would start on the new host with none.
	_, cp := ServingConfig(ds)
	deploymentID := ""
	if len(ds) > 0 && ds[0].Status == contract.StatusRunning && ds[0].Kind == contract.KindDeploy && h.rolloutBegun(ctx, ds[0].ID) {
		// The deployment's waves have begun (its migrations ran): the new
		// instance joins it on the release it deploys. Before that, it gets
		// what serves, and the deployment's rollout moves it with the rest.
		version, deploymentID, cp = ds[0].Version, ds[0].ID, ds[0].Config
	}
	// A blue/green side's group: the release of that side (which may not
	// be what serves).
	sideNote, side := "", ""
	var envCfg *config.Environment
	if e, err := h.Config.Env(env); err == nil {
		envCfg = &e
		if side = e.SideOfGroup(act.Group); side != "" {
			var err error
			version, deploymentID, cp, sideNote, err = h.sideRelease(ctx, e.BlueGreen, side, ds, deploymentID != "")
			if err != nil {
				res.Version = ""
				return finish(autoscale.Abandon, "scale-out-abandoned", fmt.Sprintf("%s launched in %s's %s side, but which release that side runs cannot be told: %v; abandoned, so Auto Scaling replaces it", act.InstanceID, env, side, err), "")
			}
		}
	}
	configFP, configEnv := "", ""
	if cp != nil && cp.Fingerprint != "" {
		configFP, configEnv = cp.Fingerprint, env
	}
	res.Version = version
	if version == "" {
		return finish(autoscale.Continue, "scale-out-empty-environment", fmt.Sprintf("%s launched in %s, which has no release yet: put into service as it is (the first deployment installs the release)", act.InstanceID, env), "")
	}
	abandon := func(why string) (LifecycleResult, error) {
		return finish(autoscale.Abandon, "scale-out-abandoned", fmt.Sprintf("%s launched in %s but does not run %s: %s; abandoned, so Auto Scaling replaces it", act.InstanceID, env, version, why), deploymentID)
	}
	art, err := h.Artifacts.Stat(ctx, app, version)
	if err != nil {
		return abandon(fmt.Sprintf("the release cannot be found (%v)", err))
	}
	spec := contract.HealthSpec{Path: "/healthz", ExpectStatus: 200}
	// Unknown hooks (the bundle cannot be read here) are left to the host
	// script, which runs the release's before_traffic only if it has one.
	beforeTraffic := true
	if b, err := h.OpenBundle(ctx, art); err == nil {
		spec = healthSpec(b.Manifest)
		beforeTraffic = b.Manifest.Hooks.BeforeTraffic != nil
	}

	deadline := h.Time().Add(h.wait())
	lastBeat := h.Time()
	beat := func() {
		if h.Time().Sub(lastBeat) < h.heartbeat() {
			return
		}
		lastBeat = h.Time()
		if err := h.Actions.Heartbeat(ctx, act); err != nil {
			h.Logger().Warn("lifecycle heartbeat", "instance", act.InstanceID, "err", err)
		}
	}
	// The new instance's agent registers some time after the launch.
	var inst fleet.Instance
	for {
		is, err := h.Fleet.Lookup(ctx, env, []string{act.InstanceID})
		if err == nil && len(is) == 1 && is[0].Online {
			inst = is[0]
			break
		}
		if h.Time().After(deadline) {
			return abandon(fmt.Sprintf("its agent did not come online within %s", h.wait()))
		}
		beat()
		if err := h.sleep(ctx); err != nil {
			return abandon("stopped while waiting for its agent")
		}
	}
	opID := deploymentID
	if opID == "" {
		opID = "scale-out-" + act.InstanceID
	}
	cmdID, err := h.Fleet.Send(ctx, env, fleet.Command{DeploymentID: opID, Action: fleet.ActionActivate, Version: version,
		ArtifactURI: art.URI, SHA256: art.SHA256, InstanceIDs: []string{act.InstanceID}, ConfigFingerprint: configFP, ConfigEnv: configEnv})
	if err != nil {
		return abandon(fmt.Sprintf("the activation could not be sent (%v)", err))
	}
	inv, waitErr := h.awaitOne(ctx, cmdID, deadline, beat)
	switch {
	case errors.Is(waitErr, errNotFinished):
		return abandon(fmt.Sprintf("the activation did not finish within %s", h.wait()))
	case waitErr != nil:
		return abandon("stopped while activating")
	}
	if deploymentID != "" {
		_ = h.Ledger.PutInstanceResults(context.WithoutCancel(ctx), []ledger.InstanceResult{{DeploymentID: deploymentID, CommandID: cmdID, Wave: -1,
			InstanceID: act.InstanceID, Action: "activate", Version: version, Status: inv.Status, ExitCode: inv.ExitCode, Output: lastLine(inv.Output),
			StartedAt: inv.StartedAt, FinishedAt: inv.FinishedAt}})
	}
	if inv.Status != fleet.StatusSuccess {
		return abandon(fmt.Sprintf("the activation ended %s (exit %d): %s", inv.Status, inv.ExitCode, lastLine(inv.Output)))
	}
	addr := inst.Address
	if _, _, err := net.SplitHostPort(addr); err != nil && h.Port > 0 {
		addr = net.JoinHostPort(addr, strconv.Itoa(h.Port))
	}
	var probe health.Result
	for ok, need := 0, max(spec.Successes, 1); ; {
		probe = h.Prober.Probe(ctx, act.InstanceID, addr, spec.Path, spec.ExpectStatus, version)
		if probe.Healthy {
			ok++
		} else {
			ok = 0
		}
		if h.Time().After(deadline) {
			return abandon(fmt.Sprintf("it is not healthy on %s (%s)", spec.Path, probe.Problem))
		}
		if ok >= need {
			break // no wait after the last answer needed
		}
		if err := h.sleep(ctx); err != nil {
			return abandon("stopped while probing")
		}
	}
	msg := fmt.Sprintf("%s launched in %s runs %s and is healthy: put into service", act.InstanceID, env, version)
	if beforeTraffic && h.getsTraffic(ctx, envCfg, side) {
		// As CodeDeploy's BeforeAllowTraffic on a scale-out instance: the
		// release's before_traffic, before the group registers it in
		// its target groups.
		if why := h.beforeTraffic(ctx, env, opID, deploymentID, version, act.InstanceID, deadline, beat); why != "" {
			return finish(autoscale.Abandon, "scale-out-abandoned", fmt.Sprintf("%s launched in %s runs %s and is healthy, but %s; abandoned before it got any traffic, so Auto Scaling replaces it",
				act.InstanceID, env, version, why), deploymentID)
		}
		msg = fmt.Sprintf("%s launched in %s runs %s, is healthy and passed its before_traffic hook: put into service", act.InstanceID, env, version)
	}
	if sideNote != "" {
		msg += " (" + sideNote + ")"
	}
	return finish(autoscale.Continue, "scale-out", msg, deploymentID)
}

// getsTraffic reports whether an instance launched in env (in the
// blue/green side side, or none) is put behind a load balancer that sends
// it traffic: env's target groups, or the side the listener serves.
func (h *Lifecycle) getsTraffic(ctx context.Context, e *config.Environment, side string) bool {
	switch {
	case e == nil:
		return false
	case len(e.TargetGroups) > 0:
		return true
	case side == "" || e.BlueGreen == nil || h.Traffic == nil:
		return false
	}
	serving, _, err := Serving(ctx, h.Traffic, e.BlueGreen)
	return err == nil && serving == side
}

// beforeTraffic runs version's before_traffic hook on the launched
// instance (the host script's hook action) and waits for it; it returns
// why the instance must not be put into service, or "". Within a
// deployment, the result is among its instance results (action
// before_traffic, wave -1).
func (h *Lifecycle) beforeTraffic(ctx context.Context, env, opID, deploymentID, version, id string, deadline time.Time, beat func()) string {
	cmdID, err := h.Fleet.Send(ctx, env, fleet.Command{DeploymentID: opID, Action: fleet.ActionHook, Hook: manifest.HookBeforeTraffic, Version: version, InstanceIDs: []string{id}})
	if err != nil {
		return fmt.Sprintf("its before_traffic hook could not be sent (%v)", err)
	}
	inv, waitErr := h.awaitOne(ctx, cmdID, deadline, beat)
	switch {
	case errors.Is(waitErr, errNotFinished):
		return fmt.Sprintf("its before_traffic hook did not finish within %s", h.wait())
	case waitErr != nil:
		return "stopped while its before_traffic hook ran"
	}
	if deploymentID != "" {
		_ = h.Ledger.PutInstanceResults(context.WithoutCancel(ctx), []ledger.InstanceResult{{DeploymentID: deploymentID, CommandID: cmdID, Wave: -1,
			InstanceID: id, Action: manifest.HookBeforeTraffic, Version: version, Status: inv.Status, ExitCode: inv.ExitCode, Output: inv.Output,
			StartedAt: inv.StartedAt, FinishedAt: inv.FinishedAt}})
	}
	if inv.Status != fleet.StatusSuccess {
		return fmt.Sprintf("its before_traffic hook failed (%s, exit %d): %s", inv.Status, inv.ExitCode, lastLine(inv.Output))
	}
	return ""
}

// sideRelease is the release an instance launched in a group of a
// blue/green side gets: what serves, on the side the listener sends the
// traffic to; on the idle side, the release a running deployment deploys
// to it (rollout: its waves have begun), else the release the side was
// kept warm on, else what serves (it gets no traffic, and the next
// deployment goes to it). note says which, for the record.
func (h *Lifecycle) sideRelease(ctx context.Context, bg *config.BlueGreen, side string, ds []ledger.Deployment, rollout bool) (version, deploymentID string, cp *contract.ConfigPrint, note string, err error) {
	if h.Traffic == nil {
		return "", "", nil, "", errors.New("no load balancer client is configured to read the listener")
	}
	serving, _, err := Serving(ctx, h.Traffic, bg)
	if err != nil {
		return "", "", nil, "", err
	}
	servingVersion, from := ledger.Serving(ds)
	_, sp := ServingConfig(ds)
	switch {
	case side == serving:
		return servingVersion, "", sp, fmt.Sprintf("the %s side serves", side), nil
	case rollout:
		return ds[0].Version, ds[0].ID, ds[0].Config, fmt.Sprintf("deployment %s is deploying to the idle %s side", ds[0].ID, side), nil
	}
	if from != nil {
		if w, err := h.lastWarmSide(ctx, from.ID); err == nil && w != nil && w.BlueGreen.Serving == side {
			return w.Version, "", restoredConfig(ds, w.Version, sp), fmt.Sprintf("the %s side is kept warm on %s", side, w.Version), nil
		}
	}
	return servingVersion, "", sp, fmt.Sprintf("the %s side is idle: it gets what serves, and the next deployment goes to it", side), nil
}

// rolloutBegun reports whether deployment id has activated its release on
// any instance yet.
func (h *Lifecycle) rolloutBegun(ctx context.Context, id string) bool {
	rs, err := h.Ledger.InstanceResults(ctx, id)
	if err != nil {
		return false
	}
	for _, r := range rs {
		if r.Action == "activate" && r.Wave >= 0 {
			return true
		}
	}
	return false
}

func (h *Lifecycle) wait() time.Duration {
	if h.Wait > 0 {
		return h.Wait
	}
	return 10 * time.Minute
}

func (h *Lifecycle) heartbeat() time.Duration {
	if h.Heartbeat > 0 {
		return h.Heartbeat
	}
	return time.Minute
}

func (h *Lifecycle) sleep(ctx context.Context) error {
	d := h.Poll
	if d <= 0 {
		d = 2 * time.Second
	}
	return sleepCtx(ctx, d)
}

// errNotFinished is awaitOne's answer when the deadline passed first.
var errNotFinished = errors.New("the command did not finish in time")

// awaitOne polls a command sent to one instance until its invocation is
// final, calling beat between polls (the lifecycle action's heartbeat):
// errNotFinished once deadline has passed, ctx's error when stopped.
func (h *Lifecycle) awaitOne(ctx context.Context, cmdID string, deadline time.Time, beat func()) (fleet.Invocation, error) {
	for {
		r, err := h.Fleet.Status(ctx, cmdID)
		if err == nil && fleet.Final(r.Status) && len(r.Invocations) == 1 {
			return r.Invocations[0], nil
		}
		if h.Time().After(deadline) {
			return fleet.Invocation{}, errNotFinished
		}
		beat()
		if err := h.sleep(ctx); err != nil {
			return fleet.Invocation{}, err
		}
	}
}
