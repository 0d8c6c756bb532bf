package backend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/report"
	"github.com/slipway-deploy/slipway/internal/trigger"
	"github.com/slipway-deploy/slipway/statemachine"
)

// Local is the embedded environment: executions run in this process, on
// the embedded engine, against the environment's state directory.
type Local struct {
	env *localenv.Env
	own bool
	// RealTime makes Wait states and retries really wait (default: the
	// engine's virtual clock).
	RealTime bool
}

var _ Backend = (*Local)(nil)

// NewLocal returns the backend over env. With own, Close closes env's
// ledger; the apps keep running, as on real hosts.
func NewLocal(env *localenv.Env, own bool) *Local { return &Local{env: env, own: own} }

// Env is the embedded environment.
func (l *Local) Env() *localenv.Env { return l.env }

// Endpoint is the URL serving env through the embedded load balancer, or
// "" when the environment has none.
func (l *Local) Endpoint(_ context.Context, env string) (string, error) {
	if !l.env.HasBalancer() {
		return "", nil
	}
	return l.env.Endpoint(env)
}

// Local reports true.
func (l *Local) Local() bool { return true }

// Describe names the state directory.
func (l *Local) Describe() string { return "the embedded environment in " + relative(l.env.Root) }

// Config is the environment's configuration.
func (l *Local) Config() *config.Config { return l.env.Config }

// Ledger is the SQLite ledger.
func (l *Local) Ledger() Ledger { return l.env.Ledger }

// Artifacts is the local release folder.
func (l *Local) Artifacts() (Artifacts, error) { return l.env.Artifacts, nil }

// Start runs the execution in this process and returns when it ends,
// whatever opts.Wait says.
func (l *Local) Start(ctx context.Context, machine, name string, input []byte, opts StartOptions) (Execution, error) {
	def := map[string][]byte{MachineDeploy: statemachine.Deploy, MachineRollback: statemachine.Rollback}[machine]
	if def == nil {
		return Execution{}, fmt.Errorf("start %s: unknown state machine %q", name, machine)
	}
	if _, err := l.env.Ledger.GetDeployment(ctx, name); err == nil {
		return Execution{}, fmt.Errorf("start %s: %w", name, trigger.ErrAlreadyStarted)
	}
	tr := newTracker(opts.Progress)
	var resultsRead time.Time
	onEvent := func(ev asl.HistoryEvent) {
		// Steps first: those written so far belong to the stage that is
		// ending, if this event ends it.
		if steps, err := l.env.Ledger.Steps(context.WithoutCancel(ctx), name); err == nil {
			tr.steps(steps)
		}
		// Host commands' progress, at most ten times a second: a wave
		// polls its command in a loop.
		if opts.Waves && tr.wantsResults() && time.Since(resultsRead) >= 100*time.Millisecond {
			resultsRead = time.Now()
			if rs, err := l.env.Ledger.InstanceResults(context.WithoutCancel(ctx), name); err == nil {
				tr.results(rs)
			}
		}
		state := ""
		if ev.StateEnteredEventDetails != nil {
			state = ev.StateEnteredEventDetails.Name
		}
		tr.state(ev.Type, state, time.Now())
	}
	exec, err := l.env.Run(ctx, machine, def, input, localenv.RunOptions{Name: name, OnEvent: onEvent, RealTime: l.RealTime})
	if err != nil {
		return Execution{}, err
	}
	if steps, err := l.env.Ledger.Steps(context.WithoutCancel(ctx), name); err == nil {
		tr.steps(steps)
	}
	if opts.Waves {
		if rs, err := l.env.Ledger.InstanceResults(context.WithoutCancel(ctx), name); err == nil {
			tr.results(rs)
		}
	}
	tr.end(time.Now())
	return Execution{Name: exec.Name, ARN: exec.ExecutionARN, Status: exec.Status, Error: exec.Error, Cause: exec.Cause,
		StartDate: exec.StartDate, StopDate: exec.StopDate}, nil
}

// Resume does nothing: the process that runs the deployment reads the
// decision from the ledger and completes the token itself.
func (l *Local) Resume(context.Context, ledger.Approval) error { return nil }

// Identity is the local user.
func (l *Local) Identity(context.Context) (string, error) { return os.Getenv("USER"), nil }

// Plan runs Preflight's checks read-only against the embedded environment.
func (l *Local) Plan(ctx context.Context, req contract.DeployRequest) (*report.Report, error) {
	return pipeline.Plan(ctx, l.env.Deps, req, pipeline.PlanOptions{
		HostReleases: l.hostReleases,
		Serving: func(ctx context.Context, env string, ids []string) (map[string]string, error) {
			out := map[string]string{}
			for _, id := range ids {
				v, err := l.env.Fleet.Current(env, id)
				if err != nil {
					return out, err
				}
				out[id] = v
			}
			return out, nil
		},
		Hints: l.Hints(req.Environment),
	})
}

// hostReleases lists each instance's releases directory.
func (l *Local) hostReleases(_ context.Context, env string, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, id := range ids {
		entries, err := os.ReadDir(filepath.Join(l.env.Fleet.InstanceDir(env, id), "releases"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() {
				out[id] = append(out[id], e.Name())
			}
		}
	}
	return out, nil
}

// Instances lists the environment's instances and what each serves.
func (l *Local) Instances(ctx context.Context, env string) ([]Instance, error) {
	insts, err := l.env.Fleet.Instances(ctx, env)
	if err != nil {
		return nil, err
	}
	out := make([]Instance, 0, len(insts))
	for _, i := range insts {
		v, err := l.env.Fleet.Current(env, i.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, Instance{ID: i.ID, Online: i.Online, Serves: v})
	}
	return out, nil
}

// Hints name the files that stand for dashboards and logs locally.
func (l *Local) Hints(env string) report.Hints {
	root := relative(l.env.Root)
	if env == "" {
		env = "<env>"
	}
	return report.Hints{
		Dashboards:    []string{"alarm states: " + filepath.Join(root, "alarms.json")},
		LogGroups:     []string{"app output: " + filepath.Join(root, "instances", env, "<instance>", "app.log")},
		CommandOutput: "command output: " + filepath.Join(root, "commands", "<command id>", "<instance>.json"),
	}
}

// Timings returns nil: the embedded engine's history ends with the
// process that ran it.
func (l *Local) Timings(context.Context, ledger.Deployment) ([]report.StageTiming, error) {
	return nil, nil
}

// Reconcile closes the environment's deployments whose process is gone.
func (l *Local) Reconcile(ctx context.Context, env string) ([]string, error) {
	return l.env.CloseAbandoned(ctx, env)
}

// ConfigStore is the local secrets file.
func (l *Local) ConfigStore() (appconfig.Store, error) {
	return &appconfig.File{Secrets: l.env.Secrets}, nil
}

// PutPushEvent is not supported locally.
func (l *Local) PutPushEvent(context.Context, trigger.GitPush) error {
	return fmt.Errorf("push events go to an EventBridge bus on AWS: %w; locally, run `slipway deploy --local`", ErrNotSupported)
}

// Close closes the ledger if this backend opened it.
func (l *Local) Close() error {
	if l.own {
		return l.env.Close()
	}
	return nil
}

// relative shortens an absolute path under the working directory.
func relative(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !filepath.IsAbs(r) && len(r) < len(p) && r != ".." && !startsWithDotDot(r) {
		return r
	}
	return p
}

func startsWithDotDot(p string) bool {
	return len(p) >= 3 && p[:3] == ".."+string(filepath.Separator)
}
