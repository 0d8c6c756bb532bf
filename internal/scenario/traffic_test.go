package scenario

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/loadgen"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// loadPace is the pace of each load worker: one request every 5 ms, the
// measurement issue 12 started from.
const loadPace = 5 * time.Millisecond

// instanceURLs are the staging instances' own addresses, as a client that
// bypasses any load balancer would call them.
func instanceURLs(t testing.TB, env *localenv.Env) []string {
	t.Helper()
	insts, err := env.Fleet.Instances(context.Background(), "staging")
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, i := range insts {
		urls = append(urls, "http://"+i.Address+"/")
	}
	return urls
}

// underLoad runs fn while load goes to urls (round robin), and returns
// what the load counted. The load is up before fn starts.
func underLoad(t testing.TB, urls []string, fn func()) loadgen.Result {
	t.Helper()
	run, err := loadgen.Start(context.Background(), loadgen.Options{URLs: urls, Workers: 2, Interval: loadPace})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run.WaitStarted(ctx); err != nil {
		run.Stop()
		t.Fatal(err)
	}
	fn()
	return run.Stop()
}

// alarmInBake raises the demo's alarm as the bake starts.
func alarmInBake(env *localenv.Env) localenv.RunOptions {
	return localenv.RunOptions{OnEvent: func(ev asl.HistoryEvent) {
		if ev.Type == "PassStateEntered" && ev.StateEnteredEventDetails != nil && ev.StateEnteredEventDetails.Name == "StartBake" {
			env.Alarms.Set("demo-5xx", health.StateAlarm, "benchmark")
		}
	}}
}

// trafficCase is one deployment measured under load: the releases deployed
// before (no load), the one deployed under load and the status it must end
// with.
type trafficCase struct {
	name    string
	before  []string
	version string
	want    string
	opts    func(*localenv.Env) localenv.RunOptions
}

var trafficCases = []trafficCase{
	{"deploy", []string{"v1"}, "v2", contract.StatusSucceeded, nil},
	{"failed-canary", []string{"v1", "v2"}, "v3", contract.StatusRolledBack, nil},
	{"alarm-in-bake", []string{"v1"}, "v2", contract.StatusRolledBack, alarmInBake},
}

// setup is where a measurement sends its load: a fresh fleet and the URLs
// to call on it.
type setup struct {
	env  func(testing.TB, int) *localenv.Env
	urls func(testing.TB, *localenv.Env) []string
}

// direct is a fleet without a load balancer, its instances called directly.
var direct = setup{fleetEnv, instanceURLs}

// benchFailed runs each case b.N times on a fresh fleet of three, with the
// load on the setup's URLs, and reports failed and total requests per
// deployment.
func benchFailed(b *testing.B, on setup) {
	for _, tc := range trafficCases {
		b.Run(tc.name, func(b *testing.B) {
			var failed, total int
			var worst loadgen.Result
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				env := on.env(b, 3)
				for _, v := range tc.before {
					mustDeploy(b, env, v)
				}
				opts := localenv.RunOptions{}
				if tc.opts != nil {
					opts = tc.opts(env)
				}
				b.StartTimer()
				var status string
				var exec *asl.Execution
				res := underLoad(b, on.urls(b, env), func() { exec, status = deploy(b, env, tc.version, opts) })
				b.StopTimer()
				if status != tc.want {
					b.Fatalf("deploy %s = %s (%s: %s), want %s", tc.version, status, exec.Error, exec.Cause, tc.want)
				}
				failed += res.Failed
				total += res.Requests
				if res.Failed >= worst.Failed {
					worst = res
				}
				env.Stop(context.Background())
			}
			b.ReportMetric(float64(failed)/float64(b.N), "failed/op")
			b.ReportMetric(float64(total)/float64(b.N), "requests/op")
			b.Logf("%s: worst run %s", tc.name, worst.Detail())
		})
	}
}

// BenchmarkFailedRequestsDirect measures what a client calling the three
// staging instances directly (no load balancer) sees during a deployment:
// an ordinary deploy, a failed canary and an alarm in bake, each rolling
// its waves by restarting instances in place.
func BenchmarkFailedRequestsDirect(b *testing.B) {
	benchFailed(b, direct)
}

// rollbackCases are the trafficCases that roll back.
func rollbackCases() []trafficCase {
	var out []trafficCase
	for _, tc := range trafficCases {
		if tc.want == contract.StatusRolledBack {
			out = append(out, tc)
		}
	}
	return out
}

// benchTimeToPrevious measures, as the load's client sees it, the time
// from the failure (the alarm raised in bake, or the failed canary's
// rollback decision: the Rollback state entered) to the last answer that
// was not the previous release's (an answer from the failed release, or a
// failed request): from then on, all traffic is on the previous release.
func benchTimeToPrevious(b *testing.B, on setup) {
	for _, tc := range rollbackCases() {
		b.Run(tc.name, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				env := on.env(b, 3)
				for _, v := range tc.before {
					mustDeploy(b, env, v)
				}
				var failedAt time.Time
				var inner func(asl.HistoryEvent)
				if tc.opts != nil {
					inner = tc.opts(env).OnEvent
				}
				hook := func(ev asl.HistoryEvent) {
					if inner != nil {
						inner(ev)
					}
					if !failedAt.IsZero() || ev.StateEnteredEventDetails == nil {
						return
					}
					if (tc.opts != nil && ev.StateEnteredEventDetails.Name == "StartBake") || ev.StateEnteredEventDetails.Name == "Rollback" {
						failedAt = time.Now()
					}
				}
				b.StartTimer()
				var status string
				var exec *asl.Execution
				res := underLoad(b, on.urls(b, env), func() { exec, status = deploy(b, env, tc.version, localenv.RunOptions{OnEvent: hook}) })
				b.StopTimer()
				if status != tc.want || failedAt.IsZero() {
					b.Fatalf("deploy %s = %s (%s: %s), want %s after a failure", tc.version, status, exec.Error, exec.Cause, tc.want)
				}
				last := failedAt
				if s := res.Versions[tc.version]; s.Last.After(last) {
					last = s.Last
				}
				if res.LastFailure != nil && res.LastFailure.At.After(last) {
					last = res.LastFailure.At
				}
				total += last.Sub(failedAt)
				env.Stop(context.Background())
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/failure-to-previous")
		})
	}
}

// BenchmarkTimeToPrevious measures the time from a failure to all traffic
// on the previous release; "direct" is a client calling the instances,
// "balancer" one calling the load balancer's endpoint.
func BenchmarkTimeToPrevious(b *testing.B) {
	b.Run("direct", func(b *testing.B) { benchTimeToPrevious(b, direct) })
	b.Run("balancer", func(b *testing.B) { benchTimeToPrevious(b, balanced) })
}
