package localenv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/canary"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/traffic/balancer"
)

// balancerCanary is the embedded environment's source of canary figures:
// the load balancer's own per-target counters (requests, failed ones,
// latency), which run from the balancer's start; the analysis takes
// differences. The manifest's CloudWatch metrics are not read here.
type balancerCanary struct {
	dir string
	cfg *config.Config
}

var _ pipeline.CanaryMetrics = balancerCanary{}

func (b balancerCanary) groups(env string) []string {
	if b.cfg == nil {
		return nil
	}
	return b.cfg.Environments[env].TargetGroups
}

func (b balancerCanary) Source(ctx context.Context, env string, spec contract.CanarySpec) (string, error) {
	gs := b.groups(env)
	if len(gs) == 0 {
		return "", fmt.Errorf("environment %s has no load balancer, whose counters the embedded analysis reads per instance: initialise it with one (slipway local init --balancer), or drop rollout.canary", env)
	}
	return fmt.Sprintf("the embedded load balancer's counters per instance (target group %s)", strings.Join(gs, ", ")), nil
}

// Totals sums each instance's counters over its targets in env's groups
// (one per group and port).
func (b balancerCanary) Totals(ctx context.Context, env string, spec contract.CanarySpec, ids []string, since, now time.Time) (map[string]canary.Totals, error) {
	c, err := balancer.Dial(b.dir)
	if err != nil {
		return nil, err
	}
	cs, err := c.Counters(ctx)
	if err != nil {
		return nil, err
	}
	return InstanceTotals(cs, b.groups(env), ids), nil
}

// InstanceTotals sums the balancer's target counters ("<group>/<id>:<port>")
// by instance, over groups, for ids.
func InstanceTotals(cs balancer.Counters, groups, ids []string) map[string]canary.Totals {
	out := map[string]canary.Totals{}
	for key, n := range cs.Targets {
		group, target, ok := strings.Cut(key, "/")
		i := strings.LastIndex(target, ":")
		if !ok || i < 0 || !slices.Contains(groups, group) {
			continue
		}
		id := target[:i]
		if !slices.Contains(ids, id) {
			continue
		}
		out[id] = out[id].Add(canary.Totals{Requests: int64(n.Requests), Errors: int64(n.Failed), LatencyCount: int64(n.Timed), LatencySumMS: n.LatencyMS})
	}
	return out
}
