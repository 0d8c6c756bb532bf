package balancer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/traffic"
)

// Every test runs a real balancer process (this test binary, re-executed
// with SLIPWAY_BALANCER_SERVE and intercepted by the package's init) in
// front of real HTTP servers on 127.0.0.1.

func start(t *testing.T) *Client {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	c, err := Start(ctx, dir)
	if err != nil {
		t.Fatalf("Start(%s) = %v", dir, err)
	}
	t.Cleanup(func() {
		if err := Stop(context.Background(), dir); err != nil {
			t.Errorf("Stop(%s) = %v", dir, err)
		}
		checkLog(t, dir)
	})
	return c
}

// checkLog fails the test if the balancer process reported a data race
// (under go test -race the child is built with the detector too) or a panic.
func checkLog(t *testing.T, dir string) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, LogFile))
	if strings.Contains(string(b), "DATA RACE") || strings.Contains(string(b), "panic") {
		t.Errorf("balancer log:\n%s", b)
	}
}

// backend is an app instance: /healthz answers 200, /down 503, / its
// name, /slow its name once release is closed.
type backend struct {
	*httptest.Server
	name    string
	arrived chan struct{}
	release chan struct{}
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name, arrived: make(chan struct{}, 16), release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		b.arrived <- struct{}{}
		<-b.release
		io.WriteString(w, name)
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
	b.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		select {
		case <-b.release:
		default:
			close(b.release)
		}
		b.Close()
	})
	return b
}

func (b *backend) target() traffic.Target {
	u, _ := url.Parse(b.URL)
	port, _ := strconv.Atoi(u.Port())
	return traffic.Target{ID: b.name, Port: port}
}

