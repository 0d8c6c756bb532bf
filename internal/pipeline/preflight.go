package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

// Preflight validates a request and resolves everything later stages need,
// before anything changes. It opens the deployment's ledger record.
type Preflight struct{ *Deps }

// Handle runs the Preflight stage.
func (h *Preflight) Handle(ctx context.Context, in contract.PreflightInput) (contract.PreflightOutput, error) {
	kind := in.Kind
	if kind == "" {
		kind = contract.KindDeploy
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
		var pf *contract.PreflightFailed
		var fr *contract.Frozen
		var mb *contract.MigrationBlocked
		switch {
		case errors.As(err, &pf):
			h.Step(ctx, in.DeploymentID, "preflight", StepFailed, pf.Message, nil)
		case errors.As(err, &fr):
			h.Step(ctx, in.DeploymentID, "preflight", StepFailed, fr.Message, nil)
		case errors.As(err, &mb):
			h.Step(ctx, in.DeploymentID, "preflight", StepFailed, mb.Message, nil)
		}
		return contract.PreflightOutput{}, err
	}
	_, err = h.Ledger.UpdateDeployment(ctx, in.DeploymentID, func(d *ledger.Deployment) error {
		d.Version, d.PreviousVersion = out.Version, out.PreviousVersion
		d.TargetDeploymentID = out.TargetDeploymentID
		d.SchemaBefore = out.Migrations.Current
		return nil
	})
	if err != nil {
		return contract.PreflightOutput{}, Classify(err, func(m string) error { return &contract.PreflightFailed{Message: m} })
	}
	msg := fmt.Sprintf("%s %s to %s: %s in %s, %s", verb(kind), out.Version, out.Environment,
		Count(len(out.Instances), "instance"), Count(out.WaveCount, "wave"), Count(len(out.Migrations.Pending), "pending migration"))
	if out.PreviousVersion != "" {
		msg += ", replacing " + out.PreviousVersion
	}
	h.Step(ctx, in.DeploymentID, "preflight", StepOK, msg, map[string]any{"waves": out.Waves, "migrations": out.Migrations, "artifact": out.Artifact})
	return out, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "an unnamed user"
	}
	return s
}

func verb(kind string) string {
	if kind == contract.KindRollback {
		return "roll back to"
	}
	return "deploy"
}

func Refuse(format string, a ...any) error {
	return &contract.PreflightFailed{Message: fmt.Sprintf(format, a...)}
}

func (h *Preflight) check(ctx context.Context, deploymentID, kind string, req request) (contract.PreflightOutput, error) {
	if req.App != h.Config.App {
		return contract.PreflightOutput{}, Refuse("app %q is not managed here: this Slipway deploys %q", req.App, h.Config.App)
	}
	envCfg, err := h.Config.Env(req.Environment)
	if err != nil {
		return contract.PreflightOutput{}, Refuse("%v", err)
	}
	out := contract.PreflightOutput{App: req.App, Environment: req.Environment, Version: req.Version, Trigger: req.Trigger}

	serving, servingFrom, err := h.serving(ctx, req.App, req.Environment, deploymentID)
	if err != nil {
		return out, Classify(err, func(m string) error { return &contract.PreflightFailed{Message: m} })
	}
	if kind == contract.KindRollback {
		// The deployment to undo: the one that serves, or one whose own
		// rollback did not finish (a rollback execution completes it).
		unfinished := servingFrom != nil && servingFrom.Kind == contract.KindDeploy && servingFrom.Status == contract.StatusRollbackFailed
		if servingFrom == nil || servingFrom.Kind != contract.KindDeploy || (servingFrom.Status != contract.StatusSucceeded && !unfinished) {
			if servingFrom == nil {
				return out, Refuse("%s/%s has no deployment to roll back", req.App, req.Environment)
			}
			return out, Refuse("%s/%s: the last deployment (%s, %s) is not a succeeded deployment, so there is nothing to roll back; it serves %s", req.App, req.Environment, servingFrom.ID, servingFrom.Status, serving)
		}
		out.TargetDeploymentID = servingFrom.ID
		out.PreviousVersion = servingFrom.Version
		out.Version = req.ToVersion
		if out.Version == "" {
			out.Version = servingFrom.PreviousVersion
		}
		if out.Version == "" {
			return out, Refuse("%s/%s: deployment %s was the first deployment of %s; there is no earlier release to roll back to (deploy a fix instead)", req.App, req.Environment, servingFrom.ID, servingFrom.Version)
		}
		if out.Version == servingFrom.Version {
			return out, Refuse("%s/%s already serves %s", req.App, req.Environment, out.Version)
		}
	} else {
		out.PreviousVersion = serving
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
	// Freeze windows stop deployments, never rollbacks.
	if f, frozen := m.Freeze.Active(h.Time()); frozen && kind == contract.KindDeploy {
		if !req.OverrideFreeze {
			return out, &contract.Frozen{Message: fmt.Sprintf("%s is frozen: %s, %s, until %s; deploy after it ends, or override with --override-freeze --reason \"why this cannot wait\"",
				req.Environment, f.Reason, f.What, f.Until.Format(time.RFC3339))}
		}
		h.Step(ctx, deploymentID, "preflight", StepInfo, fmt.Sprintf("freeze overridden by %s: %q (inside %s: %s)", orUnknown(req.Trigger.Actor), req.Trigger.Reason, f.What, f.Reason), f)
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
	if kind == contract.KindRollback {
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
	out.Waves = manifest.Plan(waves, out.Instances)
	out.WaveCount = len(out.Waves)
	out.PollSeconds = seconds(m.Rollout.PollInterval.Duration)
	out.Health = contract.HealthSpec{
		Path: m.Health.Path, ExpectStatus: m.Health.ExpectStatus, Successes: m.Health.Successes,
		IntervalSeconds: seconds(m.Health.Interval.Duration),
		MaxAttempts:     int(math.Ceil(m.Health.Timeout.Seconds() / m.Health.Interval.Seconds())),
	}
	out.Bake = contract.BakeSpec{Seconds: seconds(bake.Duration.Duration), IntervalSeconds: min(seconds(bake.Interval.Duration), seconds(bake.Duration.Duration))}
	out.Alarms = alarms
	out.LockTTLSeconds = 2*3600 + out.Bake.Seconds
	return out, nil
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

// serving returns the version an environment serves according to the
// ledger, and the record that says so (nil when nothing was ever deployed).
func (h *Deps) serving(ctx context.Context, app, env, exceptID string) (string, *ledger.Deployment, error) {
	ds, err := h.Ledger.ListDeployments(ctx, app, env, 200)
	if err != nil {
		return "", nil, err
	}
	for i := range ds {
		d := &ds[i]
		if d.ID == exceptID {
			continue
		}
		switch {
		case d.Kind == contract.KindDeploy && d.Status == contract.StatusSucceeded:
			return d.Version, d, nil
		case d.Kind == contract.KindDeploy && (d.Status == contract.StatusRolledBack || d.Status == contract.StatusRollbackFailed):
			if d.RolledBackBy != "" {
				continue // the rollback record, newer, says what serves
			}
			return d.PreviousVersion, d, nil
		case d.Kind == contract.KindRollback && d.Status == contract.StatusRolledBack:
			return d.Version, d, nil
		}
	}
	return "", nil, nil
}
