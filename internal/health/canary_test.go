package health

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/slipway-deploy/slipway/internal/canary"
	"github.com/slipway-deploy/slipway/internal/contract"
)

// fakeMetricData answers GetMetricData in Smithy RPC v2 CBOR, as this SDK
// version speaks to CloudWatch: per query, points by instance and metric
// (each query's per-minute points, two pages for the first instance's
// requests), after checking each query's metric, dimensions, period and
// statistic.
type fakeMetricData struct {
	mu       sync.Mutex
	calls    int
	requests []cbor.Map
	problems []string
	// points[instance][metric+"/"+stat] are the values answered.
	points map[string]map[string][]float64
}

func str(v cbor.Value) string { s, _ := v.(cbor.String); return string(s) }

func (f *fakeMetricData) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	req, ok := readCBOR(w, r, "GetMetricData")
	if !ok {
		return
	}
	f.requests = append(f.requests, req)
	if _, ok := req["StartTime"]; !ok {
		f.problems = append(f.problems, "no StartTime")
	}
	var results cbor.List
	page2 := str(req["NextToken"]) == "page2"
	for _, q := range req["MetricDataQueries"].(cbor.List) {
		qm := q.(cbor.Map)
		ms := qm["MetricStat"].(cbor.Map)
		metric := ms["Metric"].(cbor.Map)
		if str(metric["Namespace"]) != "Shop" {
			f.problems = append(f.problems, "namespace "+str(metric["Namespace"]))
		}
		if p, _ := ms["Period"].(cbor.Uint); p != 60 {
			f.problems = append(f.problems, fmt.Sprintf("period %v", ms["Period"]))
		}
		dims := map[string]string{}
		for _, d := range metric["Dimensions"].(cbor.List) {
			dm := d.(cbor.Map)
			dims[str(dm["Name"])] = str(dm["Value"])
		}
		if dims["Stage"] != "staging" {
			f.problems = append(f.problems, fmt.Sprintf("dimensions %v", dims))
		}
		vals := f.points[dims["InstanceId"]][str(metric["MetricName"])+"/"+str(ms["Stat"])]
		// The first instance's requests come in two pages.
		if dims["InstanceId"] == "i-1" && str(metric["MetricName"]) == "Requests" {
			if page2 {
				vals = vals[1:]
			} else {
				vals = vals[:1]
			}
		} else if page2 {
			continue
		}
		var l cbor.List
		for _, x := range vals {
			l = append(l, cbor.Float64(x))
		}
		results = append(results, cbor.Map{"Id": qm["Id"], "Label": metric["MetricName"], "Values": l, "StatusCode": cbor.String("Complete")})
	}
	resp := cbor.Map{"MetricDataResults": results}
	if !page2 {
		resp["NextToken"] = cbor.String("page2")
	}
	w.Write(cbor.Encode(resp))
}

func newMetricData(t *testing.T, h http.Handler) *CloudWatchCanary {
	t.Helper()
	return &CloudWatchCanary{Client: newCloudWatch(t, h).Client.(*cloudwatch.Client)}
}

func TestCloudWatchCanaryOnTheWire(t *testing.T) {
	fake := &fakeMetricData{points: map[string]map[string][]float64{
		"i-1": {"Requests/Sum": {100, 120}, "Errors5xx/Sum": {2, 30}, "LatencyMs/SampleCount": {100, 120}, "LatencyMs/Sum": {1000, 1800}},
		"i-2": {"Requests/Sum": {200, 210}, "Errors5xx/Sum": {1, 3}, "LatencyMs/SampleCount": {200, 210}, "LatencyMs/Sum": {2000, 2100}},
	}}
	cw := newMetricData(t, fake)
	spec := contract.CanarySpec{Metrics: &contract.CanaryMetrics{Namespace: "Shop", Dimension: "InstanceId", Requests: "Requests", Errors: "Errors5xx", Latency: "LatencyMs",
		Dimensions: map[string]string{"Stage": "staging"}}}
	since := time.Date(2026, 12, 7, 10, 3, 27, 0, time.UTC)
	got, err := cw.Totals(context.Background(), "staging", spec, []string{"i-1", "i-2", "i-3"}, since, since.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]canary.Totals{
		"i-1": {Requests: 220, Errors: 32, LatencyCount: 220, LatencySumMS: 2800},
		"i-2": {Requests: 410, Errors: 4, LatencyCount: 410, LatencySumMS: 4100},
		"i-3": {},
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("Totals[%s] = %+v, want %+v", id, got[id], w)
		}
	}
	if fake.calls != 2 || len(fake.problems) > 0 {
		t.Errorf("%d calls (want 2: two pages), problems: %v", fake.calls, fake.problems)
	}
	first := fake.requests[0]
	if qs := first["MetricDataQueries"].(cbor.List); len(qs) != 12 {
		t.Errorf("%d queries, want 4 per instance", len(qs))
	}
	// From the start of the canary's minute.
	if st, ok := first["StartTime"].(*cbor.Tag); !ok || fmt.Sprint(st.Value) != fmt.Sprint(cbor.Float64(float64(since.Truncate(time.Minute).Unix()))) {
		t.Errorf("StartTime = %#v, want %s", first["StartTime"], since.Truncate(time.Minute))
	}

	src, err := cw.Source(context.Background(), "staging", spec)
	if err != nil || src != "CloudWatch Shop: Requests, Errors5xx, LatencyMs per InstanceId" {
		t.Errorf("Source = %q, %v", src, err)
	}
	if _, err := cw.Source(context.Background(), "staging", contract.CanarySpec{}); err == nil || !strings.Contains(err.Error(), "rollout.canary.metrics") {
		t.Errorf("Source without metrics: %v, want it to name rollout.canary.metrics", err)
	}
}

// TestCloudWatchCanaryAccessDenied: an error answer is returned, naming
// the namespace.
func TestCloudWatchCanaryAccessDenied(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
		w.WriteHeader(400)
		w.Write(cbor.Encode(cbor.Map{"__type": cbor.String("com.amazonaws.cloudwatch#AccessDenied"), "message": cbor.String("not authorized to perform: cloudwatch:GetMetricData")}))
	})
	cw := &CloudWatchCanary{Client: newCloudWatch(t, h).Client.(*cloudwatch.Client)}
	spec := contract.CanarySpec{Metrics: &contract.CanaryMetrics{Namespace: "Shop", Dimension: "InstanceId", Requests: "Requests", Errors: "Errors5xx"}}
	_, err := cw.Totals(context.Background(), "staging", spec, []string{"i-1"}, time.Now().Add(-time.Minute), time.Now())
	if err == nil || !strings.Contains(err.Error(), "Shop") || !strings.Contains(err.Error(), "cloudwatch:GetMetricData") {
		t.Errorf("Totals = %v, want the access denial, naming the namespace", err)
	}
}
