package localenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/freeport"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/hostconfig"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/schema"
	"github.com/slipway-deploy/slipway/internal/secret"
	snapshotlocal "github.com/slipway-deploy/slipway/internal/snapshot/local"
	"github.com/slipway-deploy/slipway/internal/traffic"
	"github.com/slipway-deploy/slipway/internal/traffic/balancer"
	"github.com/slipway-deploy/slipway/scripts"
)

// Options shape a new embedded environment.
type Options struct {
	App          string
	Environments []string // default: staging
	Instances    int      // per environment; default 3
	// Balancer puts each environment behind the embedded load balancer
	// (internal/traffic/balancer): a target group and a listener named
	// after it, its TargetGroups set, Deps.Traffic on it.
	Balancer bool
	// BlueGreen (which implies Balancer) splits each environment's
	// instances in two sides, blue and green (the larger half blue when
	// their number is odd; at least 2 instances, default 4), tags each
	// instance with its side (slipway:side), gives each side a target
	// group (<env>-blue, <env>-green) with its instances registered, and
	// a listener <env> forwarding everything to green, so that the first
	// deployment goes to blue. It writes each environment's blue_green
	// configuration (and no target_groups: the sides are not rolled in
	// place).
	BlueGreen bool
	// Database, when set, is a PostgreSQL or MySQL/MariaDB server URL
	// (ParseServer): each environment gets a database of its own there,
	// created by Init (DatabaseName) and dropped by Down, instead of a
	// SQLite file.
	Database string
	// DatabasePrefix replaces the databases' names' prefix,
	// slipway_<app>_ (tests use a random one).
	DatabasePrefix string
}

// Env is an open embedded environment.
type Env struct {
	Root      string
	Config    *config.Config
	Ledger    *ledgersqlite.Store
	Artifacts *artifact.Dir
	Fleet     *fleet.Local
	Secrets   *secret.File
	Alarms    *health.AlarmFile
	Deps      *pipeline.Deps
	// InitNotes are what Init did that its caller should say (a database
	// left behind by a removed directory, dropped and created again).
	InitNotes []string
}

// ConfigFile is the configuration's name in the state directory.
const ConfigFile = "slipway.json"

// ErrNotInitialized is returned by Open for a directory without an environment.
var ErrNotInitialized = errors.New("no embedded environment here")

