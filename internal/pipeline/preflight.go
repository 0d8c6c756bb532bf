package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

// EngineWarningPrefix starts the step Preflight records when the
// migrations are written for another engine than the database's.
const EngineWarningPrefix = "warning: "

// Preflight validates a request and resolves everything later stages need,
// before anything changes. It opens the deployment's ledger record.
type Preflight struct{ *Deps }

// Handle runs the Preflight stage ("check", before the lock) and Resolve
// ("resolve", right after AcquireLock).
func (h *Preflight) Handle(ctx context.Context, in contract.PreflightInput) (contract.PreflightOutput, error) {
	kind := in.Kind
	if kind == "" {
		kind = contract.KindDeploy
	}
	switch in.Action {
	case "", contract.PreflightCheck:
	case contract.PreflightResolve:
		return h.resolve(ctx, in, kind)
	default:
		return contract.PreflightOutput{}, fmt.Errorf("preflight: unknown action %q (check or resolve)", in.Action)
	}
	req, err := decodeRequest(in.Request, kind)
	if err != nil {
		// Record writes the FAILED record from what can be read of the request.
		return contract.PreflightOutput{}, &contract.PreflightFailed{Message: err.Error()}
	}
	started, err := time.Parse(time.RFC3339Nano, in.StartedAt)
	if err != nil {
		started = h.Time()
	}
	d := ledger.Deployment{
		ID: in.DeploymentID, App: req.App, Environment: req.Environment, Version: req.Version, Kind: kind,
		Status: contract.StatusRunning, ExecutionID: in.ExecutionID, Trigger: req.Trigger, StartedAt: started,
		SchemaBefore: -1, SchemaAfter: -1,
	}
	if kind == contract.KindRollback {
		d.Version = req.ToVersion
	}
	if err := h.Ledger.PutDeployment(ctx, d); err != nil {
		return contract.PreflightOutput{}, Classify(err, func(m string) error { return &contract.PreflightFailed{Message: m} })
	}
	out, err := h.check(ctx, in.DeploymentID, kind, req)
	if err != nil {
		h.refused(ctx, in.DeploymentID, err)
		return contract.PreflightOutput{}, err
	}
	_, err = h.Ledger.UpdateDeployment(ctx, in.DeploymentID, func(d *ledger.Deployment) error {
		d.Version, d.PreviousVersion = out.Version, out.PreviousVersion
		d.TargetDeploymentID = out.TargetDeploymentID
		d.SchemaBefore = out.Migrations.Current
		d.Config = out.Config
		return nil
	})
	if err != nil {
		return contract.PreflightOutput{}, Classify(err, func(m string) error { return &contract.PreflightFailed{Message: m} })
	}
	msg := fmt.Sprintf("%s: %s in %s, %s", what(kind, out.Version, out.Environment),
		Count(len(out.Instances), "instance"), Count(out.WaveCount, "wave"), Count(len(out.Migrations.Pending), "pending migration"))
	if out.PreviousVersion != "" {
		msg += ", replacing " + out.PreviousVersion
	}
	msg += configNote(out.Config)
	h.Step(ctx, in.DeploymentID, "preflight", StepOK, msg, contract.PreflightDetail{Waves: out.Waves, Migrations: &out.Migrations, Artifact: out.Artifact, Tags: out.Tags, Config: out.Config})
	return out, nil
}

// refused writes the step of a refusal.
func (h *Preflight) refused(ctx context.Context, deploymentID string, err error) {
	var pf *contract.PreflightFailed
	var fr *contract.Frozen
	var mb *contract.MigrationBlocked
	var un *contract.Untested
	switch {
	case errors.As(err, &un):
		h.Step(ctx, deploymentID, "preflight", StepFailed, un.Message, nil)
	case errors.As(err, &pf):
		h.Step(ctx, deploymentID, "preflight", StepFailed, pf.Message, nil)
	case errors.As(err, &fr):
		h.Step(ctx, deploymentID, "preflight", StepFailed, fr.Message, nil)
	case errors.As(err, &mb):
		h.Step(ctx, deploymentID, "preflight", StepFailed, mb.Message, nil)
	}
}

