package pipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/report"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// PlanOptions are what a plan reads besides Preflight's own checks.
type PlanOptions struct {
	// HostReleases lists the releases each host keeps, without changing
	// anything. Nil when that cannot be read without a command (on AWS,
	// asking a host is an SSM SendCommand, which the deployment itself
	// sends before it takes the lock).
	HostReleases func(ctx context.Context, env string, ids []string) (map[string][]string, error)
	// Serving returns the release each instance serves, where it can be
	// read; nil when it cannot.
	Serving func(ctx context.Context, env string, ids []string) (map[string]string, error)
	// Hints say where the backend's dashboards and logs are.
	Hints report.Hints
	// DatabaseTimeout bounds connecting to the database; default 10s.
	DatabaseTimeout time.Duration
}

// ErrReadOnly is what a plan's adapters answer to a write: a plan changes
// nothing, and reaching a write is a bug.
var ErrReadOnly = errors.New("a plan changes nothing: write refused")

// PlanNotes marks a context as a plan's: Preflight's checks go on past a
// database they cannot reach and past the migration policy's verdict, so
// that the plan shows everything they would check, and note in Database and
// Gate why they would stop.
type PlanNotes struct {
	Database error // the database could not be read
	Gate     error // the migration policy blocks the release
	infra    error // an adapter failed (credentials, permissions, network)
	steps    []string
}

type planningKey struct{}

// Planning returns the plan's notes when ctx is a plan's, else nil.
func Planning(ctx context.Context) *PlanNotes {
	p, _ := ctx.Value(planningKey{}).(*PlanNotes)
	return p
}

// Plan works out what deploying req would do, running Preflight's own
// checks read-only: it writes nothing to the ledger, sends no command to
// any instance and changes no database, so it needs only read permissions.
// A deployment Preflight would refuse still gets a plan, whose Refusal
// says why. The error is for a plan that could not be made at all (bad
// request, credentials, an unreachable ledger).
func Plan(ctx context.Context, d *Deps, req contract.DeployRequest, opts PlanOptions) (*report.Report, error) {
	raw, _ := json.Marshal(req)
	r, err := decodeRequest(raw, contract.KindDeploy)
	if err != nil {
		return nil, err
	}
	probe := &PlanNotes{}
	ctx = context.WithValue(ctx, planningKey{}, probe)
	ro := readOnly(d, probe, opts.DatabaseTimeout)
	pf := &Preflight{Deps: ro}
	now := ro.Time()

	in := report.PlanInput{App: r.App, Environment: r.Environment, Version: r.Version, Trigger: r.Trigger, Hints: opts.Hints, Now: now}
	out, err := pf.check(ctx, "plan", contract.KindDeploy, r)
	var frozen *contract.Frozen
	if errors.As(err, &frozen) {
		// Record the freeze, and look past it for the rest of the plan.
		in.Refusal, in.RefusalKind = frozen.Message, "Frozen"
		over := r
		over.OverrideFreeze, over.Trigger.Reason = true, "plan"
		out, err = pf.check(ctx, "plan", contract.KindDeploy, over)
	}
	if err != nil {
		if probe.infra != nil {
			return nil, probe.infra
		}
		var pfErr *contract.PreflightFailed
		if !errors.As(err, &pfErr) {
			return nil, err
		}
		if in.Refusal == "" {
			in.Refusal, in.RefusalKind = pfErr.Message, "PreflightFailed"
		}
	}
	if probe.Gate != nil && in.Refusal == "" {
		in.Refusal, in.RefusalKind = probe.Gate.Error(), "Gate"
	}
	in.Preflight = out
	for _, s := range probe.steps {
		if out.Migrations.EngineWarning == "" || s != EngineWarningPrefix+out.Migrations.EngineWarning {
			in.Notes = append(in.Notes, s)
		}
	}

	envCfg, cfgErr := ro.Config.Env(r.Environment)
	in.Production = cfgErr == nil && envCfg.Production

	// The migrations, with the database's answer or without it.
	in.Migrations = report.Migrations{Known: probe.Database == nil && out.Migrations.Pending != nil}
	if in.Migrations.Known {
		in.Migrations = migrationsReport(out.Migrations)
	}
	if probe.Database != nil {
		in.Notes = append(in.Notes, "the database could not be read, so the pending migrations are unknown: "+probe.Database.Error())
	}

	var b *bundle.Bundle
	if out.Artifact.URI != "" {
		if b, err = ro.OpenBundle(ctx, out.Artifact); err == nil {
			in.Manifest = b.Manifest
		}
	}

	// Targets, and what they serve now.
	var serving map[string]string
	if opts.Serving != nil && len(out.Instances) > 0 {
		if serving, err = opts.Serving(ctx, r.Environment, out.Instances); err != nil {
			in.Notes = append(in.Notes, "what each instance serves could not be read: "+err.Error())
		}
	}
	for _, id := range out.Instances {
		in.Targets = append(in.Targets, report.Target{ID: id, Online: true, Serves: serving[id]})
	}

	// The rollback target on the hosts.
	if opts.HostReleases != nil && out.RequireOnHosts != "" && len(out.Instances) > 0 {
		rel, err := opts.HostReleases(ctx, r.Environment, out.Instances)
		if err != nil {
			in.Notes = append(in.Notes, "the hosts' releases could not be read: "+err.Error())
		} else {
			in.TargetChecked = true
			for _, id := range out.Instances {
				if !slices.Contains(rel[id], out.RequireOnHosts) {
					in.MissingOn = append(in.MissingOn, id)
				}
			}
		}
	}

	// The size of the change.
	switch {
	case b == nil:
		in.ChangeNote = "not compared: the release could not be opened"
	case out.PreviousVersion == "":
	case out.PreviousVersion == out.Version:
		in.Change = &report.Change{Previous: out.PreviousVersion}
	default:
		in.Change, in.ChangeNote = compareReleases(ctx, ro, r.App, out.PreviousVersion, b)
	}

	// The configuration, against what serves.
	if out.Config != nil {
		in.Config = planConfig(ctx, ro, r.App, r.Environment, out.Config, out.PreviousVersion, b)
	}

	// The alarms, as they are now.
	for _, a := range out.Alarms {
		in.Alarms = append(in.Alarms, report.Alarm{Name: a})
	}
	if len(out.Alarms) > 0 && ro.Alarms != nil {
		states, err := ro.Alarms.States(ctx, out.Alarms)
		if err != nil {
			in.Notes = append(in.Notes, "the alarms' states could not be read: "+err.Error())
		}
		for _, s := range states {
			for i := range in.Alarms {
				if in.Alarms[i].Name == s.Name {
					in.Alarms[i].State, in.Alarms[i].Reason = s.State, s.Reason
				}
			}
		}
	}

	// How to restore the snapshot the deployment would take.
	if len(out.Migrations.Pending) > 0 && cfgErr == nil && ro.Snapshots != nil {
		if s, err := ro.Snapshots(r.Environment, envCfg); err == nil {
			in.Restore = strings.TrimSpace(s.RestoreProcedure("<snapshot id>"))
		}
	}
	return report.NewPlan(in), nil
}