// Init creates an embedded environment in root (which may exist and must
// not hold one already) and opens it.
func Init(root string, opts Options) (_ *Env, err error) {
	if opts.App == "" {
		return nil, errors.New("init embedded environment: app is empty")
	}
	if len(opts.Environments) == 0 {
		opts.Environments = []string{"staging"}
	}
	if opts.Instances <= 0 {
		opts.Instances = 3
		if opts.BlueGreen {
			opts.Instances = 4
		}
	}
	if opts.BlueGreen {
		if opts.Instances < 2 {
			return nil, fmt.Errorf("init embedded environment: blue/green needs at least 2 instances per environment (one per side), not %d", opts.Instances)
		}
		opts.Balancer = true
	}
	if _, err := os.Stat(filepath.Join(root, ConfigFile)); err == nil {
		return nil, fmt.Errorf("init embedded environment: %s already holds one; remove the directory or use it as is", root)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("init embedded environment: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	var servers map[string]secret.Database
	var notes []string
	if opts.Database != "" {
		srv, err := ParseServer(opts.Database)
		if err != nil {
			return nil, fmt.Errorf("init embedded environment: %w", err)
		}
		ctx := context.Background()
		dbs, dbNotes, err := createDatabases(ctx, srv, abs, opts.DatabasePrefix, opts.App, opts.Environments)
		if err != nil {
			return nil, fmt.Errorf("init embedded environment: %w", err)
		}
		notes = dbNotes
		servers = dbs
		// Init failed after creating them: drop them again.
		defer func() {
			if err == nil {
				return
			}
			if admin, aerr := srv.openAdmin(ctx); aerr == nil {
				for _, d := range dbs {
					srv.drop(ctx, admin, d.DBName)
				}
				admin.Close()
			}
			os.Remove(filepath.Join(abs, databasesFile))
		}()
		if err := writeDatabasesRecord(abs, srv, dbs); err != nil {
			return nil, fmt.Errorf("init embedded environment: %w", err)
		}
	}
	cfg := &config.Config{App: opts.App, Environments: map[string]config.Environment{}}
	secrets := &secret.File{Path: filepath.Join(abs, "secrets.json")}
	if err := seedConfig(secrets, opts.App, opts.Environments); err != nil {
		return nil, fmt.Errorf("init embedded environment: %w", err)
	}
	fl := fleet.NewLocal(abs, scripts.HostScript)
	for _, env := range opts.Environments {
		db, ok := servers[env]
		if !ok {
			db = secret.Database{Engine: "sqlite", Path: filepath.Join(abs, "db", env+".db")}
			if err := os.MkdirAll(filepath.Dir(db.Path), 0o755); err != nil {
				return nil, err
			}
		}
		name := "slipway/" + opts.App + "/" + env + "/database"
		if err := secrets.Put(name, databaseSecret(db)); err != nil {
			return nil, err
		}
		cfg.Environments[env] = config.Environment{Production: env == "production", DatabaseSecret: name}
		port, err := freeport.Range(opts.Instances)
		if err != nil {
			return nil, fmt.Errorf("init embedded environment: find free ports: %w", err)
		}
		if err := fl.Provision(env, opts.Instances, port, hostEnv(opts.App, db)); err != nil {
			return nil, fmt.Errorf("init embedded environment: provision %s: %w", env, err)
		}
	}
	if opts.Balancer {
		ctx := context.Background()
		instances := func(env string) ([]traffic.Target, error) {
			insts, err := fl.Instances(ctx, env)
			if err != nil {
				return nil, err
			}
			addrs := map[string]string{}
			for _, i := range insts {
				addrs[i.ID] = i.Address
			}
			return targetsOf(addrs)
		}
		setGroups := func(env string, groups []string, endpoint string) {
			c := cfg.Environments[env]
			c.TargetGroups, c.Endpoint = groups, endpoint
			cfg.Environments[env] = c
		}
		if opts.BlueGreen {
			c, err := balancer.Start(ctx, balancerDir(abs))
			if err != nil {
				return nil, fmt.Errorf("init embedded environment: load balancer: %w", err)
			}
			for _, env := range opts.Environments {
				bg, err := startBlueGreen(ctx, c, fl, env)
				if err != nil {
					return nil, fmt.Errorf("init embedded environment: blue/green %s: %w", env, err)
				}
				// The listener's URL: the smoke checks run through it after
				// the last shift step.
				endpoint, err := c.Endpoint(ctx, env)
				if err != nil {
					return nil, fmt.Errorf("init embedded environment: blue/green %s: %w", env, err)
				}
				ec := cfg.Environments[env]
				ec.BlueGreen, ec.Endpoint = bg, endpoint
				cfg.Environments[env] = ec
			}
		} else if err := startBalancer(ctx, abs, opts.Environments, instances, setGroups); err != nil {
			return nil, fmt.Errorf("init embedded environment: load balancer: %w", err)
		}
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(abs, ConfigFile), b, 0o644); err != nil {
		return nil, fmt.Errorf("init embedded environment: %w", err)
	}
	e, err := Open(abs)
	if err != nil {
		return nil, err
	}
	e.InitNotes = notes
	return e, nil
}

// resolverEnv is what the host script needs to resolve a release's
// configuration on an embedded instance: this very binary as the resolver
// (it links internal/hostconfig, which runs the resolver when asked to),
// reading the references from the environment's secrets file.
func resolverEnv(secretsFile string) []string {
	exe, err := os.Executable()
	if err != nil {
		return nil // the host script then refuses a release with configuration, saying no resolver is set
	}
	return []string{"SLIPWAY_CONFIG_RESOLVER=" + exe, hostconfig.MainEnv + "=1", hostconfig.SecretsFileEnv + "=" + secretsFile}
}

// Open opens the embedded environment in root.
func Open(root string) (*Env, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(filepath.Join(abs, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s: run `slipway local init` (or `make demo`) first", ErrNotInitialized, abs)
	}
	if err != nil {
		return nil, err
	}
	led, err := ledgersqlite.Open(filepath.Join(abs, "ledger.db"))
	if err != nil {
		return nil, err
	}
	e := &Env{
		Root: abs, Config: cfg, Ledger: led,
		Artifacts: &artifact.Dir{Root: filepath.Join(abs, "artifacts")},
		Fleet:     fleet.NewLocal(abs, scripts.HostScript),
		Secrets:   &secret.File{Path: filepath.Join(abs, "secrets.json")},
		Alarms:    &health.AlarmFile{Path: filepath.Join(abs, "alarms.json")},
	}
	e.Fleet.ScriptEnv = resolverEnv(e.Secrets.Path)
	e.Deps = &pipeline.Deps{
		Config: cfg, Ledger: led, Artifacts: e.Artifacts, Fleet: localFleet{e.Fleet}, Secrets: e.Secrets,
		ConfigStore: &appconfig.File{Secrets: e.Secrets},
		OpenDB:      migrate.OpenDB,
		// The environment's database decides the snapshot: VACUUM INTO for
		// SQLite, pg_dump or mysqldump for a local PostgreSQL or MySQL.
		Snapshots: func(env string, c config.Environment) (pipeline.Snapshotter, error) {
			v, err := e.Secrets.Get(context.Background(), c.DatabaseSecret)
			if err != nil {
				return nil, err
			}
			db, err := secret.ParseDatabase(c.DatabaseSecret, v)
			if err != nil {
				return nil, err
			}
			return snapshotlocal.New(db, filepath.Join(abs, "snapshots", env))
		},
		Prober:        health.NewProber(2 * time.Second),
		Alarms:        e.Alarms,
		Log:           slog.New(slog.DiscardHandler),
		MigrationPlan: schema.Plan,
		ObserveSchema: schema.Observe,
		// The virtual clock skips the WaitForLock state, so each AcquireLock
		// call waits a few seconds in real time before it answers that it
		// waits (and writes a step saying for whom).
		LockWait: LockPace,
		// Likewise WaitForDrain and WaitForInService: draining and the
		// balancer's health checks take real time.
		TrafficPace: TrafficPace,
		Alive:       e.alive,
	}
	if hasBalancer(abs) {
		e.Deps.Traffic = lazyPort{dir: balancerDir(abs)}
	}
	e.Deps.CanaryMetrics = balancerCanary{dir: balancerDir(abs), cfg: cfg}
	return e, nil
}

// LockPace is how long one AcquireLock call of the embedded environment
// waits, in real time, for another deployment's lease before it answers
// that it waits.
const LockPace = 5 * time.Second

// TrafficPace is how long one CheckDrained or CheckInService call of the
// embedded environment waits, in real time, for the balancer before it
// answers that it still waits.
const TrafficPace = 2 * time.Second

// seedConfig puts in the secrets file the app's configuration fingerprint
// key (appconfig.KeySecretName: 32 random bytes, hex), as the stack does
// in Secrets Manager, and, for the demo app, the secrets its manifest's
// config: section references: a random API token per environment
// (demo/<env>/api-token: under the app's own prefix, which the stack lets
// the instances and Preflight read).
func seedConfig(secrets *secret.File, app string, envs []string) error {
	if err := secrets.Put(appconfig.KeySecretName(app), randomHex(32)); err != nil {
		return err
	}
	if app != "demo" {
		return nil
	}
	for _, env := range envs {
		if err := secrets.Put(DemoTokenSecret(env), randomHex(24)); err != nil {
			return err
		}
	}
	return nil
}

// DemoTokenSecret is the secret the demo app's API_TOKEN comes from in env.
func DemoTokenSecret(env string) string { return "demo/" + env + "/api-token" }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// hostEnv is what an embedded instance's host.env adds for the app: its
// name and its database (appDatabaseEnv).
func hostEnv(app string, db secret.Database) map[string]string {
	m := appDatabaseEnv(db)
	m["SLIPWAY_APP"] = app
	return m
}

// AddInstance adds one instance to env, as an autoscaling group would, and
// returns its id. It has no release until a deployment gives it one.
func (e *Env) AddInstance(ctx context.Context, env string) (string, error) {
	insts, err := e.Fleet.Instances(ctx, env)
	if err != nil {
		return "", err
	}
	if len(insts) == 0 {
		return "", fmt.Errorf("add instance to %s: the environment has no instances", env)
	}
	// The next index after the highest, and a port free now: the ports
	// after the environment's first ones may have been taken since Init.
	next := 0
	for _, i := range insts {
		if n, err := strconv.Atoi(strings.TrimPrefix(i.ID, env+"-")); err == nil && n > next {
			next = n
		}
	}
	id := fmt.Sprintf("%s-%d", env, next+1)
	port, err := freeport.Range(1)
	if err != nil {
		return "", fmt.Errorf("add instance to %s: %w", env, err)
	}
	db, err := e.Database(ctx, env)
	if err != nil {
		return "", fmt.Errorf("add instance to %s: %w", env, err)
	}
	if err := e.Fleet.AddInstance(env, id, port, hostEnv(e.Config.App, db)); err != nil {
		return "", err
	}
	return id, nil
}

// DatabasePath is an environment's SQLite database (when it has one:
// see Database).
func (e *Env) DatabasePath(env string) string { return filepath.Join(e.Root, "db", env+".db") }

// Close closes the ledger. App processes keep running, as they would on
// real hosts; Stop stops them.
func (e *Env) Close() error { return e.Ledger.Close() }

// Stop stops every app process the environment started, its load
// balancer, and closes the ledger.
func (e *Env) Stop(ctx context.Context) error {
	err := e.Fleet.Stop(ctx)
	return errors.Join(err, e.StopBalancer(ctx), e.Close())
}

// Functions lists every function the state machines call.
var Functions = pipeline.Functions

// ARN is the local ARN substituted for a function.
func ARN(name string) string { return "arn:aws:lambda:local:000000000000:function:slipway-" + name }

// Handlers returns the resolver for the embedded engine and the
// substitutions for the definitions' placeholders. Each handler is wrapped
// by aws-lambda-go exactly as the Lambda runtime wraps it, so input and
// output are JSON round-tripped and errors are named as on AWS.
func (e *Env) Handlers() (asl.Resolver, map[string]string) {
	return Resolver(e.Deps, 0)
}

// Resolver wraps pipeline handlers over d exactly as the Lambda runtime
// wraps them, keyed by the local ARNs it also returns as substitutions.
func Resolver(d *pipeline.Deps, healthPort int) (asl.Resolver, map[string]string) {
	fns := pipeline.Handlers(d, healthPort)
	fns["migrate"] = (&schema.Migrate{Deps: d}).Handle
	handlers := asl.Handlers{}
	subs := map[string]string{}
	for _, f := range Functions {
		handlers[ARN(f.Name)] = lambda.NewHandler(fns[f.Name])
		subs[f.Placeholder] = ARN(f.Name)
	}
	return handlers, subs
}

// localFleet adapts the embedded fleet to the pipeline. Every instance of
// an embedded environment is its target, so tags select nothing further,
// except the slipway:side tag of a blue/green environment (SideTag): asked
// for, it selects that side's instances.
//
// Send returns once the command has finished on every instance. On AWS the
// state machine polls SSM between Wait states; the embedded engine skips
// Wait states on its virtual clock, so polling a command that runs in real
// time would spin. With Send synchronous, the first poll finds the final
// result and the definition runs unchanged.
type localFleet struct{ *fleet.Local }

// A command, once sent, runs to its end even if the execution is stopped
// (Ctrl-C): a host is never left between two releases by a stop, and the
// stop is recorded only after the command has finished.
func (f localFleet) Send(ctx context.Context, env string, cmd fleet.Command) (string, error) {
	id, err := f.Local.Send(ctx, env, cmd)
	if err != nil {
		return "", err
	}
	if _, err := f.Local.Wait(context.WithoutCancel(ctx), id); err != nil {
		return id, err
	}
	return id, nil
}

func (f localFleet) Instances(ctx context.Context, env string, tags map[string]string) ([]fleet.Instance, error) {
	all, err := f.Local.Instances(ctx, env)
	if err != nil || tags[SideTag] == "" {
		return all, err
	}
	var out []fleet.Instance
	for _, i := range all {
		if matchTags(i, tags) {
			out = append(out, i)
		}
	}
	return out, nil
}

func (f localFleet) Lookup(ctx context.Context, env string, ids []string) ([]fleet.Instance, error) {
	all, err := f.Local.Instances(ctx, env)
	if err != nil {
		return nil, err
	}
	var out []fleet.Instance
	for _, i := range all {
		if slices.Contains(ids, i.ID) {
			out = append(out, i)
		}
	}
	return out, nil
}