// resolve runs, under the lease, the checks that depend on what serves
// now: another deployment may have finished while this one waited for the
// lease (or for its approval), so the release a rollback returns to, the
// schema version and the targets are read again, and the record says what
// changed. The freeze windows are not checked again: they admitted the
// deployment when it started.
func (h *Preflight) resolve(ctx context.Context, in contract.PreflightInput, kind string) (contract.PreflightOutput, error) {
	req, err := decodeRequest(in.Request, kind)
	if err != nil {
		return contract.PreflightOutput{}, &contract.PreflightFailed{Message: err.Error()}
	}
	out, err := h.checkWith(ctx, in.DeploymentID, kind, req, true)
	if err != nil {
		h.refused(ctx, in.DeploymentID, err)
		return contract.PreflightOutput{}, err
	}
	// What the approval (if any) was asked for stays as it was.
	if before := in.Preflight; before != nil {
		out.ApprovalRequired = before.ApprovalRequired
		if before.PreviousVersion != out.PreviousVersion || before.Version != out.Version {
			h.Step(ctx, in.DeploymentID, "lock", StepInfo, fmt.Sprintf("while this deployment waited, %s/%s changed: it now serves %s (it served %s when this deployment started), so %s",
				out.App, out.Environment, orNone(out.PreviousVersion), orNone(before.PreviousVersion), changedNote(kind, out)), nil)
		}
	}
	_, err = h.Ledger.UpdateDeployment(ctx, in.DeploymentID, func(d *ledger.Deployment) error {
		d.Version, d.PreviousVersion = out.Version, out.PreviousVersion
		d.TargetDeploymentID = out.TargetDeploymentID
		d.SchemaBefore = out.Migrations.Current
		d.Config = out.Config
		return nil
	})
	if err != nil {
		return contract.PreflightOutput{}, Classify(err, func(m string) error { return &contract.PreflightFailed{Message: m} })
	}
	msg := fmt.Sprintf("under the lease: %s serves %s", out.Environment, orNone(out.PreviousVersion))
	if kind == contract.KindDeploy {
		msg += fmt.Sprintf("; a rollback would return to %s", orNone(out.PreviousVersion))
	} else {
		msg += fmt.Sprintf("; rolling back to %s", out.Version)
	}
	msg += fmt.Sprintf("; schema at %d", out.Migrations.Current)
	h.Step(ctx, in.DeploymentID, "lock", StepInfo, msg, nil)
	return out, nil
}

// newerPush makes a push-triggered deployment step aside, under the lease,
// when a push made after it already took the lease and deployed (or tried
// to): the latest push wins even when its execution reached the lease
// first and, ending, took its push out of the queue, which the lock's own
// check (the queued push) can no longer see. ds are the environment's
// other deployments; started is when this one started.
func (h *Preflight) newerPush(ctx context.Context, deploymentID string, req request, started time.Time, ds []ledger.Deployment) error {
	// Pushes are ordered by their time when both carry it (the router
	// sets it), else by when their executions started.
	newer := func(d ledger.Deployment) bool {
		if !d.Trigger.PushedAt.IsZero() && !req.Trigger.PushedAt.IsZero() {
			return d.Trigger.PushedAt.After(req.Trigger.PushedAt)
		}
		return !started.IsZero() && d.StartedAt.After(started)
	}
	for _, d := range ds {
		if d.Kind != contract.KindDeploy || d.Trigger.Source != "push" || !newer(d) || !d.Final() || d.Status == contract.StatusFailed {
			continue
		}
		msg := fmt.Sprintf("superseded: a newer push (%s, deployment %s, %s) took the lease of %s before this deployment of %s; the latest push wins, this one changed nothing",
			d.Version, d.ID, d.Status, req.Environment, req.Version)
		h.Step(ctx, deploymentID, contract.StageLock, StepSkipped, msg, nil)
		return &contract.Superseded{Message: msg, By: d.Version}
	}
	return nil
}

func changedNote(kind string, out contract.PreflightOutput) string {
	if kind == contract.KindRollback {
		return "the rollback returns to " + out.Version
	}
	if out.PreviousVersion == "" {
		return "a rollback has no release to return to"
	}
	return "a rollback returns to " + out.PreviousVersion
}