// waitFor polls the group's targets until cond holds, for at most 30 s.
func waitFor(t *testing.T, c *Client, group, what string, cond func([]traffic.TargetHealth) bool) []traffic.TargetHealth {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var ts []traffic.TargetHealth
	var err error
	for time.Now().Before(deadline) {
		ts, err = c.Targets(context.Background(), group)
		if err == nil && cond(ts) {
			return ts
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("targets of %s never became %s; last: %v, %v", group, what, ts, err)
	return nil
}

func states(want map[string]string) func([]traffic.TargetHealth) bool {
	return func(ts []traffic.TargetHealth) bool {
		got := map[string]string{}
		for _, th := range ts {
			got[th.ID] = th.State
		}
		return cmp.Equal(got, want)
	}
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s = %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRegisterInitialThenHealthy(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	b := newBackend(t, "i-1")
	// Five passes 300 ms apart: initial for well over a second.
	if err := c.CreateGroup(ctx, "staging", Group{Interval: Duration(300 * time.Millisecond), HealthyThreshold: 5}); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, "staging", []traffic.Target{b.target()}); err != nil {
		t.Fatal(err)
	}
	ts, err := c.Targets(ctx, "staging")
	if err != nil {
		t.Fatal(err)
	}
	want := []traffic.TargetHealth{{Target: b.target(), State: traffic.StateInitial, Reason: "Elb.RegistrationInProgress"}}
	if diff := cmp.Diff(want, ts); diff != "" {
		t.Errorf("Targets right after Register (-want +got):\n%s", diff)
	}
	waitFor(t, c, "staging", "healthy", states(map[string]string{"i-1": traffic.StateHealthy}))
	// Registering it again changes nothing, as on ELBv2.
	if err := c.Register(ctx, "staging", []traffic.Target{b.target()}); err != nil {
		t.Fatal(err)
	}
	if ts, _ := c.Targets(ctx, "staging"); len(ts) != 1 || ts[0].State != traffic.StateHealthy {
		t.Errorf("Targets after registering again = %v, want i-1 healthy", ts)
	}
	d, err := c.DeregistrationDelay(ctx, "staging")
	if err != nil || d != DefaultDeregistrationDelay {
		t.Errorf("DeregistrationDelay = %v, %v, want %v", d, err, DefaultDeregistrationDelay)
	}
}

func TestDeregisterDrainsInFlight(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	b := newBackend(t, "i-1")
	if err := c.CreateGroup(ctx, "staging", Group{Interval: Duration(50 * time.Millisecond), DeregistrationDelay: Duration(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, "staging", []traffic.Target{b.target()}); err != nil {
		t.Fatal(err)
	}
	l, err := c.CreateListener(ctx, "staging", 0, map[string]int{"staging": 100})
	if err != nil {
		t.Fatal(err)
	}
	endpoint, err := c.Endpoint(ctx, "staging")
	if err != nil || endpoint != fmt.Sprintf("http://127.0.0.1:%d", l.Port) {
		t.Fatalf("Endpoint = %q, %v, want port %d", endpoint, err, l.Port)
	}
	waitFor(t, c, "staging", "healthy", states(map[string]string{"i-1": traffic.StateHealthy}))

	type answer struct {
		status int
		body   string
		err    error
	}
	slow := make(chan answer, 1)
	go func() {
		resp, err := http.Get(endpoint + "/slow")
		if err != nil {
			slow <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		slow <- answer{status: resp.StatusCode, body: string(body)}
	}()
	<-b.arrived // the request is in flight on i-1

	if err := c.Deregister(ctx, "staging", []traffic.Target{{ID: "i-1"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "staging", "draining", states(map[string]string{"i-1": traffic.StateDraining}))
	// No new request reaches a draining target: with nothing else, 503.
	if status, _ := get(t, endpoint+"/"); status != http.StatusServiceUnavailable {
		t.Errorf("GET during drain = %d, want 503", status)
	}
	if ts, _ := c.Targets(ctx, "staging"); len(ts) != 1 {
		t.Errorf("Targets while a request is in flight = %v, want i-1 still draining", ts)
	}
	close(b.release)
	if a := <-slow; a.err != nil || a.status != http.StatusOK || a.body != "i-1" {
		t.Errorf("in-flight GET /slow = %d %q %v, want 200 from i-1", a.status, a.body, a.err)
	}
	waitFor(t, c, "staging", "gone", states(map[string]string{}))

	cs, err := c.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every request is timed: the slow one took as long as it was held.
	if got := cs.Listeners["staging"]; got.Requests != 2 || got.Failed != 1 || got.Timed != 2 || got.LatencyMS <= 0 {
		t.Errorf("listener counters = %+v, want 2 requests timed (the slow 200 and the 503), 1 failed", got)
	}
	if got := cs.Targets["staging/"+b.target().ID+":"+strconv.Itoa(b.target().Port)]; got.Requests != 1 || got.Failed != 0 || got.Timed != 1 || got.LatencyMS <= 0 {
		t.Errorf("target counters = %+v, want 1 request timed, none failed", got)
	}

	// Put back without a port, as the pipeline does (on AWS the group has
	// a default port): it returns to its own port.
	if err := c.Register(ctx, "staging", []traffic.Target{{ID: "i-1"}}); err != nil {
		t.Fatal(err)
	}
	ts := waitFor(t, c, "staging", "healthy again", states(map[string]string{"i-1": traffic.StateHealthy}))
	if ts[0].Port != b.target().Port {
		t.Errorf("port after registering without one = %d, want %d", ts[0].Port, b.target().Port)
	}
	if status, body := get(t, endpoint+"/"); status != http.StatusOK || body != "i-1" {
		t.Errorf("GET after registering again = %d %q, want 200 from i-1", status, body)
	}
}

func TestDeregistrationDelayEndsDrain(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	b := newBackend(t, "i-1")
	if err := c.CreateGroup(ctx, "staging", Group{Interval: Duration(50 * time.Millisecond), DeregistrationDelay: Duration(300 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, "staging", []traffic.Target{b.target()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateListener(ctx, "staging", 0, map[string]int{"staging": 100}); err != nil {
		t.Fatal(err)
	}
	endpoint, _ := c.Endpoint(ctx, "staging")
	waitFor(t, c, "staging", "healthy", states(map[string]string{"i-1": traffic.StateHealthy}))
	go func() {
		if resp, err := http.Get(endpoint + "/slow"); err == nil {
			resp.Body.Close()
		}
	}()
	<-b.arrived
	if err := c.Deregister(ctx, "staging", []traffic.Target{b.target()}); err != nil {
		t.Fatal(err)
	}
	// The request never finishes (until cleanup), yet the delay removes it.
	waitFor(t, c, "staging", "gone after the delay", states(map[string]string{}))
}

func TestKilledTargetTurnsUnhealthyAndIsSkipped(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	b1, b2 := newBackend(t, "i-1"), newBackend(t, "i-2")
	if err := c.CreateGroup(ctx, "staging", Group{Interval: Duration(50 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, "staging", []traffic.Target{b1.target(), b2.target()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateListener(ctx, "staging", 0, map[string]int{"staging": 100}); err != nil {
		t.Fatal(err)
	}
	endpoint, _ := c.Endpoint(ctx, "staging")
	waitFor(t, c, "staging", "healthy", states(map[string]string{"i-1": traffic.StateHealthy, "i-2": traffic.StateHealthy}))
	seen := map[string]int{}
	for range 10 {
		_, body := get(t, endpoint+"/")
		seen[body]++
	}
	if seen["i-1"] != 5 || seen["i-2"] != 5 {
		t.Errorf("round robin over two healthy targets = %v, want 5 each", seen)
	}

	// Traffic keeps flowing while i-2 dies.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if resp, err := http.Get(endpoint + "/"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	b2.CloseClientConnections()
	b2.Close()
	ts := waitFor(t, c, "staging", "i-2 unhealthy", states(map[string]string{"i-1": traffic.StateHealthy, "i-2": traffic.StateUnhealthy}))
	close(stop)
	wg.Wait()
	if ts[1].Reason == "" {
		t.Errorf("unhealthy target has no reason: %+v", ts[1])
	}
	for i := range 20 {
		if status, body := get(t, endpoint+"/"); status != http.StatusOK || body != "i-1" {
			t.Fatalf("request %d after i-2 turned unhealthy = %d %q, want 200 from i-1", i, status, body)
		}
	}
}

func TestFailOpenWhenNoneHealthy(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	// Its health path answers 503: unhealthy, yet it serves /.
	b := newBackend(t, "i-1")
	if err := c.CreateGroup(ctx, "staging", Group{HealthPath: "/down", Interval: Duration(50 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, "staging", []traffic.Target{b.target()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateListener(ctx, "staging", 0, map[string]int{"staging": 100}); err != nil {
		t.Fatal(err)
	}
	endpoint, _ := c.Endpoint(ctx, "staging")
	waitFor(t, c, "staging", "unhealthy", states(map[string]string{"i-1": traffic.StateUnhealthy}))
	if status, body := get(t, endpoint+"/"); status != http.StatusOK || body != "i-1" {
		t.Errorf("GET with no healthy target = %d %q, want 200 from i-1 (fail open)", status, body)
	}
}

func TestWeightsSwitchInOneCall(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	blue, green := newBackend(t, "blue-1"), newBackend(t, "green-1")
	for name, b := range map[string]*backend{"staging-blue": blue, "staging-green": green} {
		if err := c.CreateGroup(ctx, name, Group{Interval: Duration(50 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		if err := c.Register(ctx, name, []traffic.Target{b.target()}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, c, name, "healthy", states(map[string]string{b.name: traffic.StateHealthy}))
	}
	if _, err := c.CreateListener(ctx, "staging", 0, map[string]int{"staging-blue": 100, "staging-green": 0}); err != nil {
		t.Fatal(err)
	}
	endpoint, _ := c.Endpoint(ctx, "staging")
	for range 10 {
		if _, body := get(t, endpoint+"/"); body != "blue-1" {
			t.Fatalf("GET at blue 100 / green 0 = %q, want blue-1", body)
		}
	}
	want := map[string]int{"staging-blue": 0, "staging-green": 100}
	if err := c.SetWeights(ctx, "staging", want); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, body := get(t, endpoint+"/"); body != "green-1" {
			t.Fatalf("GET at blue 0 / green 100 = %q, want green-1", body)
		}
	}
	got, err := c.Weights(ctx, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Weights (-want +got):\n%s", diff)
	}
	// Half and half: each request chooses by weight.
	if err := c.SetWeights(ctx, "staging", map[string]int{"staging-blue": 50, "staging-green": 50}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range 200 {
		_, body := get(t, endpoint+"/")
		seen[body]++
	}
	if seen["blue-1"] == 0 || seen["green-1"] == 0 || seen["blue-1"]+seen["green-1"] != 200 {
		t.Errorf("200 requests at 50/50 went %v, want both sides", seen)
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{`"5s"`, 5 * time.Second, false},
		{`"200ms"`, 200 * time.Millisecond, false},
		{`2.5`, 2500 * time.Millisecond, false},
		{`"five"`, 0, true},
		{`true`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			err := json.Unmarshal([]byte(tt.in), &d)
			if (err != nil) != tt.wantErr || time.Duration(d) != tt.want {
				t.Errorf("Unmarshal(%s) = %v, %v, want %v (error: %v)", tt.in, time.Duration(d), err, tt.want, tt.wantErr)
			}
		})
	}
	if b, _ := json.Marshal(Duration(5 * time.Second)); string(b) != `"5s"` {
		t.Errorf("Marshal(5s) = %s, want \"5s\"", b)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c, err := Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		Stop(context.Background(), dir)
		checkLog(t, dir)
	})
	b := newBackend(t, "i-1")
	group := Group{Interval: Duration(50 * time.Millisecond), DeregistrationDelay: Duration(2 * time.Second)}
	if err := c.CreateGroup(ctx, "staging", group); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, "staging", []traffic.Target{b.target()}); err != nil {
		t.Fatal(err)
	}
	before, err := c.CreateListener(ctx, "staging", 0, map[string]int{"staging": 100})
	if err != nil {
		t.Fatal(err)
	}
	pid := PID(dir)
	if err := Stop(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if PID(dir) != 0 {
		t.Fatalf("PID after Stop = %d, want 0", PID(dir))
	}
	if _, err := Dial(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Dial after Stop = %v, want ErrNotRunning", err)
	}

	c, err = Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if PID(dir) == pid || PID(dir) == 0 {
		t.Errorf("PID after restart = %d, the old one was %d", PID(dir), pid)
	}
	after, err := c.Listener(ctx, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("listener after restart (-before +after):\n%s", diff)
	}
	if d, _ := c.DeregistrationDelay(ctx, "staging"); d != 2*time.Second {
		t.Errorf("DeregistrationDelay after restart = %v, want 2s", d)
	}
	waitFor(t, c, "staging", "healthy after restart", states(map[string]string{"i-1": traffic.StateHealthy}))
	if status, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", after.Port)); status != http.StatusOK || body != "i-1" {
		t.Errorf("GET after restart = %d %q, want 200 from i-1", status, body)
	}
	// Start on a running balancer returns it.
	again, err := Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := again.Status(ctx); st.PID != PID(dir) {
		t.Errorf("Start on a running balancer started pid %d, want %d", st.PID, PID(dir))
	}
}

func TestControlAPIBadInput(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	if err := c.CreateGroup(ctx, "staging", Group{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateListener(ctx, "staging", 0, map[string]int{"staging": 1}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"unknown group", "POST", "/v1/groups/nope/register", `{"targets":[{"id":"i-1","port":8080}]}`, 404, `no target group "nope": create it first`},
		{"no targets", "POST", "/v1/groups/staging/register", `{"targets":[]}`, 400, "no targets given"},
		{"no port, never seen", "POST", "/v1/groups/staging/register", `{"targets":[{"id":"i-1"}]}`, 400, "target i-1 has no port and was never registered in staging with one"},
		{"bad port", "POST", "/v1/groups/staging/register", `{"targets":[{"id":"i-1","port":70000}]}`, 400, "port 70000 is not between 1 and 65535"},
		{"no id", "POST", "/v1/groups/staging/deregister", `{"targets":[{"port":8080}]}`, 400, "a target has no id"},
		{"not JSON", "POST", "/v1/groups/staging/register", `targets: i-1`, 400, "send one JSON object"},
		{"unknown field", "PUT", "/v1/groups/staging", `{"healthcheck":"/up"}`, 400, `unknown field "healthcheck"`},
		{"bad group name", "PUT", "/v1/groups/-blue", `{}`, 400, "use 1 to 32 letters, digits and hyphens"},
		{"bad health path", "PUT", "/v1/groups/staging", `{"health_path":"healthz"}`, 400, "must start with /"},
		{"bad duration", "PUT", "/v1/groups/staging", `{"deregistration_delay":"five"}`, 400, `write it as "5s"`},
		{"threshold", "PUT", "/v1/groups/staging", `{"healthy_threshold":11}`, 400, "between 1 and 10"},
		{"weights of unknown group", "PUT", "/v1/listeners/staging/weights", `{"weights":{"staging-green":100}}`, 404, `target group "staging-green", which does not exist`},
		{"negative weight", "PUT", "/v1/listeners/staging/weights", `{"weights":{"staging":-1}}`, 400, "weights are between 0 and 999"},
		{"all zero", "PUT", "/v1/listeners/staging/weights", `{"weights":{"staging":0}}`, 400, "give at least one target group a positive weight"},
		{"unknown listener", "PUT", "/v1/listeners/prod/weights", `{"weights":{"staging":1}}`, 404, `no listener "prod": create it first`},
		{"listener port moved", "PUT", "/v1/listeners/staging", `{"port":1,"weights":{"staging":1}}`, 409, "already listens on port"},
		{"unknown route", "GET", "/v2/targets", ``, 404, "not part of the balancer's control API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, c.base+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var eb errorBody
			if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
				t.Fatalf("%s %s: decode the error: %v", tt.method, tt.path, err)
			}
			if resp.StatusCode != tt.status || !strings.Contains(eb.Error, tt.want) {
				t.Errorf("%s %s = %d %q, want %d with %q", tt.method, tt.path, resp.StatusCode, eb.Error, tt.status, tt.want)
			}
		})
	}
	// The client carries the message.
	err := c.Register(ctx, "nope", []traffic.Target{{ID: "i-1", Port: 8080}})
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || !strings.Contains(err.Error(), "register targets in nope: no target group") {
		t.Errorf("Register(nope) = %v, want a 404 *Error saying to create the group", err)
	}
}

func TestDialWithoutBalancer(t *testing.T) {
	if _, err := Dial(t.TempDir()); !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "slipway local balancer start") {
		t.Errorf("Dial(empty dir) = %v, want ErrNotRunning with a hint", err)
	}
	if err := Stop(context.Background(), t.TempDir()); err != nil {
		t.Errorf("Stop(empty dir) = %v, want nil", err)
	}
}

// BenchmarkProxy measures one GET through the balancer process against the
// same GET straight to the app.
func BenchmarkProxy(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	c, err := Start(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer Stop(context.Background(), dir)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer app.Close()
	u, _ := url.Parse(app.URL)
	port, _ := strconv.Atoi(u.Port())
	if err := c.CreateGroup(ctx, "staging", Group{}); err != nil {
		b.Fatal(err)
	}
	if err := c.Register(ctx, "staging", []traffic.Target{{ID: "i-1", Port: port}}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateListener(ctx, "staging", 0, map[string]int{"staging": 100}); err != nil {
		b.Fatal(err)
	}
	endpoint, _ := c.Endpoint(ctx, "staging")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	run := func(b *testing.B, u string) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("GET %s = %d", u, resp.StatusCode)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, app.URL+"/") })
	b.Run("balancer", func(b *testing.B) { run(b, endpoint+"/") })
}

func TestConcurrentStartsStartOne(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() {
		Stop(context.Background(), dir)
		checkLog(t, dir)
	})
	pids := make(chan int, 3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Start(context.Background(), dir)
			if err != nil {
				t.Errorf("Start = %v", err)
				pids <- 0
				return
			}
			st, err := c.Status(context.Background())
			if err != nil {
				t.Errorf("Status = %v", err)
			}
			pids <- st.PID
		}()
	}
	wg.Wait()
	close(pids)
	seen := map[int]bool{}
	for pid := range pids {
		seen[pid] = true
	}
	if len(seen) != 1 {
		t.Errorf("three concurrent Starts reached balancers %v, want one", seen)
	}
}

// BenchmarkSwitch measures a blue/green switch: one SetWeights call, after
// which the next request is answered by the other side.
func BenchmarkSwitch(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	c, err := Start(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer Stop(context.Background(), dir)
	sides := []string{"staging-blue", "staging-green"}
	for _, side := range sides {
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, side) }))
		defer app.Close()
		u, _ := url.Parse(app.URL)
		port, _ := strconv.Atoi(u.Port())
		if err := c.CreateGroup(ctx, side, Group{Interval: Duration(20 * time.Millisecond)}); err != nil {
			b.Fatal(err)
		}
		if err := c.Register(ctx, side, []traffic.Target{{ID: side + "-1", Port: port}}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := c.CreateListener(ctx, "staging", 0, map[string]int{sides[0]: 100, sides[1]: 0}); err != nil {
		b.Fatal(err)
	}
	endpoint, _ := c.Endpoint(ctx, "staging")
	client := &http.Client{}
	i := 0
	for b.Loop() {
		i++
		to := sides[i%2]
		if err := c.SetWeights(ctx, "staging", map[string]int{to: 100, sides[(i+1)%2]: 0}); err != nil {
			b.Fatal(err)
		}
		resp, err := client.Get(endpoint + "/")
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != to {
			b.Fatalf("after switching to %s the next request went to %q", to, body)
		}
	}
}

// serveOn serves h on 127.0.0.1:port until the test ends or the returned
// server is shut down; the app finishes requests in flight on shutdown.
func serveOn(t *testing.T, port int, h http.Handler) *http.Server {
	t.Helper()
	var ln net.Listener
	var err error
	for range 100 { // the port was just released: retry briefly
		if ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv
}

// TestRollingRestartLosesNoRequest is the in-place deploy as the pipeline
// drives it, under continuous GET and POST load through the listener:
// deregister one instance, wait until it is gone, restart its app (a new
// process on the same port, as the host script does), register it again
// without a port, wait until healthy, next. Not one request may fail.
func TestRollingRestartLosesNoRequest(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	if err := c.CreateGroup(ctx, "staging", Group{Interval: Duration(50 * time.Millisecond), DeregistrationDelay: Duration(10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	app := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			time.Sleep(time.Millisecond) // a little work, so requests are in flight
			io.WriteString(w, name)
		})
	}
	servers := map[string]*http.Server{}
	ports := map[string]int{}
	var targets []traffic.Target
	for _, id := range []string{"i-1", "i-2", "i-3"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[id] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		servers[id] = serveOn(t, ports[id], app(id+"/v1"))
		targets = append(targets, traffic.Target{ID: id, Port: ports[id]})
	}
	if err := c.Register(ctx, "staging", targets); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateListener(ctx, "staging", 0, map[string]int{"staging": 100}); err != nil {
		t.Fatal(err)
	}
	endpoint, _ := c.Endpoint(ctx, "staging")
	all := map[string]string{"i-1": traffic.StateHealthy, "i-2": traffic.StateHealthy, "i-3": traffic.StateHealthy}
	waitFor(t, c, "staging", "healthy", states(all))

	var mu sync.Mutex
	var sent, failed int
	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var resp *http.Response
				var err error
				if (i+w)%2 == 0 {
					resp, err = client.Get(endpoint + "/")
				} else {
					resp, err = client.Post(endpoint+"/orders", "text/plain", strings.NewReader("one order"))
				}
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				sent++
				if !ok {
					failed++
					failures = append(failures, fmt.Sprint(resp, err))
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range []string{"i-1", "i-2", "i-3"} {
		if err := c.Deregister(ctx, "staging", []traffic.Target{{ID: id, Port: ports[id]}}); err != nil {
			t.Fatal(err)
		}
		delete(all, id)
		waitFor(t, c, "staging", id+" gone", states(all))
		shutdown, cancel := context.WithTimeout(ctx, 10*time.Second)
		servers[id].Shutdown(shutdown)
		cancel()
		servers[id] = serveOn(t, ports[id], app(id+"/v2"))
		if err := c.Register(ctx, "staging", []traffic.Target{{ID: id}}); err != nil {
			t.Fatal(err)
		}
		all[id] = traffic.StateHealthy
		waitFor(t, c, "staging", id+" healthy again", states(all))
	}
	close(stop)
	wg.Wait()
	if sent == 0 || failed != 0 {
		t.Errorf("rolling restart: %d requests, %d failed, want 0 failed; first failures: %v", sent, failed, failures[:min(len(failures), 3)])
	}
	cs, err := c.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.Listeners["staging"]; got.Failed != 0 || got.Requests < uint64(sent) {
		t.Errorf("listener counters = %+v, want %d+ requests, 0 failed", got, sent)
	}
	t.Logf("rolling restart of 3 instances: %d requests through the balancer, %d failed", sent, failed)
	if _, body := get(t, endpoint+"/"); !strings.HasSuffix(body, "/v2") {
		t.Errorf("after the rollout GET = %q, want a v2 answer", body)
	}
}

func TestStopSignalsOnlyItsOwnProcess(t *testing.T) {
	dir := t.TempDir()
	// A pid file naming a live process that is no balancer (this test).
	if err := os.WriteFile(filepath.Join(dir, PIDFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := saveState(dir, &state{ControlPort: 1}); err != nil {
		t.Fatal(err)
	}
	if err := Stop(context.Background(), dir); err != nil {
		t.Errorf("Stop with a reused pid = %v, want nil", err)
	}
	if PID(dir) != 0 {
		t.Errorf("PID after Stop with a reused pid = %d, want 0 (pid file removed)", PID(dir))
	}
	// And a real one is recognised.
	c := start(t)
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !servesDir(st.PID, c.Dir) {
		t.Errorf("servesDir(%d, %s) = false, want true", st.PID, c.Dir)
	}
}

// TestStopsWhenItsDirectoryIsRemoved: a balancer whose directory is
// removed under it (a test's temporary directory, `make clean`) exits by
// itself instead of serving on with nothing behind it.
func TestStopsWhenItsDirectoryIsRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lb")
	if _, err := Start(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	pid := PID(dir)
	if pid == 0 {
		t.Fatal("no balancer runs after Start")
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	// Well past dirWatchInterval: the wait is a bound, not a measurement.
	deadline := time.Now().Add(10 * dirWatchInterval)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("balancer %d still runs %s after its directory was removed", pid, 10*dirWatchInterval)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
