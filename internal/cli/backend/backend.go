package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/report"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

// Machines a backend starts.
const (
	MachineDeploy   = trigger.MachineDeploy
	MachineRollback = trigger.MachineRollback
)

// Backend is where commands act.
type Backend interface {
	// Local reports whether this is the embedded environment.
	Local() bool
	// Describe names the backend for messages: "the embedded environment
	// in .slipway/local", "AWS (eu-west-1, table slipway-demo)".
	Describe() string
	// Config is the app's Slipway configuration: its name and environments.
	Config() *config.Config
	// Ledger is the deployment ledger.
	Ledger() Ledger
	// Artifacts is the release store.
	Artifacts() (Artifacts, error)
	// Start starts an execution of machine named name (which is also the
	// deployment's id). With opts.Wait it follows the execution to its end,
	// sending opts.Progress what happens; the embedded engine runs in this
	// process, so locally Start always waits.
	Start(ctx context.Context, machine, name string, input []byte, opts StartOptions) (Execution, error)
	// Resume completes a decided approval's task token, so that the
	// waiting execution goes on (approved) or fails with Rejected. Locally
	// the running deployment reads the decision from the ledger itself.
	Resume(ctx context.Context, a ledger.Approval) error
	// Identity names the person running the command: the AWS caller, or
	// the local user.
	Identity(ctx context.Context) (string, error)
	// Plan works out what deploying req would do, changing nothing.
	Plan(ctx context.Context, req contract.DeployRequest) (*report.Report, error)
	// Instances lists an environment's instances and, where it can be read
	// without a command, the release each serves.
	Instances(ctx context.Context, env string) ([]Instance, error)
	// Hints say where the dashboards, log groups and full command output
	// of the backend are.
	Hints(env string) report.Hints
	// Timings reads a finished execution's per-stage timings from its
	// history; nil where the history is not kept (the embedded engine's
	// ends with its process).
	Timings(ctx context.Context, d ledger.Deployment) ([]report.StageTiming, error)
	// Reconcile closes the records of an environment's deployments whose
	// owner is gone, from what the fleet is observed to be, and returns
	// their ids, so that nothing dead shows as RUNNING. Locally it finds
	// the killed processes; on AWS the execution-status rule's closer does
	// it, and Reconcile closes nothing.
	Reconcile(ctx context.Context, env string) ([]string, error)
	// PutPushEvent puts the slipway.git "Git Push" event on the default
	// event bus, as CI does after publishing a release.
	PutPushEvent(ctx context.Context, p trigger.GitPush) error
	// ConfigStore reads the values the manifest's config: section
	// references: the local secrets file, or SSM Parameter Store and
	// Secrets Manager with the caller's credentials.
	ConfigStore() (appconfig.Store, error)
	// Close releases what the backend opened.
	Close() error
}

// Ledger is the part of the ledger the commands use.
type Ledger interface {
	GetDeployment(ctx context.Context, id string) (ledger.Deployment, error)
	ListDeployments(ctx context.Context, app, env string, limit int) ([]ledger.Deployment, error)
	AddStep(ctx context.Context, st ledger.Step) error
	Steps(ctx context.Context, deploymentID string) ([]ledger.Step, error)
	InstanceResults(ctx context.Context, deploymentID string) ([]ledger.InstanceResult, error)
	Locks(ctx context.Context, app, env string) ([]ledger.Lock, error)
	Freeze(ctx context.Context, app, env, owner, message string, now time.Time) error
	Unfreeze(ctx context.Context, app, env string) (bool, error)
	BreakLease(ctx context.Context, app, env string) (ledger.Lock, bool, error)
	AddEvent(ctx context.Context, e ledger.Event) error
	Events(ctx context.Context, app, env string, limit int) ([]ledger.Event, error)
	GetPending(ctx context.Context, app, env string) (ledger.Pending, bool, error)
	GetApproval(ctx context.Context, app, env, deploymentID string) (ledger.Approval, error)
	DecideApproval(ctx context.Context, app, env, deploymentID, decision, by, reason string, now time.Time) (ledger.Approval, error)
	Approvals(ctx context.Context, app, env string) ([]ledger.Approval, error)
}

// Artifacts is the release store.
type Artifacts interface {
	Stat(ctx context.Context, app, version string) (contract.Artifact, error)
	Publish(ctx context.Context, app, version string, data []byte) (contract.Artifact, error)
	// Fetch reads a published bundle's bytes (Stat gives a).
	Fetch(ctx context.Context, a contract.Artifact) ([]byte, error)
	// PutProvenance and Provenance keep a release's provenance record
	// beside its bundle.
	artifact.ProvenanceStore
}