func orUnknown(s string) string {
	if s == "" {
		return "an unnamed user"
	}
	return s
}

// what names the execution: "deploy v2 to staging", "roll staging back
// to v1".
func what(kind, version, env string) string {
	if kind == contract.KindRollback {
		return fmt.Sprintf("roll %s back to %s", env, version)
	}
	return fmt.Sprintf("deploy %s to %s", version, env)
}

func Refuse(format string, a ...any) error {
	return &contract.PreflightFailed{Message: fmt.Sprintf(format, a...)}
}

func (h *Preflight) check(ctx context.Context, deploymentID, kind string, req request) (contract.PreflightOutput, error) {
	return h.checkWith(ctx, deploymentID, kind, req, false)
}

// checkWith runs Preflight's checks; underLease says Resolve runs them.
func (h *Preflight) checkWith(ctx context.Context, deploymentID, kind string, req request, underLease bool) (contract.PreflightOutput, error) {
	if req.App != h.Config.App {
		return contract.PreflightOutput{}, Refuse("app %q is not managed here: this Slipway deploys %q", req.App, h.Config.App)
	}
	envCfg, err := h.Config.Env(req.Environment)
	if err != nil {
		return contract.PreflightOutput{}, Refuse("%v", err)
	}
	out := contract.PreflightOutput{App: req.App, Environment: req.Environment, Version: req.Version, Trigger: req.Trigger}

	ds, err := h.Ledger.ListDeployments(ctx, req.App, req.Environment, 200)
	if err != nil {
		return out, Classify(err, func(m string) error { return &contract.PreflightFailed{Message: m} })
	}
	var started time.Time // this deployment's, as Preflight recorded it
	for _, d := range ds {
		if d.ID == deploymentID {
			started = d.StartedAt
		}
	}
	ds = slices.DeleteFunc(ds, func(d ledger.Deployment) bool { return d.ID == deploymentID })
	serving, servingFrom := ledger.Serving(ds)
	if kind == contract.KindRollback {
		// The deployment to undo: the one that serves, or one that ended
		// without finishing (its rollback failed, it was stopped or
		// abandoned): a rollback execution completes it.
		if servingFrom == nil {
			return out, Refuse("%s/%s has no deployment to roll back", req.App, req.Environment)
		}
		if servingFrom.Kind != contract.KindDeploy && req.ToVersion == "" {
			return out, Refuse("%s/%s: the last change was rollback %s, which returned it to %s; there is nothing more to roll back without naming a release: slipway rollback --env %s --to VERSION",
				req.App, req.Environment, servingFrom.ID, serving, req.Environment)
		}
		unfinished := servingFrom.Kind == contract.KindDeploy && servingFrom.Status != contract.StatusSucceeded && !contract.RolledBack(servingFrom.Status)
		switch {
		case unfinished:
			// Its instances may still be on its version: the rollback
			// completes it, back to the release it replaced.
			out.PreviousVersion, out.Version = servingFrom.Version, cmp.Or(req.ToVersion, serving)
		case servingFrom.Kind == contract.KindDeploy && contract.RolledBack(servingFrom.Status) && req.ToVersion == "":
			return out, Refuse("%s/%s: the last deployment (%s of %s) already rolled back to %s, so there is nothing to roll back; to return to another release, name it: slipway rollback --env %s --to VERSION",
				req.App, req.Environment, servingFrom.ID, servingFrom.Version, orNone(serving), req.Environment)
		default:
			out.PreviousVersion, out.Version = serving, req.ToVersion
			if out.Version == "" {
				out.Version = ledger.ReturnTarget(ds)
			}
		}
		out.TargetDeploymentID = servingFrom.ID
		if out.Version == "" {
			return out, Refuse("%s/%s: %s is the first release deployed here; there is no earlier release to roll back to: deploy a fix, or name one with slipway rollback --env %s --to VERSION",
				req.App, req.Environment, orNone(serving), req.Environment)
		}
		if out.Version == out.PreviousVersion && !unfinished {
			return out, Refuse("%s/%s already serves %s: to return to another release, name it: slipway rollback --env %s --to VERSION", req.App, req.Environment, out.Version, req.Environment)
		}
	} else {
		out.PreviousVersion = serving
	}
	if req.ConfigOnly {
		// A new configuration for the release that serves: the same
		// release, the same bundle, another configuration.
		switch {
		case serving == "":
			return out, Refuse("%s/%s serves no release, so there is no configuration to change: deploy a release first (slipway deploy --env %s --version V)", req.App, req.Environment, req.Environment)
		case req.Version != "" && req.Version != serving:
			return out, Refuse("%s/%s serves %s, not %s: a configuration-only deployment changes the configuration of the release that serves; leave --version out, or deploy %s with slipway deploy --env %s --version %s",
				req.App, req.Environment, serving, req.Version, req.Version, req.Environment, req.Version)
		}
		out.Version = serving
	}

	meta, err := h.Artifacts.Stat(ctx, req.App, out.Version)
	if err != nil {
		var nf *artifact.NotFoundError
		if errors.As(err, &nf) {
			return out, Refuse("%v", err)
		}
		return out, Classify(err, func(m string) error { return Refuse("find release %s: %s", out.Version, m) })
	}
	out.Artifact = meta
	b, err := h.OpenBundle(ctx, meta)
	if err != nil {
		var ce *bundle.ChecksumError
		if errors.As(err, &ce) {
			return out, Refuse("%v", err)
		}
		return out, Classify(err, func(m string) error { return Refuse("open release %s: %s", out.Version, m) })
	}
	m := b.Manifest
	if m.App != req.App {
		return out, Refuse("release %s is built for app %q (its %s says so), not %q", out.Version, m.App, manifest.FileName, req.App)
	}
	// Freeze windows stop deployments, never rollbacks; a deployment they
	// admitted is not stopped by one that begins while it waits.
	if f, frozen := m.Freeze.Active(h.Time()); frozen && kind == contract.KindDeploy && !underLease {
		if !req.OverrideFreeze {
			return out, &contract.Frozen{Message: fmt.Sprintf("%s is frozen: %s, %s, until %s; deploy after it ends, or override with --override-freeze --reason \"why this cannot wait\"",
				req.Environment, f.Reason, f.What, f.Until.Format(time.RFC3339))}
		}
		h.Step(ctx, deploymentID, "preflight", StepInfo, fmt.Sprintf("freeze overridden by %s: %q (inside %s: %s)", orUnknown(req.Trigger.Actor), req.Trigger.Reason, f.What, f.Reason),
			contract.FreezeOverride{Kind: contract.DetailFreezeOverride, What: f.What, Reason: f.Reason, Until: f.Until})
	}
	required, ignored := m.ApprovalRequired(req.Environment, envCfg.Production)
	out.ApprovalRequired = required && kind == contract.KindDeploy
	if ignored {
		h.Step(ctx, deploymentID, "preflight", StepInfo, fmt.Sprintf("%s is production: the manifest cannot turn its approval off, so it stays on", req.Environment), nil)
	}
	out.WatchSeconds = seconds(m.Bake.Watch.Duration)

	if kind == contract.KindDeploy {
		if h.MigrationPlan == nil {
			return out, fmt.Errorf("preflight: no migration planner configured (Deps.MigrationPlan)")
		}
		plan, err := h.MigrationPlan(ctx, h.Deps, req.Environment, b)
		if plan.EngineWarning != "" {
			h.Step(ctx, deploymentID, "preflight", StepInfo, EngineWarningPrefix+plan.EngineWarning, nil)
		}
		if err != nil {
			return out, err
		}
		out.Migrations = plan
	} else {
		out.Migrations = contract.MigrationPlan{Pending: []int64{}}
	}

	tags := m.TargetTags(req.Environment)
	if len(envCfg.Tags) > 0 {
		tags = envCfg.Tags
	}
	instances, err := h.Fleet.Instances(ctx, req.Environment, tags)
	if err != nil {
		return out, Classify(err, func(m string) error { return Refuse("resolve instances of %s: %s", req.Environment, m) })
	}
	if len(instances) == 0 {
		return out, Refuse("no instance matches the tags %s for %s: tag the instances, or fix rollout.tags in %s", formatTags(tags), req.Environment, manifest.FileName)
	}
	out.Tags = tags
	var offline []string
	for _, i := range instances {
		out.Instances = append(out.Instances, i.ID)
		if !i.Online {
			offline = append(offline, i.ID)
		}
	}
	if len(offline) > 0 {
		return out, Refuse("instances not reachable through their agent (not Online): %s; bring them back or take them out of the target tags, then deploy again", List(offline))
	}

	waves, bake, alarms := m.ForEnvironment(req.Environment)
	alarms = append(alarms, envCfg.Alarms...)
	if alarms == nil {
		alarms = []string{}
	}
	if kind == contract.KindRollback && len(envCfg.TargetGroups) == 0 {
		// Without a load balancer a rollback execution returns every
		// instance at once; behind one, it walks the manifest's waves.
		waves = []manifest.WaveSpec{{Percent: 100}}
	}
	// The release a rollback would return to must still be on every host.
	// Redeploying the release that serves needs nothing: it also brings new
	// hosts up to date.
	if kind == contract.KindRollback {
		out.RequireOnHosts = out.Version
	} else if out.PreviousVersion != out.Version {
		out.RequireOnHosts = out.PreviousVersion
	}
	if m.Rollout.Strategy == manifest.StrategyBlueGreen && kind == contract.KindDeploy {
		if envCfg.BlueGreen == nil {
			return out, Refuse("the manifest's rollout.strategy is blue-green but environment %s has no blue_green configuration (listener, blue and green target groups and instances); add it, or set rollout.strategy: in-place", req.Environment)
		}
		out.BlueGreen = &contract.BlueGreenSpec{Shift: m.Rollout.Shift, ShiftBakeSeconds: seconds(m.Rollout.ShiftBake.Duration), KeepWarmSeconds: seconds(m.Rollout.KeepWarm.Duration)}
		// The sides alternate: the idle side never ran the release that
		// serves (it is on the one before, or on none), and a rollback is
		// a switch back to the serving side, which keeps its release. No
		// host has to keep the previous release.
		out.RequireOnHosts = ""
	}
	if kind == contract.KindRollback && envCfg.BlueGreen != nil {
		// A blue/green deployment left the side that served before warm:
		// the rollback is one switch of the listener back to it.
		ws, why := h.warmSide(ctx, servingFrom, out.Version, req.Environment, envCfg.BlueGreen)
		switch {
		case ws != nil:
			out.WarmSide, out.RequireOnHosts, out.Tags = ws, "", ws.ServingTags
			if underLease {
				h.Step(ctx, deploymentID, "preflight", StepInfo, fmt.Sprintf("%s (%s) is warm on %s and healthy in %s: the rollback switches listener %s back to it, with no restart",
					ws.Serving, formatTags(ws.ServingTags), out.Version, ws.ServingGroup, ws.Listener), nil)
			}
		case why != "" && underLease:
			h.Step(ctx, deploymentID, "preflight", StepInfo, fmt.Sprintf("no switch back to the side %s left warm: %s; the rollback switches the instances back in place", servingFrom.ID, why), nil)
		}
	}
	if len(envCfg.TargetGroups) > 0 && (kind == contract.KindDeploy || kind == contract.KindRollback) && h.Traffic != nil && out.WarmSide == nil {
		// What closing an unfinished deployment left out of the target
		// groups goes back with this one's waves, first: it serves
		// nothing now, so its wave takes nothing out of service.
		pb, err := h.leftOut(ctx, ds, envCfg.TargetGroups)
		if err != nil {
			return out, Classify(err, func(m string) error {
				return Refuse("read what earlier deployments left out of the target groups: %s", m)
			})
		}
		var back []string
		for g, ids := range pb {
			pb[g] = slices.DeleteFunc(ids, func(id string) bool { return !slices.Contains(out.Instances, id) })
			for _, id := range pb[g] {
				if !slices.Contains(back, id) {
					back = append(back, id)
				}
			}
		}
		if len(back) > 0 {
			sort.Strings(back)
			out.PutBack = pb
			rest := slices.DeleteFunc(slices.Clone(out.Instances), func(id string) bool { return slices.Contains(back, id) })
			out.Instances = append(back, rest...)
			if underLease {
				h.Step(ctx, deploymentID, "preflight", StepInfo, fmt.Sprintf("%s left out of the target groups by an earlier deployment (closed unfinished, or whose rollback wave failed): this %s puts %s back in its first wave, once healthy on %s",
					List(back), kind, cond(len(back) == 1, "it", "them"), out.Version), nil)
			}
		}
	}
	out.Waves = manifest.Plan(waves, out.Instances)
	out.WaveCount = len(out.Waves)
	// Behind target groups a rollback execution too takes each wave out
	// while it is switched back; the capacity floor is not a reason to
	// refuse a rollback (it only guards a deployment's plan).
	out.Traffic = len(envCfg.TargetGroups) > 0 && (kind == contract.KindDeploy || kind == contract.KindRollback)
	if out.Traffic {
		out.TargetGroups = envCfg.TargetGroups
		if h.Traffic == nil {
			return out, fmt.Errorf("preflight: %s names target groups but no load balancer is configured (Deps.Traffic)", req.Environment)
		}
	}
	if out.Traffic && kind == contract.KindDeploy {
		if other := runningOf(ds); other != nil && !underLease {
			// The other deployment may have a wave out of its groups, or
			// its owner may be dead with one out: closing it under the
			// lease puts that back. The floor is checked then, by Resolve.
			h.Step(ctx, deploymentID, "preflight", StepInfo, fmt.Sprintf("deployment %s is running and may have instances out of the target groups: the capacity floor (rollout.min_healthy) is checked under the lease", other.ID), nil)
		} else if err := capacityFloor(ctx, h.Deps, envCfg.TargetGroups, out.Waves, *m.Rollout.MinHealthy, out.PutBack); err != nil {
			return out, err
		}
	}
	out.PollSeconds = seconds(m.Rollout.PollInterval.Duration)
	out.Health = healthSpec(m)
	if kind == contract.KindDeploy {
		out.HostFloor = hostFloor(m, b.Unpacked, out.Artifact.Size)
		m.Hooks.Each(func(name string, k manifest.Hook) {
			out.Hooks = append(out.Hooks, contract.HookSpec{Name: name, Run: k.Run, TimeoutSeconds: seconds(k.Timeout.Duration)})
		})
		h.trafficHooks(ctx, deploymentID, m, &out, underLease)
	}
	if kind == contract.KindRollback && out.Traffic {
		// A rollback execution's waves behind the load balancer run the
		// traffic hooks of the release they return to: this one.
		out.RollbackBeforeTraffic, out.RollbackAfterTraffic = m.Hooks.BeforeTraffic != nil, m.Hooks.AfterTraffic != nil
	}
	if kind == contract.KindRollback && out.WarmSide != nil {
		// A switch back to the side left warm runs, on that side once the
		// listener is back on it, the after_traffic of the release it
		// runs (this one); no before_traffic: it never left its group.
		out.RollbackBeforeTraffic, out.RollbackAfterTraffic = false, m.Hooks.AfterTraffic != nil
	}
	if kind == contract.KindDeploy && len(out.Health.Smoke) > 0 {
		out.Health.Redact = secretRefs(m, req.Environment)
		out.SmokeEndpoint = envCfg.Endpoint
	} else {
		out.Health.Smoke = nil
	}
	if kind == contract.KindDeploy {
		if err := h.canarySpec(ctx, m, req.Environment, &out); err != nil {
			return out, err
		}
	}
	out.Bake = contract.BakeSpec{Seconds: seconds(bake.Duration.Duration), IntervalSeconds: min(seconds(bake.Duration.Duration), seconds(bake.Interval.Duration))}
	out.Alarms = alarms
	out.LockTTLSeconds = contract.LeaseSeconds
	out.LeaseWaitSeconds = seconds(cmp.Or(m.Rollout.LeaseWait.Duration, DefaultLeaseWait))
	out.LockPollSeconds = LockPollSeconds
	out.RollbackHealth = out.Health
	out.RollbackHealth.Smoke, out.RollbackHealth.Redact = nil, nil
	// The configuration last, so that a plan shows everything else even
	// when a variable is missing.
	if kind == contract.KindDeploy {
		if out.Config, err = h.configPrint(ctx, m, req.Environment, ds); err != nil {
			return out, err
		}
	} else {
		_, sp := ServingConfig(ds)
		out.Config = restoredConfig(ds, out.Version, sp)
	}
	if out.Config != nil {
		out.Artifact.Config = out.Config.Fingerprint
	}
	if req.ConfigOnly {
		if err := configOnly(out); err != nil {
			return out, err
		}
	}
	// The tested-build gate last too: a plan shows everything else.
	if kind == contract.KindDeploy && !req.ConfigOnly {
		if err := h.testedGate(ctx, deploymentID, m, req.Environment, envCfg.Production, out, underLease); err != nil {
			return out, err
		}
	}
	if underLease && kind == contract.KindDeploy && req.Trigger.Source == "push" {
		if err := h.newerPush(ctx, deploymentID, req, started, ds); err != nil {
			return out, err
		}
	}
	if underLease {
		out.Resolved = true
		if kind == contract.KindDeploy && out.PreviousVersion != "" && out.PreviousVersion != out.Version {
			var prev *manifest.Manifest
			out.RollbackHealth, prev = h.healthOf(ctx, deploymentID, req.App, out.PreviousVersion, out.RollbackHealth)
			if prev != nil && (out.Traffic || out.BlueGreen != nil) {
				out.RollbackBeforeTraffic, out.RollbackAfterTraffic = prev.Hooks.BeforeTraffic != nil, prev.Hooks.AfterTraffic != nil
			}
			// A rollback is verified by its health check; the smoke checks
			// gate a deployment's waves.
			out.RollbackHealth.Smoke = nil
		}
	}
	return out, nil
}

