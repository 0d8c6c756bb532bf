package backendtest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/provenance"
	"github.com/slipway-deploy/slipway/internal/report"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

// Fake is a backend for command tests.
type Fake struct {
	Cfg   *config.Config
	Store *sqlite.Store
	// IsLocal is what Local reports; Who what Identity returns.
	IsLocal bool
	Who     string
	// StartFunc runs an execution; nil fails.
	StartFunc func(ctx context.Context, machine, name string, input []byte, opts backend.StartOptions) (backend.Execution, error)
	// PlanFunc makes a plan; nil fails.
	PlanFunc      func(ctx context.Context, req contract.DeployRequest) (*report.Report, error)
	InstanceList  map[string][]backend.Instance
	HintValue     report.Hints
	TimingsFunc   func(ctx context.Context, d ledger.Deployment) ([]report.StageTiming, error)
	ResumeErr     error
	PublishedMeta contract.Artifact
	// Values is what ConfigStore returns; nil fails.
	Values appconfig.Store

	mu        sync.Mutex
	Started   []Started
	Resumed   []ledger.Approval
	Pushed    []trigger.GitPush
	Published map[string][]byte
	// Provenance are the records published with them, by version.
	Provenance map[string]provenance.Record
}

// Started is one Start call.
type Started struct {
	Machine, Name string
	Input         []byte
	Wait          bool
}

var _ backend.Backend = (*Fake)(nil)

// New returns a fake for app shop with staging and production (production
// is production), its ledger in a temporary directory.
func New(t testing.TB) *Fake {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &Fake{
		Cfg:   &config.Config{App: "shop", Environments: map[string]config.Environment{"staging": {}, "production": {Production: true}}},
		Store: s, Who: "ada", Published: map[string][]byte{}, Provenance: map[string]provenance.Record{},
	}
}

// Open returns f, for Options.Backend and Factory.Backend.
func (f *Fake) Open(context.Context) (backend.Backend, error) { return f, nil }

// Local reports IsLocal.
func (f *Fake) Local() bool { return f.IsLocal }

// Describe names the fake.
func (f *Fake) Describe() string { return "the test backend" }

// Config is Cfg.
func (f *Fake) Config() *config.Config { return f.Cfg }

// Ledger is Store.
func (f *Fake) Ledger() backend.Ledger { return f.Store }

// Artifacts records publications.
func (f *Fake) Artifacts() (backend.Artifacts, error) { return fakeArtifacts{f}, nil }

type fakeArtifacts struct{ f *Fake }

func (a fakeArtifacts) Stat(_ context.Context, app, version string) (contract.Artifact, error) {
	a.f.mu.Lock()
	defer a.f.mu.Unlock()
	b, ok := a.f.Published[version]
	if !ok {
		return contract.Artifact{}, &artifact.NotFoundError{App: app, Version: version, Where: "the test store"}
	}
	return contract.Artifact{URI: "mem://" + app + "/" + version, SHA256: bundle.SHA256(b), Size: int64(len(b))}, nil
}

func (a fakeArtifacts) Publish(_ context.Context, app, version string, data []byte) (contract.Artifact, error) {
	a.f.mu.Lock()
	defer a.f.mu.Unlock()
	a.f.Published[version] = data
	return contract.Artifact{URI: "mem://" + app + "/" + version, SHA256: bundle.SHA256(data), Size: int64(len(data))}, nil
}