// migrationsReport turns Preflight's migration plan into the report's.
func migrationsReport(mp contract.MigrationPlan) report.Migrations {
	m := report.Migrations{Known: true, Engine: mp.Engine, EngineWarning: mp.EngineWarning, Current: mp.Current, Target: mp.Target, Ahead: mp.Ahead, Pending: []report.Migration{}}
	checks := map[int64]contract.MigrationCheck{}
	for _, c := range mp.Checks {
		checks[c.Version] = c
	}
	for _, v := range mp.Pending {
		c := checks[v]
		mig := report.Migration{Version: v, Name: c.Name, Class: c.Class, Reversible: c.Reversible, Mode: c.Mode, Allowed: c.Allowed}
		for _, f := range c.Findings {
			mig.Findings = append(mig.Findings, report.Finding{File: f.File, Line: f.Line, Rule: f.Rule, Severity: f.Severity, Message: f.Message, Ignored: f.Ignored, Reason: f.Reason})
		}
		m.Pending = append(m.Pending, mig)
	}
	return m
}

// compareReleases compares the release with the one the environment serves.
func compareReleases(ctx context.Context, d *Deps, app, previous string, next *bundle.Bundle) (*report.Change, string) {
	meta, err := d.Artifacts.Stat(ctx, app, previous)
	if err != nil {
		return nil, fmt.Sprintf("not compared: release %s, which serves now, could not be found: %v", previous, err)
	}
	prev, err := d.OpenBundle(ctx, meta)
	if err != nil {
		return nil, fmt.Sprintf("not compared: release %s could not be opened: %v", previous, err)
	}
	before, err1 := files(prev.FS())
	after, err2 := files(next.FS())
	if err := errors.Join(err1, err2); err != nil {
		return nil, "not compared: " + err.Error()
	}
	c := report.Compare(previous, before, after)
	return &c, ""
}

func files(fsys fs.FS) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		out[p] = b
		return err
	})
	return out, err
}