// configOnly refuses a configuration-only deployment that would change
// nothing, or whose rollback could not restore the configuration that
// serves.
func configOnly(out contract.PreflightOutput) error {
	c := out.Config
	switch {
	case c == nil:
		return Refuse("release %s declares no config: section in its %s, so it has no configuration to deploy", out.Version, manifest.FileName)
	case c.Previous == c.Fingerprint:
		return Refuse("configuration unchanged: %s/%s already serves %s with configuration %s; change a value (or the manifest) first, then deploy again",
			out.App, out.Environment, out.Version, c.Fingerprint)
	case c.Previous == "":
		return Refuse("the configuration %s/%s serves with is not recorded, so a rollback could not restore it: deploy the release once with `slipway deploy --env %s --version %s` instead",
			out.App, out.Environment, out.Environment, out.Version)
	}
	return nil
}

// runningOf returns the first deployment of ds that has not ended, or nil.
func runningOf(ds []ledger.Deployment) *ledger.Deployment {
	for i := range ds {
		if !ds[i].Final() {
			return &ds[i]
		}
	}
	return nil
}

// DefaultLeaseWait is how long a deployment waits for another one's lease
// when the manifest's rollout.lease_wait does not say.
const DefaultLeaseWait = 30 * time.Minute

// LockPollSeconds is how often, on AWS, a waiting deployment asks for the
// lease again (the embedded environment asks as soon as it frees).
const LockPollSeconds = 15

