package localenv

import (
	"testing"

	"github.com/slipway-deploy/slipway/internal/canary"
	"github.com/slipway-deploy/slipway/internal/traffic/balancer"
)

// TestInstanceTotals: the balancer's target counters add up by instance,
// over the environment's groups and every port an instance had, and
// nothing of another group or instance counts.
func TestInstanceTotals(t *testing.T) {
	cs := balancer.Counters{Targets: map[string]balancer.Counter{
		"staging/staging-1:20001": {Requests: 10, Failed: 2, Timed: 10, LatencyMS: 5},
		"staging/staging-1:20101": {Requests: 5, Failed: 1, Timed: 5, LatencyMS: 2.5},
		"staging/staging-2:20002": {Requests: 7, Timed: 7, LatencyMS: 3},
		"staging/staging-3:20003": {Requests: 9, Timed: 9, LatencyMS: 4},
		"production/staging-1:1":  {Requests: 100, Failed: 100},
		"malformed":               {Requests: 1},
	}}
	got := InstanceTotals(cs, []string{"staging"}, []string{"staging-1", "staging-2"})
	want := map[string]canary.Totals{
		"staging-1": {Requests: 15, Errors: 3, LatencyCount: 15, LatencySumMS: 7.5},
		"staging-2": {Requests: 7, LatencyCount: 7, LatencySumMS: 3},
	}
	if len(got) != len(want) {
		t.Errorf("InstanceTotals = %+v, want %+v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("InstanceTotals[%s] = %+v, want %+v", id, got[id], w)
		}
	}
}
