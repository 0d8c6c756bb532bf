// Package loadgen is a small load generator for proving zero failed
// requests during a deployment: N workers send GET requests to one URL or
// to several in round robin, at a fixed pace or back to back, until
// stopped. It counts requests, failures (transport errors, 5xx answers and,
// optionally, answers from a version that should not serve), latencies and
// the first and last failure.
//
// A run may start before its target is up: nothing is counted until the
// first successful answer, so a generator started next to a fleet that is
// still booting measures the fleet, not its boot.
//
// It is a test and demo tool, not a benchmark harness for the target: one
// worker waits for each answer before it sends the next request, so the
// rate it reaches is bounded by the target's latency.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// VersionHeader is the header an app names its release in.
const VersionHeader = "X-App-Version"

// Options shape a run.
type Options struct {
	// URLs are requested in round robin across all workers. At least one.
	URLs []string
	// Workers is the number of concurrent senders (default 1).
	Workers int
	// Interval is the pace of each worker: one request every Interval.
	// Zero sends back to back.
	Interval time.Duration
	// Timeout bounds one request (default 5s); a timeout is a failure.
	Timeout time.Duration
	// Versions, when set, are the only X-App-Version values a successful
	// answer may carry; any other (or none) counts as a failure.
	Versions []string
	// Forward, with Versions, says they take over in that order, each
	// switch at once (a blue/green switch, a switch back): a request sent
	// after an answer from a later version came back must not be answered
	// by an earlier one. A rolling deploy, where both serve for a while,
	// leaves it false.
	Forward bool
	// Client sends the requests (default: a client of its own, keep-alive
	// connections like a browser's).
	Client *http.Client
}

// Failure kinds.
const (
	KindTransport = "transport" // no answer: refused, reset, timeout
	KindStatus    = "status"    // a 5xx answer
	KindVersion   = "version"   // an answer from a version not in Options.Versions, or one that went back (Forward)
)

// Failure is one failed request.
type Failure struct {
	At     time.Time
	URL    string
	Kind   string
	Detail string
}

func (f Failure) String() string {
	return fmt.Sprintf("%s %s %s: %s", f.At.Format("15:04:05.000"), f.URL, f.Kind, f.Detail)
}

// VersionSeen is when answers from one version were seen.
type VersionSeen struct {
	Count       int
	First, Last time.Time
}

// Result is what a run counted from its first success on.
type Result struct {
	// Requests counts every request answered or failed after the first
	// success (the first success included).
	Requests int
	// Failed counts the failures among them.
	Failed int
	// ByKind counts failures per kind.
	ByKind map[string]int
	// Before counts requests before the first success, and failed ones
	// sent before it (not in Requests).
	Before int
	// Started is when the first success came back (zero: none yet).
	Started time.Time
	// FirstFailure and LastFailure are the earliest and latest failures;
	// Samples keeps up to 10 failures in order.
	FirstFailure, LastFailure *Failure
	Samples                   []Failure
	// P50, P99 and Max are latencies of the counted requests.
	P50, P99, Max time.Duration
	// Versions says which X-App-Version answered and when.
	Versions map[string]VersionSeen
	// Elapsed is from Started to the end of the run (or the snapshot).
	Elapsed time.Duration
}

// String is the one-line summary: "1234 requests, 0 failed".
func (r Result) String() string {
	return fmt.Sprintf("%d requests, %d failed", r.Requests, r.Failed)
}

// Detail is a longer summary: latencies, failure kinds, first and last
// failure.
func (r Result) Detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (p50 %s, p99 %s, max %s over %s)", r, r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond), r.Elapsed.Round(time.Millisecond))
	if r.Failed > 0 {
		kinds := make([]string, 0, len(r.ByKind))
		for k, n := range r.ByKind {
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
		}
		sort.Strings(kinds)
		fmt.Fprintf(&b, "; failures: %s; first: %s; last: %s", strings.Join(kinds, " "), r.FirstFailure, r.LastFailure)
	}
	return b.String()
}

// ErrNoURL is returned by Start when Options.URLs is empty.
var ErrNoURL = errors.New("loadgen: no URL to send load to: set Options.URLs")

// Run is a generator at work.
type Run struct {
	opts    Options
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	next    atomic.Uint64
	started atomic.Bool
	allowed map[string]int // version -> its place in Options.Versions

	mu        sync.Mutex
	res       Result
	latencies []time.Duration
	stopped   time.Time
}

// Start starts the workers; they run until Stop or until ctx ends.
func Start(ctx context.Context, opts Options) (*Run, error) {
	if len(opts.URLs) == 0 {
		return nil, ErrNoURL
	}
	for _, u := range opts.URLs {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, fmt.Errorf("loadgen: URL %q is not http(s)://host:port/path", u)
		}
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = opts.Workers
		opts.Client = &http.Client{Transport: tr}
	}
	r := &Run{opts: opts, res: Result{ByKind: map[string]int{}, Versions: map[string]VersionSeen{}}}
	if len(opts.Versions) > 0 {
		r.allowed = map[string]int{}
		for i, v := range opts.Versions {
			r.allowed[v] = i
		}
	}
	ctx, r.cancel = context.WithCancel(ctx)
	for range opts.Workers {
		r.wg.Add(1)
		go r.work(ctx)
	}
	return r, nil
}