// healthOf returns how release version is probed: its own manifest's
// health settings. A release that can no longer be read (its bundle was
// deleted) is probed with fallback, and the ledger says so.
//
// It returns that release's manifest too (nil when it cannot be read): a
// rollback behind a load balancer runs its traffic hooks.
func (h *Preflight) healthOf(ctx context.Context, deploymentID, app, version string, fallback contract.HealthSpec) (contract.HealthSpec, *manifest.Manifest) {
	meta, err := h.Artifacts.Stat(ctx, app, version)
	var b *bundle.Bundle
	if err == nil {
		b, err = h.OpenBundle(ctx, meta)
	}
	if err != nil {
		h.Step(ctx, deploymentID, "lock", StepInfo, fmt.Sprintf("the health settings of %s, which a rollback returns to, could not be read (%v): a rollback probes it with this release's, and runs no traffic hooks of its", version, err), nil)
		return fallback, nil
	}
	return healthSpec(b.Manifest), b.Manifest
}

// trafficHooks sets BeforeTraffic and AfterTraffic when the release has
// those hooks and the environment switches traffic: blue/green, or
// target groups. Without a load balancer they do not run, as CodeDeploy's
// BeforeAllowTraffic and AfterAllowTraffic, and the ledger says so (once,
// under the lease).
func (h *Preflight) trafficHooks(ctx context.Context, deploymentID string, m *manifest.Manifest, out *contract.PreflightOutput, underLease bool) {
	before, after := m.Hooks.BeforeTraffic != nil, m.Hooks.AfterTraffic != nil
	if !before && !after {
		return
	}
	if out.Traffic || out.BlueGreen != nil {
		out.BeforeTraffic, out.AfterTraffic = before, after
		return
	}
	if underLease {
		var names []string
		for _, k := range []struct {
			set  bool
			name string
		}{{before, manifest.HookBeforeTraffic}, {after, manifest.HookAfterTraffic}} {
			if k.set {
				names = append(names, k.name)
			}
		}
		what := "hook " + names[0] + " does not run"
		if len(names) > 1 {
			what = "hooks " + strings.Join(names, " and ") + " do not run"
		}
		h.Step(ctx, deploymentID, contract.StageLock, StepInfo, fmt.Sprintf("%s: environment %s has no load balancer (no target_groups, no blue_green), so no traffic is switched; as CodeDeploy's BeforeAllowTraffic and AfterAllowTraffic, they run only behind one",
			what, out.Environment), nil)
	}
}

