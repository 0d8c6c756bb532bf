package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

// Smoker runs one smoke check against a base URL (health.Prober).
type Smoker interface {
	Smoke(ctx context.Context, target, baseURL string, c contract.SmokeCheck, redact health.Redactor) health.SmokeResult
}

var defaultSmoker Smoker = &health.Prober{Client: &http.Client{}}

func (h *Health) smoker() Smoker {
	if h.Smoker != nil {
		return h.Smoker
	}
	return defaultSmoker
}

// SmokeTarget is where smoke checks are sent: an instance or the load
// balancer.
type SmokeTarget struct {
	Name    string // the instance id, or "load balancer"
	BaseURL string // http://host:port
}

// smokeAll runs every check against every target (targets concurrently,
// a target's checks in order) and returns the results, target by target,
// and the failures.
func (h *Health) smokeAll(ctx context.Context, spec contract.HealthSpec, targets []SmokeTarget) (results, failed []health.SmokeResult) {
	redact := h.redactor(ctx, spec.Redact)
	per := make([][]health.SmokeResult, len(targets))
	sem := make(chan struct{}, probeConcurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, c := range spec.Smoke {
				per[i] = append(per[i], h.smoker().Smoke(ctx, t.Name, t.BaseURL, c, redact))
			}
		}()
	}
	wg.Wait()
	for _, rs := range per {
		for _, r := range rs {
			results = append(results, r)
			if !r.OK {
				failed = append(failed, r)
			}
		}
	}
	return results, failed
}

// redactor resolves the configuration's secret values so that smoke
// results never record them. When one cannot be read (or no configuration
// store is configured), nothing of the answers is recorded.
func (h *Health) redactor(ctx context.Context, refs []string) health.Redactor {
	if len(refs) == 0 {
		return nil
	}
	if h.ConfigStore == nil {
		return health.Withheld
	}
	vals := map[string]string{}
	for _, ref := range refs {
		r, err := manifest.ParseRef(ref)
		if err != nil {
			return health.Withheld
		}
		var v string
		switch r.Kind {
		case manifest.RefSSM:
			sv, err := h.ConfigStore.Parameter(ctx, r.Name)
			if err != nil {
				h.Logger().Warn("smoke: a secret to redact could not be read: the answers are not recorded", "ref", ref, "err", err)
				return health.Withheld
			}
			v = sv.Reveal()
		case manifest.RefSecret:
			sv, err := h.ConfigStore.Secret(ctx, r.Name)
			if err != nil {
				h.Logger().Warn("smoke: a secret to redact could not be read: the answers are not recorded", "ref", ref, "err", err)
				return health.Withheld
			}
			v = sv.Reveal()
			// The whole secret and, for a JSON object, each of its string
			// values are redacted: the key picked is one of them.
			vals["secret:"+r.Name] = v
			for k, kv := range jsonStrings(v) {
				vals["secret:"+r.Name+"#"+k] = kv
			}
			continue
		}
		vals[ref] = v
	}
	return health.NewRedactor(vals)
}

// smokeFailure writes the step of failed smoke checks and returns the
// error that rolls the deployment back.
func (h *Health) smokeFailure(ctx context.Context, deploymentID, stage, where string, results, failed []health.SmokeResult) error {
	var parts []string
	for i, r := range failed {
		if i == listShown {
			parts = append(parts, fmt.Sprintf("and %d more", len(failed)-listShown))
			break
		}
		parts = append(parts, SmokeLine(r))
	}
	msg := fmt.Sprintf("%s: %s of %d failed: %s", where, Count(len(failed), "smoke check"), len(results), strings.Join(parts, "; "))
	h.Step(ctx, deploymentID, stage, StepFailed, msg, smokeDetail(where, results))
	return &contract.SmokeCheckFailed{Message: msg}
}

// smokeDetail is a smoke step's typed detail.
func smokeDetail(where string, results []health.SmokeResult) contract.SmokeDetail {
	d := contract.SmokeDetail{Kind: contract.DetailSmoke, Where: where}
	for _, r := range results {
		if !r.OK && !slices.Contains(d.Failed, r.Check) {
			d.Failed = append(d.Failed, r.Check)
		}
	}
	d.Results, _ = json.Marshal(results)
	return d
}

