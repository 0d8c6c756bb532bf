package scenario

import (
	"context"
	"testing"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

// balancedEnv is fleetEnv with the embedded load balancer in front of the
// staging instances.
func balancedEnv(t testing.TB, n int) *localenv.Env {
	t.Helper()
	return newFleetEnv(t, localenv.Options{App: "demo", Instances: n, Balancer: true})
}

// endpointURLs is the staging endpoint, as a user calls it.
func endpointURLs(t testing.TB, env *localenv.Env) []string {
	t.Helper()
	u, err := env.Endpoint("staging")
	if err != nil {
		t.Fatal(err)
	}
	return []string{u + "/"}
}

// balanced is a fleet behind the embedded load balancer, called through
// its endpoint.
var balanced = setup{balancedEnv, endpointURLs}

// BenchmarkFailedRequests is BenchmarkFailedRequestsDirect through the
// load balancer's endpoint, with every wave drained before its restart:
// the goal is 0 failed/op.
func BenchmarkFailedRequests(b *testing.B) {
	benchFailed(b, balanced)
}

// TestScenarioZeroFailedRequests: under load through the endpoint, an
// ordinary deploy, a failed canary and an alarm in bake (its rollback wave
// by wave in reverse, each wave drained first) each end as they must with
// no failed request, every instance back in service, and no
// answer ever from a release that should not serve.
func TestScenarioZeroFailedRequests(t *testing.T) {
	for _, tc := range trafficCases {
		t.Run(tc.name, func(t *testing.T) {
			env := balancedEnv(t, 3)
			for _, v := range tc.before {
				mustDeploy(t, env, v)
			}
			opts := localenv.RunOptions{}
			if tc.opts != nil {
				opts = tc.opts(env)
			}
			var status string
			var exec *asl.Execution
			res := underLoad(t, endpointURLs(t, env), func() { exec, status = deploy(t, env, tc.version, opts) })
			if status != tc.want {
				t.Fatalf("deploy %s = %s (%s: %s), want %s", tc.version, status, exec.Error, exec.Cause, tc.want)
			}
			if tc.name == "alarm-in-bake" {
				// Every wave moved: the rollback takes each out in turn.
				waves := 0
				for _, ev := range exec.History {
					if ev.Type == "TaskStateEntered" && ev.StateEnteredEventDetails != nil && ev.StateEnteredEventDetails.Name == "RollbackWaveDetach" {
						waves++
					}
				}
				if waves != 3 {
					t.Errorf("the rollback took %d waves out of the balancer in turn, want 3 (wave by wave in reverse)", waves)
				}
			}
			if res.Failed != 0 || res.Requests < 10 {
				t.Errorf("load through the endpoint: %s, want 0 failed of at least 10", res.Detail())
			}
			final := tc.version
			if tc.want == contract.StatusRolledBack {
				final = tc.before[len(tc.before)-1]
			}
			allServe(t, env, final)
			targets, err := env.Deps.Traffic.Targets(context.Background(), "staging")
			if err != nil {
				t.Fatal(err)
			}
			if len(targets) != 3 {
				t.Errorf("targets of staging after the deployment = %+v, want the 3 instances", targets)
			}
			for _, tg := range targets {
				if tg.State != traffic.StateHealthy {
					t.Errorf("target %s is %s after the deployment, want healthy", tg.ID, tg.State)
				}
			}
		})
	}
}

// TestScenarioZeroFailedRollback: a rollback execution (slipway rollback)
// under load through the endpoint walks the manifest's waves, each out of
// the balancer while it is switched back, and no request fails; every
// instance ends on the previous release, healthy in the balancer.
func TestScenarioZeroFailedRollback(t *testing.T) {
	env := balancedEnv(t, 3)
	mustDeploy(t, env, "v1")
	mustDeploy(t, env, "v2")
	var exec *asl.Execution
	res := underLoad(t, endpointURLs(t, env), func() {
		var err error
		exec, err = env.Rollback(context.Background(), contract.RollbackRequest{App: "demo", Environment: "staging"}, localenv.RunOptions{})
		if err != nil {
			t.Error(err)
		}
	})
	if exec == nil {
		t.Fatal("no rollback execution")
	}
	d, err := env.Ledger.GetDeployment(context.Background(), exec.Name)
	if err != nil {
		t.Fatalf("no ledger record for %s: %v", exec.Name, err)
	}
	if d.Status != contract.StatusRolledBack {
		t.Fatalf("rollback = %s (%s: %s), want %s", d.Status, exec.Error, exec.Cause, contract.StatusRolledBack)
	}
	waves := 0
	for _, ev := range exec.History {
		if ev.Type == "TaskStateEntered" && ev.StateEnteredEventDetails != nil && ev.StateEnteredEventDetails.Name == "RollbackWaveDetach" {
			waves++
		}
	}
	if waves != 3 {
		t.Errorf("the rollback took %d waves out of the balancer in turn, want the manifest's 3", waves)
	}
	if res.Failed != 0 || res.Requests < 10 {
		t.Errorf("load through the endpoint: %s, want 0 failed of at least 10", res.Detail())
	}
	allServe(t, env, "v1")
	targets, err := env.Deps.Traffic.Targets(context.Background(), "staging")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 3 {
		t.Errorf("targets of staging after the rollback = %+v, want the 3 instances", targets)
	}
	for _, tg := range targets {
		if tg.State != traffic.StateHealthy {
			t.Errorf("target %s is %s after the rollback, want healthy", tg.ID, tg.State)
		}
	}
}
