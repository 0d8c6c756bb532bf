package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// versioned is a server that answers 200 with X-App-Version: v.
func versioned(t *testing.T, v string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(VersionHeader, v)
		w.Write([]byte("ok"))
	}))
	t.Cleanup(s.Close)
	return s
}

// until runs the load until at least n requests were counted, then stops it.
func until(t *testing.T, r *Run, n int) Result {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for r.Snapshot().Requests < n {
		if time.Now().After(deadline) {
			r.Stop()
			t.Fatalf("fewer than %d requests counted after 30s: %s", n, r.Snapshot().Detail())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return r.Stop()
}

func TestRoundRobinCountsEverySuccess(t *testing.T) {
	a, b := versioned(t, "v1"), versioned(t, "v2")
	r, err := Start(context.Background(), Options{URLs: []string{a.URL, b.URL}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	res := until(t, r, 50)
	if res.Failed != 0 {
		t.Errorf("Failed = %d, want 0: %s", res.Failed, res.Detail())
	}
	if res.Versions["v1"].Count == 0 || res.Versions["v2"].Count == 0 {
		t.Errorf("Versions = %v, want answers from both URLs", res.Versions)
	}
	if got := res.Versions["v1"].Count + res.Versions["v2"].Count; got != res.Requests {
		t.Errorf("answers per version add up to %d, want Requests %d", got, res.Requests)
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("latencies p50 %s p99 %s max %s, want 0 < p50 <= p99 <= max", res.P50, res.P99, res.Max)
	}
	if res.FirstFailure != nil {
		t.Errorf("FirstFailure = %v, want none", res.FirstFailure)
	}
	if want := fmt.Sprintf("%d requests, 0 failed", res.Requests); res.String() != want {
		t.Errorf("String() = %q, want %q", res.String(), want)
	}
}

func TestCountsFailures(t *testing.T) {
	var n atomic.Int64
	// Every third answer is a 503; every third another a wrong version.
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 3 {
		case 0:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 1:
			w.Header().Set(VersionHeader, "v1")
		case 2:
			w.Header().Set(VersionHeader, "v9")
		}
	}))
	defer s.Close()
	r, err := Start(context.Background(), Options{URLs: []string{s.URL}, Versions: []string{"v1"}})
	if err != nil {
		t.Fatal(err)
	}
	res := until(t, r, 30)
	if res.ByKind[KindStatus] == 0 || res.ByKind[KindVersion] == 0 || res.ByKind[KindTransport] != 0 {
		t.Errorf("ByKind = %v, want status and version failures, no transport ones", res.ByKind)
	}
	if res.Failed != res.ByKind[KindStatus]+res.ByKind[KindVersion] {
		t.Errorf("Failed = %d, want the sum of ByKind %v", res.Failed, res.ByKind)
	}
	if res.FirstFailure == nil || res.LastFailure == nil || res.LastFailure.At.Before(res.FirstFailure.At) {
		t.Errorf("first failure %v, last %v: want both, in order", res.FirstFailure, res.LastFailure)
	}
	if len(res.Samples) != min(res.Failed, 10) {
		t.Errorf("len(Samples) = %d, want %d", len(res.Samples), min(res.Failed, 10))
	}
}

// A target that is not up yet is not counted against the run; one that
// goes away is.
func TestCountsFromFirstSuccess(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: connection refused
	r, err := Start(context.Background(), Options{URLs: []string{"http://" + addr + "/"}, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for r.Snapshot().Before < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no refused request after 30s: %+v", r.Snapshot())
		}
		time.Sleep(time.Millisecond)
	}
	if got := r.Snapshot(); got.Requests != 0 || got.Failed != 0 || !got.Started.IsZero() {
		t.Fatalf("before the target is up: %+v, want nothing counted", got)
	}

	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken again before the test could listen: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.Serve(l)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitStarted(ctx); err != nil {
		t.Fatal(err)
	}
	for r.Snapshot().Requests < 5 {
		time.Sleep(time.Millisecond)
	}
	srv.Close()
	for r.Snapshot().Failed == 0 {
		if ctx.Err() != nil {
			t.Fatalf("no failure counted after the target went away: %+v", r.Snapshot())
		}
		time.Sleep(time.Millisecond)
	}
	res := r.Stop()
	if res.ByKind[KindTransport] == 0 || res.Before < 3 {
		t.Errorf("result %s, ByKind %v, Before %d: want transport failures after the start and the refused requests before it apart", res, res.ByKind, res.Before)
	}
}

func TestTimeoutIsAFailure(t *testing.T) {
	var slow atomic.Bool
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer s.Close()
	defer close(release)
	r, err := Start(context.Background(), Options{URLs: []string{s.URL}, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitStarted(ctx); err != nil {
		t.Fatal(err)
	}
	slow.Store(true)
	for r.Snapshot().Failed == 0 {
		if ctx.Err() != nil {
			t.Fatal("a request past its timeout was not counted as failed")
		}
		time.Sleep(time.Millisecond)
	}
	res := r.Stop()
	if res.ByKind[KindTransport] == 0 {
		t.Errorf("ByKind = %v, want the timeout as a transport failure", res.ByKind)
	}
}

// Stop does not count the requests it cuts short.
func TestStopIsNotAFailure(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			<-r.Context().Done()
		}
	}))
	defer s.Close()
	r, err := Start(context.Background(), Options{URLs: []string{s.URL + "/", s.URL + "/hang"}, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitStarted(ctx); err != nil {
		t.Fatal(err)
	}
	res := r.Stop()
	if res.Failed != 0 {
		t.Errorf("Failed = %d after Stop, want 0: %s", res.Failed, res.Detail())
	}
	if again := r.Stop(); again.Requests != res.Requests {
		t.Errorf("second Stop counted %d requests, first %d", again.Requests, res.Requests)
	}
}

func TestPaceBoundsTheRate(t *testing.T) {
	s := versioned(t, "v1")
	r, err := Start(context.Background(), Options{URLs: []string{s.URL}, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res := until(t, r, 5)
	// One worker, one request per 20ms: never more than elapsed/20ms + 1.
	if limit := int(res.Elapsed/(20*time.Millisecond)) + 2; res.Requests > limit {
		t.Errorf("%d requests in %s at one per 20ms, want at most %d", res.Requests, res.Elapsed, limit)
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := Start(context.Background(), Options{}); !errors.Is(err, ErrNoURL) {
		t.Errorf("Start(no URL) = %v, want ErrNoURL", err)
	}
	if _, err := Start(context.Background(), Options{URLs: []string{"127.0.0.1:80"}}); err == nil {
		t.Error("Start(URL without scheme) = nil, want an error")
	}
}

func BenchmarkRequest(b *testing.B) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer s.Close()
	r, err := Start(context.Background(), Options{URLs: []string{s.URL}})
	if err != nil {
		b.Fatal(err)
	}
	r.Stop()
	b.ReportAllocs()
	for b.Loop() {
		r.one(context.Background(), s.URL)
	}
}

// With Forward, a switch v1 → v2 is fine and a switch back to v1 is not;
// without it, both are.
func TestForwardCatchesASwitchBack(t *testing.T) {
	var version atomic.Value
	version.Store("v1")
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(VersionHeader, version.Load().(string))
	}))
	defer s.Close()
	for _, tt := range []struct {
		name       string
		forward    bool
		switchBack bool
		wantFailed bool
	}{
		{"forward switch", true, false, false},
		{"switch back", true, true, true},
		{"switch back, not forward", false, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			version.Store("v1")
			r, err := Start(context.Background(), Options{URLs: []string{s.URL}, Workers: 2, Versions: []string{"v1", "v2"}, Forward: tt.forward})
			if err != nil {
				t.Fatal(err)
			}
			wait := func(cond func(Result) bool) {
				deadline := time.Now().Add(30 * time.Second)
				for !cond(r.Snapshot()) {
					if time.Now().After(deadline) {
						r.Stop()
						t.Fatalf("waited 30s: %+v", r.Snapshot())
					}
					time.Sleep(time.Millisecond)
				}
			}
			wait(func(res Result) bool { return res.Versions["v1"].Count >= 5 })
			version.Store("v2")
			wait(func(res Result) bool { return res.Versions["v2"].Count >= 5 })
			if tt.switchBack {
				version.Store("v1")
				n := r.Snapshot().Versions["v1"].Count
				wait(func(res Result) bool { return res.Versions["v1"].Count >= n+5 })
			}
			res := r.Stop()
			if got := res.ByKind[KindVersion] > 0; got != tt.wantFailed {
				t.Errorf("version failures %d, want some: %v (%s)", res.ByKind[KindVersion], tt.wantFailed, res.Detail())
			}
		})
	}
}

