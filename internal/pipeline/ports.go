package pipeline

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"time"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/notify"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// Ledger records deployments and holds the environment lock.
type Ledger interface {
	PutDeployment(ctx context.Context, d ledger.Deployment) error
	GetDeployment(ctx context.Context, id string) (ledger.Deployment, error)
	UpdateDeployment(ctx context.Context, id string, fn func(*ledger.Deployment) error) (ledger.Deployment, error)
	ListDeployments(ctx context.Context, app, env string, limit int) ([]ledger.Deployment, error)
	AddStep(ctx context.Context, st ledger.Step) error
	Steps(ctx context.Context, deploymentID string) ([]ledger.Step, error)
	AddEvent(ctx context.Context, e ledger.Event) error
	PutInstanceResults(ctx context.Context, results []ledger.InstanceResult) error
	InstanceResults(ctx context.Context, deploymentID string) ([]ledger.InstanceResult, error)
	AcquireLease(ctx context.Context, app, env, owner, deploymentID string, ttl time.Duration, now time.Time) (ledger.Lock, error)
	ReleaseLease(ctx context.Context, app, env, owner string) (bool, error)
	GetPending(ctx context.Context, app, env string) (ledger.Pending, bool, error)
	ClearPending(ctx context.Context, app, env, version string) (bool, error)
	PutApproval(ctx context.Context, a ledger.Approval) error
}

// Notifier tells people: SNS on AWS, the terminal locally.
type Notifier interface {
	Notify(ctx context.Context, m notify.Message) error
}

// Artifacts finds and fetches release bundles.
type Artifacts interface {
	Stat(ctx context.Context, app, version string) (contract.Artifact, error)
	Fetch(ctx context.Context, a contract.Artifact) ([]byte, error)
}

// Fleet resolves instances and runs the host script on them.
type Fleet interface {
	Instances(ctx context.Context, env string, tags map[string]string) ([]fleet.Instance, error)
	// Lookup returns the named instances (for their addresses).
	Lookup(ctx context.Context, env string, ids []string) ([]fleet.Instance, error)
	Send(ctx context.Context, env string, cmd fleet.Command) (string, error)
	Status(ctx context.Context, commandID string) (fleet.CommandResult, error)
}

// Snapshotter snapshots one environment's database.
type Snapshotter interface {
	Create(ctx context.Context, id string) (string, error)
	Status(ctx context.Context, id string) (string, error)
	RestoreProcedure(id string) string
}

// Prober probes one instance over HTTP.
type Prober interface {
	Probe(ctx context.Context, instanceID, addr, path string, expectStatus int, expectVersion string) health.Result
}

// Alarms reads alarm states.
type Alarms interface {
	States(ctx context.Context, names []string) ([]health.Alarm, error)
}

// DBOpener opens a database described by a secret.
type DBOpener func(ctx context.Context, db secret.Database) (*sql.DB, error)

// Deps are what the handlers run on. A Lambda fills in only what its
// handler uses.
type Deps struct {
	Config    *config.Config
	Ledger    Ledger
	Artifacts Artifacts
	Fleet     Fleet
	Secrets   secret.Store
	// ConfigStore reads what the manifest's config: section references
	// (SSM Parameter Store and Secrets Manager on AWS, the local secrets
	// file embedded), for Preflight's configuration check and fingerprint.
	// Nil where no stage needs it; Preflight then refuses a release that
	// declares configuration.
	ConfigStore appconfig.Store
	OpenDB      DBOpener
	// Snapshots returns the snapshotter for an environment's database.
	Snapshots func(env string, cfg config.Environment) (Snapshotter, error)
	Prober    Prober
	Alarms    Alarms
	Notifier  Notifier
	// CanaryMetrics reads what instances served, for the canary analysis
	// (the embedded balancer's counters, CloudWatch on AWS); nil where
	// nothing reads them: Preflight then refuses a release with one.
	CanaryMetrics CanaryMetrics
	// Traffic is the load balancer of the environments that name target
	// groups (ELBv2 on AWS, the embedded balancer locally); nil where none
	// does.
	Traffic traffic.Port
	// TrafficPace is how long one CheckDrained or CheckInService call
	// itself waits, in real time, for the balancer before it answers that
	// it still waits. Zero on AWS, where the state machine's Wait states
	// pace the loop; the embedded engine's clock skips Wait states, and
	// draining and health checks take real time.
	TrafficPace time.Duration
	// InServiceWait bounds how long a wave put back waits for the
	// balancer to report it healthy (DefaultInServiceWait when zero).
	InServiceWait time.Duration
	Now           func() time.Time
	Log           *slog.Logger
	// MigrationPlan compares a release's migrations with an environment's
	// database and runs the migration gate (internal/schema.Plan), over the
	// Deps it is given (a plan's are read-only). It is a function, not an
	// import, so that only the functions that touch the database link the
	// SQL parsers and drivers.
	MigrationPlan func(ctx context.Context, d *Deps, env string, b *bundle.Bundle) (contract.MigrationPlan, error)
	// LockWait is how long one AcquireLock call itself waits, in real
	// time, for another deployment's lease to free before it answers that
	// it waits. Zero on AWS, where the state machine's Wait state paces the
	// loop; the embedded engine's clock skips Wait states, so the handler
	// paces it there.
	LockWait time.Duration
	// Alive reports whether the owner of a running deployment is still
	// there: locally, its process; on AWS, its execution. Nil means owners
	// are taken to be alive (their leases expire).
	Alive func(ctx context.Context, d ledger.Deployment) (bool, error)
	// ObserveSchema reads an environment's schema version (the migrate
	// function's observe action), for closing an unfinished deployment's
	// record; nil where the database is out of reach.
	ObserveSchema func(ctx context.Context, d *Deps, env string) contract.SchemaObservation
	// SettleWait bounds how long closing an unfinished deployment waits for
	// its host commands that are still running, and for the observation.
	SettleWait time.Duration
	// Metrics, when set, receives one CloudWatch embedded-metric-format
	// line per deployment Record closes (Record's emitMetrics): on AWS the
	// record function's stdout, which CloudWatch Logs turns into metrics.
	Metrics io.Writer

	bundles bundleCache
}

func (d *Deps) Time() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deps) Logger() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}