func (a fakeArtifacts) Fetch(_ context.Context, m contract.Artifact) ([]byte, error) {
	a.f.mu.Lock()
	defer a.f.mu.Unlock()
	for v, b := range a.f.Published {
		if m.URI == "mem://"+a.f.Cfg.App+"/"+v {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s is not in the test store", m.URI)
}

func (a fakeArtifacts) PutProvenance(_ context.Context, _, version string, r provenance.Record) error {
	a.f.mu.Lock()
	defer a.f.mu.Unlock()
	a.f.Provenance[version] = r
	return nil
}

func (a fakeArtifacts) Provenance(_ context.Context, _, version string) (*provenance.Record, error) {
	a.f.mu.Lock()
	defer a.f.mu.Unlock()
	if r, ok := a.f.Provenance[version]; ok {
		return &r, nil
	}
	return nil, nil
}

// Start records the call and runs StartFunc.
func (f *Fake) Start(ctx context.Context, machine, name string, input []byte, opts backend.StartOptions) (backend.Execution, error) {
	f.mu.Lock()
	f.Started = append(f.Started, Started{Machine: machine, Name: name, Input: input, Wait: opts.Wait})
	f.mu.Unlock()
	if f.StartFunc == nil {
		return backend.Execution{}, fmt.Errorf("start %s: the test set no StartFunc", name)
	}
	return f.StartFunc(ctx, machine, name, input, opts)
}

// Resume records the approval.
func (f *Fake) Resume(_ context.Context, a ledger.Approval) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Resumed = append(f.Resumed, a)
	return f.ResumeErr
}

// Identity is Who.
func (f *Fake) Identity(context.Context) (string, error) { return f.Who, nil }

// Plan runs PlanFunc.
func (f *Fake) Plan(ctx context.Context, req contract.DeployRequest) (*report.Report, error) {
	if f.PlanFunc == nil {
		return nil, fmt.Errorf("plan: the test set no PlanFunc")
	}
	return f.PlanFunc(ctx, req)
}

// Instances returns InstanceList[env].
func (f *Fake) Instances(_ context.Context, env string) ([]backend.Instance, error) {
	return f.InstanceList[env], nil
}

// Hints is HintValue.
func (f *Fake) Hints(string) report.Hints { return f.HintValue }

// Timings runs TimingsFunc, or returns nil.
func (f *Fake) Timings(ctx context.Context, d ledger.Deployment) ([]report.StageTiming, error) {
	if f.TimingsFunc == nil {
		return nil, nil
	}
	return f.TimingsFunc(ctx, d)
}

// Reconcile closes nothing: the fake's records are as seeded.
func (f *Fake) Reconcile(context.Context, string) ([]string, error) { return nil, nil }

// ConfigStore returns Values.
func (f *Fake) ConfigStore() (appconfig.Store, error) {
	if f.Values == nil {
		return nil, fmt.Errorf("fake: no configuration store: %w", backend.ErrNotSupported)
	}
	return f.Values, nil
}

// PutPushEvent records the event.
func (f *Fake) PutPushEvent(_ context.Context, p trigger.GitPush) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Pushed = append(f.Pushed, p)
	return nil
}

// Close does nothing; the ledger closes when the test ends.
func (f *Fake) Close() error { return nil }

// Finish is a StartFunc that records the deployment as ended with status,
// error and cause, as Record would, and says the execution ended.
func (f *Fake) Finish(status, errName, cause string) func(context.Context, string, string, []byte, backend.StartOptions) (backend.Execution, error) {
	return func(ctx context.Context, machine, name string, input []byte, opts backend.StartOptions) (backend.Execution, error) {
		kind := contract.KindDeploy
		if machine == backend.MachineRollback {
			kind = contract.KindRollback
		}
		var req contract.DeployRequest
		_ = jsonUnmarshal(input, &req)
		d := ledger.Deployment{ID: name, App: f.Cfg.App, Environment: req.Environment, Version: req.Version, Kind: kind, Status: status,
			Trigger: req.Trigger, StartedAt: T0, FinishedAt: T0.Add(12e9), Error: errName, Cause: cause, Summary: "test: " + status,
			SchemaBefore: -1, SchemaAfter: -1}
		if err := f.Store.PutDeployment(ctx, d); err != nil {
			return backend.Execution{}, err
		}
		if opts.Progress != nil {
			opts.Progress(backend.Event{Kind: backend.EventStep, At: T0, Stage: "preflight", Status: "ok", Message: "test step"})
			opts.Progress(backend.Event{Kind: backend.EventStage, At: T0, Stage: "preflight", Status: "ok", Duration: 1e9})
		}
		exStatus := "SUCCEEDED"
		if status != contract.StatusSucceeded && !(kind == contract.KindRollback && status == contract.StatusRolledBack) {
			exStatus = "FAILED"
		}
		return backend.Execution{Name: name, ARN: "arn:test:" + name, Status: exStatus, Error: errName, Cause: cause}, nil
	}
}