// readOnly returns Deps for a plan: the same adapters, with every write
// refused, notes kept instead of ledger steps, and adapter failures
// remembered so that Plan can return them as they are.
func readOnly(d *Deps, p *PlanNotes, dbTimeout time.Duration) *Deps {
	if dbTimeout <= 0 {
		dbTimeout = 10 * time.Second
	}
	ro := &Deps{
		Config: d.Config, Ledger: roLedger{Ledger: d.Ledger, p: p}, Secrets: d.Secrets, ConfigStore: d.ConfigStore, Snapshots: d.Snapshots,
		Prober: d.Prober, Alarms: d.Alarms, Now: d.Now, Log: d.Log, MigrationPlan: d.MigrationPlan,
		// Preflight only asks it where the canary's figures come from.
		CanaryMetrics: d.CanaryMetrics,
	}
	if d.Artifacts != nil {
		ro.Artifacts = roArtifacts{Artifacts: d.Artifacts, p: p}
	}
	if d.Fleet != nil {
		ro.Fleet = roFleet{Fleet: d.Fleet, p: p}
	}
	if d.Traffic != nil {
		ro.Traffic = roTraffic{Port: d.Traffic}
	}
	if d.OpenDB != nil {
		ro.OpenDB = func(ctx context.Context, db secret.Database) (*sql.DB, error) {
			ctx, cancel := context.WithTimeout(ctx, dbTimeout)
			defer cancel()
			return d.OpenDB(ctx, db)
		}
	}
	return ro
}

// infra remembers the first failure of an adapter that is not an answer
// (a release that is not published is an answer; access denied is not).
func (p *PlanNotes) fail(err error) error {
	var nf *artifact.NotFoundError
	if err != nil && p.infra == nil && !errors.As(err, &nf) && !errors.Is(err, ledger.ErrNotFound) {
		p.infra = err
	}
	return err
}

type roLedger struct {
	Ledger
	p *PlanNotes
}

func (l roLedger) ListDeployments(ctx context.Context, app, env string, limit int) ([]ledger.Deployment, error) {
	ds, err := l.Ledger.ListDeployments(ctx, app, env, limit)
	return ds, l.p.fail(err)
}

func (l roLedger) AddStep(_ context.Context, st ledger.Step) error {
	if _, ok := contract.ParseFreezeOverride(st.Detail); ok {
		return nil // the plan's risk says it; a note would repeat it
	}
	l.p.steps = append(l.p.steps, st.Message)
	return nil
}

func (l roLedger) PutDeployment(context.Context, ledger.Deployment) error { return ErrReadOnly }
func (l roLedger) UpdateDeployment(context.Context, string, func(*ledger.Deployment) error) (ledger.Deployment, error) {
	return ledger.Deployment{}, ErrReadOnly
}
func (l roLedger) PutInstanceResults(context.Context, []ledger.InstanceResult) error {
	return ErrReadOnly
}
func (l roLedger) AcquireLease(context.Context, string, string, string, string, time.Duration, time.Time) (ledger.Lock, error) {
	return ledger.Lock{}, ErrReadOnly
}
func (l roLedger) ReleaseLease(context.Context, string, string, string) (bool, error) {
	return false, ErrReadOnly
}
func (l roLedger) ClearPending(context.Context, string, string, string) (bool, error) {
	return false, ErrReadOnly
}
func (l roLedger) PutApproval(context.Context, ledger.Approval) error { return ErrReadOnly }

type roArtifacts struct {
	Artifacts
	p *PlanNotes
}

func (a roArtifacts) Stat(ctx context.Context, app, version string) (contract.Artifact, error) {
	m, err := a.Artifacts.Stat(ctx, app, version)
	return m, a.p.fail(err)
}

func (a roArtifacts) Fetch(ctx context.Context, m contract.Artifact) ([]byte, error) {
	b, err := a.Artifacts.Fetch(ctx, m)
	return b, a.p.fail(err)
}

// roTraffic reads the load balancer (the capacity floor) and changes
// nothing.
type roTraffic struct{ traffic.Port }

func (roTraffic) Register(context.Context, string, []traffic.Target) error   { return ErrReadOnly }
func (roTraffic) Deregister(context.Context, string, []traffic.Target) error { return ErrReadOnly }
func (roTraffic) SetWeights(context.Context, string, map[string]int) error   { return ErrReadOnly }

type roFleet struct {
	Fleet
	p *PlanNotes
}

func (f roFleet) Instances(ctx context.Context, env string, tags map[string]string) ([]fleet.Instance, error) {
	is, err := f.Fleet.Instances(ctx, env, tags)
	return is, f.p.fail(err)
}

func (f roFleet) Send(context.Context, string, fleet.Command) (string, error) { return "", ErrReadOnly }
