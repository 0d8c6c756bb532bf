package health

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/slipway-deploy/slipway/internal/canary"
	"github.com/slipway-deploy/slipway/internal/contract"
)

// MetricDataAPI is the part of *cloudwatch.Client that CloudWatchCanary
// uses.
type MetricDataAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var _ MetricDataAPI = (*cloudwatch.Client)(nil)

// CloudWatchCanary reads a canary analysis's figures on AWS: the
// manifest's CloudWatch metrics, published per instance (a dimension whose
// value is the instance id), with GetMetricData at one-minute periods. A
// point arrives in CloudWatch a minute or two after its traffic, so an
// analysis on AWS samples every minute or so.
type CloudWatchCanary struct {
	Client MetricDataAPI
}

// CanaryPeriod is the period of the points read: CloudWatch's standard
// resolution.
const CanaryPeriod = 60

// canaryQueriesPerCall keeps a GetMetricData call under its 500 queries:
// four per instance.
const canaryQueriesPerCall = 500

// Source names the metrics, or says none are named.
func (c *CloudWatchCanary) Source(_ context.Context, env string, spec contract.CanarySpec) (string, error) {
	m := spec.Metrics
	if m == nil {
		return "", errors.New("on AWS the analysis reads CloudWatch metrics published per instance: name them in rollout.canary.metrics (namespace, requests, errors, and optionally latency; docs/app.md, Canary analysis)")
	}
	names := m.Requests + ", " + m.Errors
	if m.Latency != "" {
		names += ", " + m.Latency
	}
	return fmt.Sprintf("CloudWatch %s: %s per %s", m.Namespace, names, m.Dimension), nil
}

// Totals sums each instance's points from since (down to its minute) to
// now: Sum of the requests and errors metrics, SampleCount and Sum of the
// latency metric.
func (c *CloudWatchCanary) Totals(ctx context.Context, env string, spec contract.CanarySpec, ids []string, since, now time.Time) (map[string]canary.Totals, error) {
	m := spec.Metrics
	if m == nil {
		return nil, errors.New("rollout.canary.metrics names no CloudWatch metrics")
	}
	out := map[string]canary.Totals{}
	for _, id := range ids {
		out[id] = canary.Totals{}
	}
	start := since.UTC().Truncate(time.Minute)
	if !now.After(start) {
		return out, nil
	}
	type ref struct {
		id   string
		what string
	}
	var queries []cwtypes.MetricDataQuery
	refs := map[string]ref{}
	// The manifest's own dimensions, the same on every query.
	var extra []cwtypes.Dimension
	for _, k := range slices.Sorted(maps.Keys(m.Dimensions)) {
		extra = append(extra, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(m.Dimensions[k])})
	}
	add := func(id, what, metric, stat string) {
		qid := fmt.Sprintf("q%d_%s", len(queries), what)
		dims := append([]cwtypes.Dimension{{Name: aws.String(m.Dimension), Value: aws.String(id)}}, extra...)
		queries = append(queries, cwtypes.MetricDataQuery{Id: aws.String(qid), ReturnData: aws.Bool(true),
			MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String(m.Namespace), MetricName: aws.String(metric), Dimensions: dims},
				Period: aws.Int32(CanaryPeriod), Stat: aws.String(stat)}})
		refs[qid] = ref{id, what}
	}
	for _, id := range ids {
		add(id, "requests", m.Requests, "Sum")
		add(id, "errors", m.Errors, "Sum")
		if m.Latency != "" {
			add(id, "timed", m.Latency, "SampleCount")
			add(id, "latency", m.Latency, "Sum")
		}
	}
	for lo := 0; lo < len(queries); lo += canaryQueriesPerCall {
		in := &cloudwatch.GetMetricDataInput{MetricDataQueries: queries[lo:min(lo+canaryQueriesPerCall, len(queries))],
			StartTime: aws.Time(start), EndTime: aws.Time(now.UTC()), ScanBy: cwtypes.ScanByTimestampAscending}
		p := cloudwatch.NewGetMetricDataPaginator(c.Client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("read the canary's metrics (%s): %w", m.Namespace, err)
			}
			for _, r := range page.MetricDataResults {
				rf, ok := refs[aws.ToString(r.Id)]
				if !ok {
					continue
				}
				sum := 0.0
				for _, v := range r.Values {
					sum += v
				}
				t := out[rf.id]
				switch rf.what {
				case "requests":
					t.Requests += int64(sum + 0.5)
				case "errors":
					t.Errors += int64(sum + 0.5)
				case "timed":
					t.LatencyCount += int64(sum + 0.5)
				case "latency":
					t.LatencySumMS += sum
				}
				out[rf.id] = t
			}
		}
	}
	return out, nil
}