// SmokeLine writes one smoke result: the check, the request, the answer
// and the expectation.
func SmokeLine(r health.SmokeResult) string {
	answer := "no answer"
	if r.Status > 0 {
		answer = fmt.Sprintf("HTTP %d in %dms", r.Status, r.LatencyMS)
		if r.Answer != "" {
			answer += fmt.Sprintf(" %q", r.Answer)
		}
	}
	s := fmt.Sprintf("%q on %s: %s answered %s; expected %s", r.Check, r.Target, r.Request, answer, r.Expect)
	if r.Problem != "" {
		s += " (" + r.Problem + ")"
	}
	return s
}

// instanceTargets turns instances into smoke targets, adding Port where
// an address has none.
func (h *Health) instanceTargets(addrs map[string]string, ids []string) []SmokeTarget {
	var ts []SmokeTarget
	for _, id := range ids {
		addr, ok := addrs[id]
		if !ok {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil && h.Port > 0 {
			addr = net.JoinHostPort(addr, strconv.Itoa(h.Port))
		}
		ts = append(ts, SmokeTarget{Name: id, BaseURL: "http://" + addr})
	}
	return ts
}

// smokeBalancer runs the smoke checks through the load balancer's
// endpoint, after the last wave.
func (h *Health) smokeBalancer(ctx context.Context, in contract.HealthInput) (contract.HealthOutput, error) {
	out := contract.HealthOutput{Wave: in.Wave, Status: contract.ProbeHealthy}
	if len(in.Health.Smoke) == 0 || in.Endpoint == "" {
		return out, nil
	}
	results, failed := h.smokeAll(ctx, in.Health, []SmokeTarget{{Name: "load balancer", BaseURL: strings.TrimSuffix(in.Endpoint, "/")}})
	if len(failed) > 0 {
		return out, h.smokeFailure(ctx, in.DeploymentID, contract.StageHealth, "through the load balancer "+in.Endpoint, results, failed)
	}
	where := "through the load balancer " + in.Endpoint
	h.Step(ctx, in.DeploymentID, contract.StageHealth, StepOK, fmt.Sprintf("%s: %s passed", where, Count(len(results), "smoke check")), smokeDetail(where, results))
	return out, nil
}

// smokeInstances runs the smoke checks on in.InstanceIDs directly: a
// blue/green idle side that the balancer reports healthy, before any
// weight moves to it. A failure is SmokeCheckFailed; nothing served the
// instances, so the step says that no traffic reached them.
func (h *Health) smokeInstances(ctx context.Context, in contract.HealthInput) (contract.HealthOutput, error) {
	out := contract.HealthOutput{Wave: in.Wave, Status: contract.ProbeHealthy}
	if len(in.Health.Smoke) == 0 {
		return out, nil
	}
	where := cmp.Or(in.Where, "instances "+List(in.InstanceIDs))
	instances, err := h.Fleet.Lookup(ctx, in.Environment, in.InstanceIDs)
	if err != nil {
		return out, Classify(err, func(m string) error { return &contract.SmokeCheckFailed{Message: where + ": " + m} })
	}
	addrs := map[string]string{}
	for _, inst := range instances {
		addrs[inst.ID] = inst.Address
	}
	var missing []string
	for _, id := range in.InstanceIDs {
		if _, ok := addrs[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("%s: %s could not be found to run the smoke checks on", where, List(missing))
		h.Step(ctx, in.DeploymentID, contract.StageHealth, StepFailed, msg, nil)
		return out, &contract.SmokeCheckFailed{Message: msg}
	}
	results, failed := h.smokeAll(ctx, in.Health, h.instanceTargets(addrs, in.InstanceIDs))
	if len(failed) > 0 {
		return out, h.smokeFailure(ctx, in.DeploymentID, contract.StageHealth, where, results, failed)
	}
	h.Step(ctx, in.DeploymentID, contract.StageHealth, StepOK, fmt.Sprintf("%s: %s passed on %s", where, Count(len(in.Health.Smoke), "smoke check"), Count(len(in.InstanceIDs), "instance")), smokeDetail(where, results))
	return out, nil
}

// jsonStrings returns the string values of a JSON object (none when s is
// not one).
func jsonStrings(s string) map[string]string {
	var obj map[string]any
	if json.Unmarshal([]byte(s), &obj) != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range obj {
		if str, ok := v.(string); ok {
			out[k] = str
		}
	}
	return out
}