// TestAFailureSentBeforeTheFirstSuccessIsNotCounted: two workers, one
// request each sent while nothing serves; the second's answer (a 502)
// comes back after the first's success. It belongs to the boot, not to
// the run; a failure sent after the first success counts.
func TestAFailureSentBeforeTheFirstSuccessIsNotCounted(t *testing.T) {
	r := &Run{res: Result{ByKind: map[string]int{}, Versions: map[string]VersionSeen{}}}
	t0 := time.Date(2026, 12, 6, 18, 28, 5, 0, time.UTC)
	ms := time.Millisecond
	r.count(t0.Add(466*ms), 1*ms, nil, "v1")                                     // sent at 465, the first success
	r.count(t0.Add(467*ms), 3*ms, &Failure{Kind: KindStatus, Detail: "502"}, "") // sent at 464: before it
	if res := r.res; res.Failed != 0 || res.Before != 1 || res.Requests != 1 {
		t.Errorf("after a failure sent before the first success: failed %d, before %d, requests %d; want 0, 1, 1", res.Failed, res.Before, res.Requests)
	}
	r.count(t0.Add(470*ms), 2*ms, &Failure{Kind: KindStatus, Detail: "502"}, "") // sent at 468: after it
	if res := r.res; res.Failed != 1 || res.Requests != 2 {
		t.Errorf("after a failure sent after the first success: failed %d, requests %d; want 1, 2", res.Failed, res.Requests)
	}
}