func healthSpec(m *manifest.Manifest) contract.HealthSpec {
	return contract.HealthSpec{
		Path: m.Health.Path, ExpectStatus: m.Health.ExpectStatus, Successes: m.Health.Successes,
		IntervalSeconds: seconds(m.Health.Interval.Duration),
		MaxAttempts:     int(math.Ceil(m.Health.Timeout.Seconds() / m.Health.Interval.Seconds())),
		Smoke:           smokeChecks(m),
	}
}

// hostFloor is what every host must have free to take a release whose
// bundle is size bytes and unpacked bytes unpacked: room for both (the
// host script keeps the bundle until the unpacked copy is complete) and
// the manifest's margin; and the manifest's memory and inode floors.
func hostFloor(m *manifest.Manifest, unpacked, size int64) *contract.HostFloor {
	margin := int64(*m.Host.DiskMargin)
	kb := func(b int64) int64 { return (b + 1023) / 1024 }
	return &contract.HostFloor{
		DiskKB: kb(unpacked) + kb(size) + kb(margin),
		Need: fmt.Sprintf("%s unpacked + %s bundle + %s margin (host.disk_margin)",
			manifest.Size(unpacked), manifest.Size(size), manifest.Size(margin)),
		MemoryKB: kb(int64(m.Host.MinMemory)),
		Inodes:   m.Host.MinInodes,
	}
}

