package manifest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Canary is the canary analysis of an in-place rollout (rollout.canary):
// once the first wave (the canary) is deployed, healthy and back in
// service, its error rate and latency are compared with those of the
// instances not yet deployed, sample by sample over Bake, with the
// one-sided tests of internal/canary; a canary significantly worse rolls
// the deployment back. The figures come from the embedded load balancer's
// counters locally, and from the CloudWatch metrics Metrics names on AWS.
type Canary struct {
	// Bake is how long the analysis watches the canary once it serves
	// (default 2m, at most MaxCanaryBake); Interval, how often it samples
	// (default 10s: on AWS, where CloudWatch has a point a minute, 1m).
	Bake     Duration `yaml:"bake"`
	Interval Duration `yaml:"interval"`
	// Confidence is how sure the analysis must be that the canary is
	// worse before it fails it: "99%" (the default) or 0.99. It is
	// 1 − the chance of failing a canary no worse than its baseline.
	Confidence Fraction `yaml:"confidence"`
	// MinRequests is how many requests each side must have served before
	// a test can fail the canary (default 50); with fewer, the analysis
	// is inconclusive and the deployment continues.
	MinRequests int `yaml:"min_requests"`
	// Latency is the latency test's tolerance, or "off".
	Latency CanaryLatency `yaml:"latency"`
	// Metrics names the CloudWatch metrics to read on AWS.
	Metrics *CanaryMetrics `yaml:"metrics"`
}

// CanaryLatency is how much slower than the baseline a canary may be: it
// fails only when its mean latency is significantly above both the
// baseline's × (1 + Increase) and the baseline's + Margin.
type CanaryLatency struct {
	Off      bool
	Increase Fraction `yaml:"increase"`
	Margin   Duration `yaml:"margin"`
}

// UnmarshalYAML reads off (or false) or {increase, margin}.
func (l *CanaryLatency) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(strings.TrimSpace(n.Value)) {
		case "off", "false":
			l.Off = true
			return nil
		}
		return &nodeError{line: n.Line, col: n.Column, msg: fmt.Sprintf("%q: want off, or {increase: \"20%%\", margin: 5ms}", n.Value)}
	}
	type plain struct {
		Increase Fraction `yaml:"increase"`
		Margin   Duration `yaml:"margin"`
	}
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	l.Increase, l.Margin = p.Increase, p.Margin
	return nil
}

// CanaryMetrics are CloudWatch metrics published per instance: each has
// the dimension Dimension (default InstanceId) whose value is the
// instance id. Application Load Balancer metrics are per target group,
// not per instance: the app (or the CloudWatch agent) publishes these.
type CanaryMetrics struct {
	Namespace string `yaml:"namespace"`
	Dimension string `yaml:"dimension"`
	// Requests and Errors are counts, summed; Latency, in milliseconds
	// (sample count and sum), may be left out, and the latency test with
	// it.
	Requests string `yaml:"requests"`
	Errors   string `yaml:"errors"`
	Latency  string `yaml:"latency"`
	// Dimensions are further dimensions every metric has, with their
	// values ("{env}" stands for the environment).
	Dimensions map[string]string `yaml:"dimensions"`
}

// Fraction is a share written "99%" or 0.99.
type Fraction struct {
	Value float64
	Set   bool
}

// UnmarshalYAML reads "99%" or 0.99.
func (f *Fraction) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	bad := &nodeError{line: n.Line, col: n.Column, msg: fmt.Sprintf("%q is not a share such as \"99%%\" or 0.99", n.Value)}
	if n.Kind != yaml.ScalarNode {
		return bad
	}
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return bad
	}
	if pct {
		// 99.9% is 0.999, not 0.9990000000000001.
		v = math.Round(v*1e10) / 1e12
	}
	f.Value, f.Set = v, true
	return nil
}

// String writes the share as a percentage.
func (f Fraction) String() string { return strconv.FormatFloat(f.Value*100, 'f', -1, 64) + "%" }