// StartOptions shape Start.
type StartOptions struct {
	// Wait follows the execution to its end.
	Wait bool
	// Progress receives what happens while Start follows the execution.
	Progress func(Event)
	// Waves asks Progress for EventWave too: the instance results are
	// read while a rollout or a rollback runs.
	Waves bool
	// Poll is how often AWS is asked; default 2s.
	Poll time.Duration
}

// Execution is a started execution, and how it ended if Start waited.
type Execution struct {
	// Name is the execution's name, which is also the deployment's id.
	Name string
	ARN  string
	// Status is RUNNING, or how it ended: SUCCEEDED, FAILED, TIMED_OUT,
	// ABORTED.
	Status       string
	Error, Cause string
	StartDate    time.Time
	StopDate     time.Time
}

// Instance is an instance of an environment.
type Instance struct {
	ID     string `json:"id"`
	Online bool   `json:"online"`
	// Serves is the release it serves; "" when it serves none or that
	// cannot be read without a command (AWS).
	Serves string `json:"serves,omitempty"`
}

// ErrNotSupported is returned for what a backend cannot do.
var ErrNotSupported = errors.New("not supported here")

// MissingSettingError names a setting the AWS backend needs.
type MissingSettingError struct {
	// Name is the environment variable, Flag the flag that sets it too.
	Name, Flag string
	// What it is, and where to find it.
	What, Where string
}

func (e *MissingSettingError) Error() string {
	set := e.Name
	if e.Flag != "" {
		set = fmt.Sprintf("%s (or %s)", e.Name, e.Flag)
	}
	return fmt.Sprintf("%s is not set: it is %s", set, e.What)
}

// Hint says where to find the setting.
func (e *MissingSettingError) Hint() string { return e.Where }

// Options select and configure a backend.
type Options struct {
	// Local selects the embedded environment: LocalDir, else
	// $SLIPWAY_LOCAL_DIR, else one found from Getwd, else DefaultLocalDir.
	// Without it, LocalDir, $SLIPWAY_LOCAL_DIR or a found directory still
	// select it (Resolve); NoLocal (--local=false) selects AWS regardless.
	Local, NoLocal bool
	LocalDir       string
	// Getwd, when set, lets Resolve look for .slipway/local from the
	// working directory up.
	Getwd func() (string, error)
	// ConfigFile is the Slipway configuration (JSON, as internal/config
	// reads it); it overrides SLIPWAY_CONFIG.
	ConfigFile string
	// Region and Profile override the SDK's own resolution.
	Region, Profile string
	// Getenv reads environment variables; os.Getenv when nil.
	Getenv func(string) string
}

// Environment variables. The ones the functions read too are the
// functions' own names (internal/lambdaenv), so that the CLI pointed at a
// stack reads the settings the stack gives its functions.
const (
	EnvLocalDir        = "SLIPWAY_LOCAL_DIR"
	EnvConfig          = config.EnvVar
	EnvTable           = lambdaenv.Table
	EnvArtifactBucket  = lambdaenv.ArtifactBucket
	EnvDeployMachine   = lambdaenv.DeployStateMachine
	EnvRollbackMachine = lambdaenv.RollbackStateMachine
	EnvOutputBucket    = lambdaenv.OutputBucket
	EnvOutputLogGroup  = lambdaenv.OutputLogGroup
	EnvHealthPort      = lambdaenv.HealthPort
	EnvDeadLetterQueue = "SLIPWAY_DEAD_LETTER_QUEUE"
)

// DefaultLocalDir is the embedded environment's state directory by default.
const DefaultLocalDir = ".slipway/local"

// Open opens the backend opts select (Resolve).
func Open(ctx context.Context, opts Options) (Backend, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if t := Resolve(opts); t.Local {
		env, err := localenv.Open(t.Dir)
		if err != nil {
			return nil, err
		}
		return NewLocal(env, true), nil
	}
	return OpenAWS(ctx, opts)
}

// ExecutionName returns a unique execution name (and deployment id) such
// as staging-v2-20261126T011500Z-3f9a.
func ExecutionName(env, version string) string { return localenv.ExecutionName(env, version) }

// Who returns the name to record for the person running a command: as,
// else the backend's identity, else $USER.
func Who(ctx context.Context, b Backend, as string) string {
	if as = strings.TrimSpace(as); as != "" {
		return as
	}
	if id, err := b.Identity(ctx); err == nil && id != "" {
		return id
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