// Stop stops the workers, waits for their requests in flight and returns
// the result. Calling it again returns the same result.
func (r *Run) Stop() Result {
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	if r.stopped.IsZero() {
		r.stopped = time.Now()
	}
	r.mu.Unlock()
	if t, ok := r.opts.Client.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	return r.Snapshot()
}

// Snapshot returns what was counted so far, while the run goes on.
func (r *Run) Snapshot() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.res
	res.ByKind = maps.Clone(r.res.ByKind)
	res.Versions = maps.Clone(r.res.Versions)
	res.Samples = slices.Clone(r.res.Samples)
	if len(r.latencies) > 0 {
		l := slices.Clone(r.latencies)
		slices.Sort(l)
		res.P50 = l[(len(l)-1)*50/100]
		res.P99 = l[(len(l)-1)*99/100]
		res.Max = l[len(l)-1]
	}
	if !res.Started.IsZero() {
		end := r.stopped
		if end.IsZero() {
			end = time.Now()
		}
		res.Elapsed = end.Sub(res.Started)
	}
	return res
}

// WaitStarted waits until the first success or until ctx ends.
func (r *Run) WaitStarted(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !r.started.Load() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("loadgen: no successful answer from %s yet: %w", strings.Join(r.opts.URLs, ", "), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

func (r *Run) work(ctx context.Context) {
	defer r.wg.Done()
	var tick <-chan time.Time
	if r.opts.Interval > 0 {
		t := time.NewTicker(r.opts.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		if ctx.Err() != nil {
			return
		}
		url := r.opts.URLs[int((r.next.Add(1)-1)%uint64(len(r.opts.URLs)))]
		r.one(ctx, url)
		if tick != nil {
			select {
			case <-ctx.Done():
				return
			case <-tick:
			}
		}
	}
}

// one sends one request and counts it. A request cut short because the
// run is stopping is not counted.
func (r *Run) one(ctx context.Context, url string) {
	rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		r.count(time.Now(), 0, &Failure{URL: url, Kind: KindTransport, Detail: err.Error()}, "")
		return
	}
	start := time.Now()
	resp, err := r.opts.Client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	took := time.Since(start)
	if err != nil && ctx.Err() != nil {
		return // stopped, not failed
	}
	now := time.Now()
	switch {
	case err != nil:
		r.count(now, took, &Failure{URL: url, Kind: KindTransport, Detail: err.Error()}, "")
	case resp.StatusCode >= 500:
		r.count(now, took, &Failure{URL: url, Kind: KindStatus, Detail: resp.Status}, resp.Header.Get(VersionHeader))
	default:
		v := resp.Header.Get(VersionHeader)
		place, ok := r.allowed[v]
		if r.allowed != nil && !ok {
			r.count(now, took, &Failure{URL: url, Kind: KindVersion, Detail: fmt.Sprintf("%s %q, want one of %s", VersionHeader, v, strings.Join(r.opts.Versions, ", "))}, v)
			return
		}
		if r.opts.Forward && r.allowed != nil {
			if later, at := r.takenOver(place, start); later != "" {
				r.count(now, took, &Failure{URL: url, Kind: KindVersion, Detail: fmt.Sprintf("%s %q answered a request sent after %s had answered (at %s)", VersionHeader, v, later, at.Format("15:04:05.000"))}, v)
				return
			}
		}
		r.count(now, took, nil, v)
	}
}

// takenOver returns a version later than place in Options.Versions that
// had answered before sent, and when it first did.
func (r *Run) takenOver(place int, sent time.Time) (string, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.opts.Versions[place+1:] {
		if s, ok := r.res.Versions[v]; ok && s.First.Before(sent) {
			return v, s.First
		}
	}
	return "", time.Time{}
}

func (r *Run) count(at time.Time, took time.Duration, f *Failure, version string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// A failure counts only for a request sent after the first success:
	// one sent while nothing served yet is part of the boot, even when its
	// answer comes back after another worker's first success.
	if f != nil && (r.res.Started.IsZero() || at.Add(-took).Before(r.res.Started)) {
		r.res.Before++
		return
	}
	if r.res.Started.IsZero() {
		r.res.Started = at
		r.started.Store(true)
	}
	r.res.Requests++
	r.latencies = append(r.latencies, took)
	if version != "" {
		s := r.res.Versions[version]
		if s.Count == 0 {
			s.First = at
		}
		s.Count++
		s.Last = at
		r.res.Versions[version] = s
	}
	if f == nil {
		return
	}
	f.At = at
	r.res.Failed++
	r.res.ByKind[f.Kind]++
	if r.res.FirstFailure == nil {
		ff := *f
		r.res.FirstFailure = &ff
	}
	lf := *f
	r.res.LastFailure = &lf
	if len(r.res.Samples) < 10 {
		r.res.Samples = append(r.res.Samples, *f)
	}
}