// Canary limits and defaults.
const (
	DefaultCanaryBake        = 2 * time.Minute
	DefaultCanaryInterval    = 10 * time.Second
	DefaultCanaryConfidence  = 0.99
	DefaultCanaryMinRequests = 50
	DefaultLatencyIncrease   = 0.2
	DefaultLatencyMargin     = 5 * time.Millisecond
	// MaxCanaryBake bounds the canary's bake: with the bake after the last
	// wave (MaxBake), a deployment must fit in the state machine's hours.
	MaxCanaryBake = 30 * time.Minute
	// MaxCanarySamples bounds bake / interval: every sample travels in the
	// execution's state.
	MaxCanarySamples = 120
)

func (c *Canary) setDefaults() {
	if c.Bake.Duration == 0 {
		c.Bake.Duration = DefaultCanaryBake
	}
	if c.Interval.Duration == 0 {
		c.Interval.Duration = DefaultCanaryInterval
	}
	if !c.Confidence.Set {
		c.Confidence = Fraction{DefaultCanaryConfidence, true}
	}
	if c.MinRequests == 0 {
		c.MinRequests = DefaultCanaryMinRequests
	}
	if !c.Latency.Off {
		if !c.Latency.Increase.Set {
			c.Latency.Increase = Fraction{DefaultLatencyIncrease, true}
		}
		if c.Latency.Margin.Duration == 0 {
			c.Latency.Margin.Duration = DefaultLatencyMargin
		}
	}
	if m := c.Metrics; m != nil && m.Dimension == "" {
		m.Dimension = "InstanceId"
	}
}

// Samples is how many samples the bake takes.
func (c *Canary) Samples() int {
	if c.Interval.Duration <= 0 {
		return 1
	}
	return max(1, int(math.Ceil(float64(c.Bake.Duration)/float64(c.Interval.Duration))))
}

func (m *Manifest) validateCanary() []problem {
	c := m.Rollout.Canary
	if c == nil {
		return nil
	}
	var errs []problem
	add := func(key, format string, a ...any) {
		path := "rollout.canary"
		if key != "" {
			path += "." + key
		}
		errs = append(errs, problem{path: path, msg: fmt.Sprintf(format, a...)})
	}
	if m.Rollout.Strategy == StrategyBlueGreen {
		add("", "canary analysis compares the first wave with the instances not yet deployed, which a blue-green rollout does not have (it shifts traffic instead): use strategy in-place, or drop canary")
	}
	if w := m.Rollout.Waves; len(w) < 2 || w[0].Percent == 100 {
		add("", "canary analysis needs a first wave that leaves instances not yet deployed to compare it with: rollout.waves needs at least two waves, such as [1, \"100%%\"]")
	}
	if d := c.Bake.Duration; d < time.Second || d > MaxCanaryBake {
		add("bake", "%s must be between 1s and %s", d, MaxCanaryBake)
	}
	if d := c.Interval.Duration; d < time.Second || d > 5*time.Minute {
		add("interval", "%s must be between 1s and 5m", d)
	} else if d > c.Bake.Duration && c.Bake.Duration >= time.Second {
		add("interval", "%s is longer than the bake (%s): the analysis needs at least one sample", d, c.Bake.Duration)
	} else if n := c.Samples(); n > MaxCanarySamples {
		add("interval", "%s takes %d samples over the %s bake, more than %d: sample less often", d, n, c.Bake.Duration, MaxCanarySamples)
	}
	if v := c.Confidence.Value; v < 0.5 || v >= 1 {
		add("confidence", "%s must be at least 50%% and below 100%%, such as \"99%%\"", c.Confidence)
	}
	if c.MinRequests < 1 {
		add("min_requests", "must be at least 1")
	}
	if !c.Latency.Off {
		if v := c.Latency.Increase.Value; v < 0 || v > 10 {
			add("latency.increase", "%s must be between 0%% and 1000%%", c.Latency.Increase)
		}
		if c.Latency.Margin.Duration > time.Minute {
			add("latency.margin", "%s is longer than 1m", c.Latency.Margin)
		}
	}
	if mt := c.Metrics; mt != nil {
		for _, f := range []struct{ key, v string }{{"namespace", mt.Namespace}, {"requests", mt.Requests}, {"errors", mt.Errors}} {
			if strings.TrimSpace(f.v) == "" {
				add("metrics."+f.key, "is required: the CloudWatch %s the analysis reads per instance", map[string]string{"namespace": "namespace", "requests": "metric counting requests", "errors": "metric counting failed requests"}[f.key])
			}
		}
	}
	return errs
}
