package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/loadgen"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// Options shape a demo run.
type Options struct {
	// Root is the state directory; it is emptied first.
	Root string
	// AppDir is examples/demo-app.
	AppDir string
	// Out receives the progress lines and the summary.
	Out io.Writer
	// Instances is the fleet size (default 3).
	Instances int
	// Keep leaves the apps running at the end instead of stopping them.
	Keep bool
	// Database, when set, is a PostgreSQL or MySQL/MariaDB server URL: the
	// staging database is created there (localenv.Options.Database)
	// instead of a SQLite file.
	Database string
	// DatabasePrefix replaces the database name's prefix (tests).
	DatabasePrefix string
	// Deploy deploys each release (required).
	Deploy Deployer
}

// Deployer deploys version to env's staging environment, printing its
// progress to out, and waits for the execution to end. `slipway demo`
// passes `slipway deploy --local`'s own code.
type Deployer func(ctx context.Context, env *localenv.Env, out io.Writer, version string) (Deployed, error)

// Deployed is what a Deployer returns: the ledger's final record and the
// execution's error and cause. Recorded is false when there is no final
// record (the execution failed before Record wrote it).
type Deployed struct {
	Deployment ledger.Deployment
	Recorded   bool
	Error      string
	Cause      string
}

// Step is one deployment of the scenario and the status it must end with.
type Step struct {
	Version string
	Want    string
}

// Scenario is what the demo deploys, in order.
var Scenario = []Step{
	{"v1", contract.StatusSucceeded},
	{"v2", contract.StatusSucceeded},
	{"v3", contract.StatusRolledBack},
}

// Outcome is one deployment's result.
type Outcome struct {
	Version      string
	DeploymentID string
	Status       string
	Want         string
	Error        string
	Summary      string
	// Traffic is what the load sent through the environment's endpoint
	// during the deployment counted (nil: the environment has no
	// endpoint, so no load was sent).
	Traffic *loadgen.Result
}

// endpointer is the embedded environment with a load balancer in front of
// each environment's instances.
type endpointer interface {
	Endpoint(env string) (string, error)
}

// trafficEndpoint returns the URL the load goes to: the environment's load
// balancer endpoint, or "" when it has none.
func trafficEndpoint(env any, name string) string {
	e, ok := env.(endpointer)
	if !ok {
		return ""
	}
	u, err := e.Endpoint(name)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u, "/") + "/"
}

// TrafficPace is the pace of each of the demo's two load workers: a
// request every 5 ms.
const TrafficPace = 5 * time.Millisecond

