package contract

import (
	"encoding/json"

	"github.com/slipway-deploy/slipway/internal/canary"
)

// HealthCanary is the Health function's canary analysis (StartCanary,
// CheckCanary): with no Previous it takes the canary's starting point;
// then, once per sample interval, it samples the canary wave and the
// instances not yet deployed and runs the tests of internal/canary.
const HealthCanary = "canary"

// CanarySpec is the canary analysis as it runs: the manifest's
// rollout.canary with its defaults filled in, and where its figures come
// from.
type CanarySpec struct {
	// BakeSeconds is how long the analysis watches the canary wave once it
	// is in service; IntervalSeconds, how often it samples. Samples is the
	// number of samples the bake takes (ceil(bake / interval)).
	BakeSeconds     int `json:"bake_seconds"`
	IntervalSeconds int `json:"interval_seconds"`
	Samples         int `json:"samples"`
	// Confidence is 1 − the chance the analysis fails a canary no worse
	// than its baseline (Bonferroni over the samples and the tests).
	Confidence float64 `json:"confidence"`
	// MinRequests is what each side must serve before a test can fail.
	MinRequests int64 `json:"min_requests"`
	// Latency runs the latency test, with its tolerance: the canary's mean
	// may exceed the baseline's by LatencyIncrease (a fraction) and by
	// LatencyMarginMS.
	Latency         bool    `json:"latency"`
	LatencyIncrease float64 `json:"latency_increase"`
	LatencyMarginMS float64 `json:"latency_margin_ms"`
	// Metrics are the CloudWatch metrics to read, on AWS; nil in the
	// embedded environment, whose load balancer counts per instance.
	Metrics *CanaryMetrics `json:"metrics,omitempty"`
	// Source says where the figures come from, as the plan shows it.
	Source string `json:"source"`
}

// Config is the statistics' configuration for this spec.
func (s CanarySpec) Config() canary.Config {
	return canary.Config{Confidence: s.Confidence, Looks: s.Samples, MinRequests: s.MinRequests,
		Latency: s.Latency, LatencyIncrease: s.LatencyIncrease, LatencyMarginMS: s.LatencyMarginMS}
}

// CanaryMetrics names the CloudWatch metrics a canary analysis reads, per
// instance: each has a dimension named Dimension whose value is the
// instance id.
type CanaryMetrics struct {
	Namespace string `json:"namespace"`
	Dimension string `json:"dimension"`
	// Requests and Errors are counts (their Sum is read); Latency, in
	// milliseconds, is read as SampleCount and Sum. Latency may be empty.
	Requests string `json:"requests"`
	Errors   string `json:"errors"`
	Latency  string `json:"latency,omitempty"`
	// Dimensions are further dimensions every metric has (such as
	// AutoScalingGroupName), with their values.
	Dimensions map[string]string `json:"dimensions,omitempty"`
}

// CanaryCursor is a canary analysis under way, kept in the execution's
// state between samples.
type CanaryCursor struct {
	// StartedAt is when the canary's starting point was taken (the health
	// function's clock, RFC 3339).
	StartedAt string `json:"started_at"`
	// Canary and Baseline are the instances of each side.
	Canary   []string `json:"canary"`
	Baseline []string `json:"baseline"`
	// Start is what each side's source counted at StartedAt (the embedded
	// balancer's counters run from its start; CloudWatch's sums from
	// StartedAt are zero then).
	Start canary.Sample `json:"start"`
	// Samples are what each side served in each interval since.
	Samples []canary.Sample `json:"samples"`
}

// CanaryDetail is the detail of a canary analysis step: one sample, and
// the verdict on everything counted up to it. The report draws the
// samples of every such step of a deployment.
type CanaryDetail struct {
	Kind string `json:"kind"`
	// Sample is the sample's number from 1, of Samples; Seconds, how long
	// after the starting point it was taken.
	Sample  int     `json:"sample"`
	Samples int     `json:"samples"`
	Seconds float64 `json:"seconds"`
	// Interval is what each side served in this sample's interval.
	Interval canary.Sample  `json:"interval"`
	Verdict  canary.Verdict `json:"verdict"`
	// Done is set on the last step: the bake is over or the canary failed.
	Done   bool `json:"done,omitempty"`
	Failed bool `json:"failed,omitempty"`
	// Canary and Baseline name each side's instances.
	Canary   []string `json:"canary"`
	Baseline []string `json:"baseline"`
	// Spec is the analysis that ran.
	Spec CanarySpec `json:"spec"`
}

// DetailCanary is a canary analysis step: CanaryDetail.
const DetailCanary = "canary"

// ParseCanaryDetail reads a canary analysis step's detail.
func ParseCanaryDetail(raw []byte) (CanaryDetail, bool) {
	var d CanaryDetail
	if DetailKind(raw) != DetailCanary || json.Unmarshal(raw, &d) != nil {
		return CanaryDetail{}, false
	}
	return d, true
}

// CanaryFailed means the canary wave served significantly worse than the
// instances not yet deployed during its bake: more errors, or slower.
type CanaryFailed struct {
	Message string `json:"message"`
}

func (e *CanaryFailed) Error() string { return e.Message }