// smokeChecks turns the manifest's smoke checks into the form they run in.
func smokeChecks(m *manifest.Manifest) []contract.SmokeCheck {
	var out []contract.SmokeCheck
	for _, c := range m.Smoke {
		sc := contract.SmokeCheck{Name: c.Name, Method: c.Method, Path: c.Path, Headers: c.Headers, Body: c.Body,
			ExpectStatus: c.ExpectStatus, BodyContains: c.BodyContains, MaxLatencyMS: int(c.MaxLatency.Milliseconds())}
		for p, v := range c.JSON {
			b, err := json.Marshal(v)
			if err != nil {
				// Parse read it from YAML; a value that does not turn
				// into JSON (a map with non-string keys) never matches.
				b = []byte(strconv.Quote(fmt.Sprint(v)))
			}
			if sc.JSON == nil {
				sc.JSON = map[string]json.RawMessage{}
			}
			sc.JSON[p] = b
		}
		out = append(out, sc)
	}
	return out
}

// secretRefs lists the references of env's secret configuration values,
// for the health function to redact what smoke checks record.
func secretRefs(m *manifest.Manifest, env string) []string {
	var refs []string
	for _, e := range appconfig.Entries(m, env) {
		if e.Secret && e.State != manifest.SourceMissing && e.Ref.Kind != manifest.RefLiteral {
			refs = append(refs, e.Ref.String())
		}
	}
	return refs
}

func seconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func formatTags(tags map[string]string) string {
	var kv []string
	for k, v := range tags {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}