// Run runs the scenario and returns each deployment's outcome. The error is
// non-nil when something could not run or an outcome is not the expected one.
func Run(ctx context.Context, opts Options) ([]Outcome, error) {
	if opts.Deploy == nil {
		return nil, errors.New("run the demo scenario: Options.Deploy is nil")
	}
	if opts.Instances <= 0 {
		opts.Instances = 3
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	start := time.Now()
	logf := func(format string, a ...any) {
		fmt.Fprintf(opts.Out, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, a...)...)
	}
	// An earlier run's environment is taken down first: its processes
	// stopped, the databases it created on a server dropped.
	if _, err := os.Stat(filepath.Join(opts.Root, localenv.ConfigFile)); err == nil {
		if _, err := localenv.Down(ctx, opts.Root); err != nil {
			return nil, fmt.Errorf("clean %s: %w", opts.Root, err)
		}
	}
	if err := os.RemoveAll(opts.Root); err != nil {
		return nil, fmt.Errorf("clean %s: %w", opts.Root, err)
	}
	env, err := localenv.Init(opts.Root, localenv.Options{App: "demo", Environments: []string{"staging"}, Instances: opts.Instances, Balancer: true,
		Database: opts.Database, DatabasePrefix: opts.DatabasePrefix})
	if err != nil {
		return nil, err
	}
	for _, n := range env.InitNotes {
		logf("%s", n)
	}
	defer func() {
		if opts.Keep {
			env.Close()
			return
		}
		if err := env.Stop(context.Background()); err != nil {
			fmt.Fprintf(opts.Out, "stop the embedded fleet: %v\n", err)
		}
	}()
	dbDesc := "SQLite database"
	if d, err := env.Database(ctx, "staging"); err == nil && d.Family() != "sqlite" {
		dbDesc = "database " + d.String()
	}
	logf("embedded environment in %s: %d instances of demo/staging, %s, local ledger", opts.Root, opts.Instances, dbDesc)

	// Absolute: BuildRelease runs go build in the app's directory, where a
	// relative output path would land.
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	work := filepath.Join(root, "build")
	for i, s := range Scenario {
		what := ""
		if i == 0 {
			what = " (the first time, go build compiles the app's dependencies too)"
		}
		logf("building release %s: go build of %s%s", s.Version, opts.AppDir, what)
		data, err := BuildRelease(ctx, opts.AppDir, s.Version, work, BuildOptions{})
		if err != nil {
			return nil, err
		}
		meta, err := env.Artifacts.Publish(ctx, "demo", s.Version, data)
		if err != nil {
			return nil, err
		}
		logf("published release %s (%d KiB, sha256 %.12s…)", s.Version, meta.Size>>10, meta.SHA256)
	}

	endpoint := trafficEndpoint(env, "staging")
	if endpoint != "" {
		logf("load: 2 clients, a request every %s each, through the staging endpoint %s", TrafficPace, endpoint)
	}
	var outcomes []Outcome
	var failed []string
	// deploying is the time the deployments took: the summary's, without
	// the environment's set-up and the builds before them.
	var deploying time.Duration
	before := "" // the release the fleet serves between deployments
	for _, s := range Scenario {
		fmt.Fprintf(opts.Out, "\n")
		logf("── slipway deploy --local --env staging --version %s (expect %s) ──", s.Version, s.Want)
		// Load through the endpoint for the whole deployment; it counts
		// from the first answer, so before v1 nothing is held against it.
		var load *loadgen.Run
		if endpoint != "" {
			// Only the release serving before and the one deployed may
			// answer. Before v1 nothing serves: the load counts from the
			// first answer.
			versions := []string{s.Version}
			if before != "" {
				versions = []string{before, s.Version}
			}
			load, err = loadgen.Start(ctx, loadgen.Options{URLs: []string{endpoint}, Workers: 2, Interval: TrafficPace, Versions: versions})
			if err != nil {
				return outcomes, err
			}
		}
		began := time.Now()
		res, err := opts.Deploy(ctx, env, opts.Out, s.Version)
		deploying += time.Since(began)
		var traffic *loadgen.Result
		if load != nil {
			r := load.Stop()
			traffic = &r
			logf("Traffic: %s", r)
			if r.Failed > 0 {
				failed = append(failed, fmt.Sprintf("%d of %d requests to %s failed during the deployment of %s: %s", r.Failed, r.Requests, endpoint, s.Version, r.Detail()))
			}
		}
		if !res.Recorded {
			if err == nil {
				err = fmt.Errorf("deployment of %s left no final record", s.Version)
			}
			return outcomes, err
		}
		d := res.Deployment
		o := Outcome{Version: s.Version, DeploymentID: d.ID, Status: d.Status, Want: s.Want, Error: res.Error, Summary: d.Summary, Traffic: traffic}
		outcomes = append(outcomes, o)
		if d.Status == contract.StatusSucceeded {
			before = s.Version
		}
		if d.Status != s.Want {
			failed = append(failed, fmt.Sprintf("%s ended %s, want %s (%s %s)", s.Version, d.Status, s.Want, res.Error, res.Cause))
		}
	}

	fmt.Fprintf(opts.Out, "\nDeployments (%s deploying; %s with the set-up and the builds):\n", deploying.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
	for _, o := range outcomes {
		line := fmt.Sprintf("  %-4s %-16s %s", o.Version, o.Status, o.DeploymentID)
		if o.Traffic != nil {
			line += "  Traffic: " + o.Traffic.String()
		}
		fmt.Fprintln(opts.Out, line)
	}
	serving, err := servingVersions(ctx, env)
	if err != nil {
		return outcomes, err
	}
	fmt.Fprintf(opts.Out, "Instances serve: %s\n", strings.Join(serving, ", "))
	if len(failed) > 0 {
		return outcomes, errors.New("unexpected outcome: " + strings.Join(failed, "; "))
	}
	return outcomes, nil
}

func servingVersions(ctx context.Context, env *localenv.Env) ([]string, error) {
	insts, err := env.Fleet.Instances(ctx, "staging")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, i := range insts {
		v, err := env.Fleet.Current("staging", i.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, i.ID+"="+v)
	}
	return out, nil
}
