package balancer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-deploy/slipway/internal/traffic"
)

// Counter counts the requests a listener or a target served and how many
// of them failed (a 5xx answer, or no answer at all), and how long they
// took: Timed of them, LatencyMS milliseconds in all, from the request's
// arrival to the end of its answer (the canary analysis compares means).
type Counter struct {
	Requests  uint64  `json:"requests"`
	Failed    uint64  `json:"failed"`
	Timed     uint64  `json:"timed"`
	LatencyMS float64 `json:"latency_ms"`
}

type counter struct{ requests, failed, timed, latencyUS atomic.Uint64 }

func (c *counter) snapshot() Counter {
	return Counter{Requests: c.requests.Load(), Failed: c.failed.Load(), Timed: c.timed.Load(), LatencyMS: float64(c.latencyUS.Load()) / 1000}
}

// time counts one request that took d.
func (c *counter) time(d time.Duration) {
	c.timed.Add(1)
	c.latencyUS.Add(uint64(max(d.Microseconds(), 0)))
}

// Counters are every listener's and every target's counters, targets keyed
// "<group>/<id>:<port>". They live as long as the balancer process.
type Counters struct {
	Listeners map[string]Counter `json:"listeners"`
	Targets   map[string]Counter `json:"targets"`
}

// server is the balancer itself: groups, listeners, the proxy and the
// control API. mu guards everything but the counters.
type server struct {
	dir string

	mu        sync.Mutex
	st        *state
	groups    map[string]*group
	listeners map[string]*listener
	counters  map[string]*counter // "listener:<name>" and "target:<group>/<key>"

	proxy     *httputil.ReverseProxy
	health    *http.Client
	control   *http.Server
	done      chan struct{}
	closeOnce sync.Once
}

type group struct {
	name    string
	cfg     Group // with defaults
	targets map[string]*target
	order   []string // registration order: round robin follows it
	ports   map[string]int
	next    atomic.Uint64
}

type target struct {
	t        traffic.Target
	key      string
	state    string
	reason   string
	ok, fail int // consecutive health check results
	// refused: the last health check found nothing listening (connection
	// refused or reset), so a request sent there now surely fails.
	refused  bool
	inflight int
	draining bool
	stop     chan struct{} // closes the health checker
	counter  *counter
	// transport keeps the target's connections, closed once it is gone:
	// an idle connection to a process that has since been restarted on
	// the same port must not carry the next request.
	transport *http.Transport
}

func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        128,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     30 * time.Second,
	}
}

// byTarget sends a request through its target's own transport.
type byTarget struct{}

func (byTarget) RoundTrip(r *http.Request) (*http.Response, error) {
	return r.Context().Value(ctxKey{}).(pick).t.transport.RoundTrip(r)
}

type listener struct {
	name string
	cfg  *Listener
	srv  *http.Server
	c    *counter
}

func targetKey(t traffic.Target) string { return t.ID + ":" + strconv.Itoa(t.Port) }

type ctxKey struct{}

type pick struct {
	g *group
	t *target
}

func newServer(dir string, st *state) *server {
	s := &server{
		dir: dir, st: st,
		groups: map[string]*group{}, listeners: map[string]*listener{}, counters: map[string]*counter{},
		done: make(chan struct{}),
	}
	s.health = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	s.proxy = &httputil.ReverseProxy{
		Transport: byTarget{},
		Rewrite: func(r *httputil.ProxyRequest) {
			p := r.In.Context().Value(ctxKey{}).(pick)
			r.SetURL(&url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p.t.t.Port))})
			r.SetXForwarded()
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 500 {
				p := resp.Request.Context().Value(ctxKey{}).(pick)
				p.t.counter.failed.Add(1)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p := r.Context().Value(ctxKey{}).(pick)
			p.t.counter.failed.Add(1)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return s
}

func (s *server) counter(key string) *counter {
	c := s.counters[key]
	if c == nil {
		c = &counter{}
		s.counters[key] = c
	}
	return c
}

// persist writes the state file; callers hold mu. Draining targets are
// left out: after a restart they are gone.
func (s *server) persist() error {
	s.st.Groups = map[string]*groupState{}
	for name, g := range s.groups {
		gs := &groupState{Group: g.cfg, Ports: g.ports}
		for _, k := range g.order {
			if t := g.targets[k]; !t.draining {
				gs.Targets = append(gs.Targets, t.t)
			}
		}
		s.st.Groups[name] = gs
	}
	s.st.Listeners = map[string]*Listener{}
	for name, l := range s.listeners {
		s.st.Listeners[name] = l.cfg
	}
	return saveState(s.dir, s.st)
}

// putGroup creates group name or changes its settings.
func (s *server) putGroup(name string, cfg Group) (Group, error) {
	if err := validName("target group", name); err != nil {
		return Group{}, badRequest(err)
	}
	if err := cfg.validate(); err != nil {
		return Group{}, badRequest(fmt.Errorf("target group %s: %w", name, err))
	}
	cfg = cfg.withDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		g = &group{name: name, targets: map[string]*target{}, ports: map[string]int{}}
		s.groups[name] = g
	}
	g.cfg = cfg
	return cfg, s.persist()
}

// group returns a group; callers hold mu.
func (s *server) group(name string) (*group, error) {
	g := s.groups[name]
	if g == nil {
		return nil, notFound(fmt.Errorf("no target group %q: create it first (PUT /v1/groups/%s)", name, name))
	}
	return g, nil
}

// withPorts checks targets and gives a target without a port the one it
// was last registered on in g; callers hold mu.
func (g *group) withPorts(ts []traffic.Target) ([]traffic.Target, error) {
	if len(ts) == 0 {
		return nil, badRequest(errors.New("no targets given: pass at least one {\"id\": ..., \"port\": ...}"))
	}
	out := make([]traffic.Target, 0, len(ts))
	for _, t := range ts {
		if t.ID == "" {
			return nil, badRequest(errors.New("a target has no id: give each target its instance id"))
		}
		if t.Port == 0 {
			t.Port = g.ports[t.ID]
			if t.Port == 0 {
				return nil, badRequest(fmt.Errorf("target %s has no port and was never registered in %s with one: give its port on 127.0.0.1", t.ID, g.name))
			}
		}
		if t.Port < 1 || t.Port > 65535 {
			return nil, badRequest(fmt.Errorf("target %s: port %d is not between 1 and 65535; the embedded balancer needs each target's port on 127.0.0.1", t.ID, t.Port))
		}
		out = append(out, t)
	}
	return out, nil
}

// register adds targets to a group as initial and starts checking them.
// A draining target registered again is back in service once healthy; one
// registered already is left as it is, as ELBv2 does. A target without a
// port goes to the port it was last registered on in the group.
func (s *server) register(name string, ts []traffic.Target) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(name)
	if err != nil {
		return err
	}
	ts, err = g.withPorts(ts)
	if err != nil {
		return err
	}
	for _, tt := range ts {
		g.ports[tt.ID] = tt.Port
		k := targetKey(tt)
		t := g.targets[k]
		if t != nil && !t.draining {
			continue
		}
		if t == nil {
			t = &target{t: tt, key: k, counter: s.counter("target:" + name + "/" + k), transport: newTransport()}
			g.targets[k] = t
			g.order = append(g.order, k)
		}
		t.draining, t.state, t.reason, t.ok, t.fail = false, traffic.StateInitial, "Elb.RegistrationInProgress", 0, 0
		t.stop = make(chan struct{})
		go s.check(g, t, t.stop)
	}
	return s.persist()
}

// deregister puts targets into draining; each disappears once its
// in-flight requests finish or the group's delay runs out. A target given
// without a port matches the id on every port. Targets that are not
// registered are ignored, as ELBv2 does.
func (s *server) deregister(name string, ts []traffic.Target) error {
	if len(ts) == 0 {
		return badRequest(errors.New("no targets given: pass at least one {\"id\": ...}"))
	}
	for _, t := range ts {
		if t.ID == "" {
			return badRequest(errors.New("a target has no id: give each target its instance id"))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(name)
	if err != nil {
		return err
	}
	for _, tt := range ts {
		for _, k := range g.order {
			t := g.targets[k]
			if t.draining || t.t.ID != tt.ID || (tt.Port != 0 && t.t.Port != tt.Port) {
				continue
			}
			t.draining, t.state, t.reason = true, traffic.StateDraining, "Target.DeregistrationInProgress"
			close(t.stop)
			go s.drain(g, t, time.Duration(g.cfg.DeregistrationDelay))
		}
	}
	return s.persist()
}

// drain waits until t has no request in flight or delay has passed, then
// removes it (unless it was registered again meanwhile).
func (s *server) drain(g *group, t *target, delay time.Duration) {
	deadline := time.Now().Add(delay)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		if !t.draining || g.targets[t.key] != t {
			s.mu.Unlock()
			return
		}
		if t.inflight == 0 || !time.Now().Before(deadline) {
			delete(g.targets, t.key)
			g.order = slices.DeleteFunc(g.order, func(k string) bool { return k == t.key })
			s.mu.Unlock()
			t.transport.CloseIdleConnections()
			return
		}
		s.mu.Unlock()
		select {
		case <-tick.C:
		case <-s.done:
			return
		}
	}
}

// check runs t's health checks until stop closes.
func (s *server) check(g *group, t *target, stop chan struct{}) {
	s.mu.Lock()
	cfg := g.cfg
	s.mu.Unlock()
	u := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(t.t.Port)) + cfg.HealthPath
	tick := time.NewTicker(time.Duration(cfg.Interval))
	defer tick.Stop()
	for {
		ok, reason := s.probe(u, time.Duration(cfg.Timeout))
		s.mu.Lock()
		select {
		case <-stop:
			s.mu.Unlock()
			return
		default:
		}
		t.refused = reason == "Target.FailedHealthChecks"
		if ok {
			t.ok, t.fail = t.ok+1, 0
			if t.ok >= cfg.HealthyThreshold && t.state != traffic.StateHealthy {
				t.state, t.reason = traffic.StateHealthy, ""
			}
		} else {
			t.ok, t.fail = 0, t.fail+1
			if t.fail >= cfg.UnhealthyThreshold && t.state != traffic.StateUnhealthy {
				t.state, t.reason = traffic.StateUnhealthy, reason
			}
		}
		s.mu.Unlock()
		select {
		case <-stop:
			return
		case <-s.done:
			return
		case <-tick.C:
		}
	}
}

func (s *server) probe(u string, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := s.health.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, "Target.Timeout"
		}
		return false, "Target.FailedHealthChecks"
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return false, "Target.ResponseCodeMismatch"
	}
	return true, ""
}

// targets reports a group's targets in registration order.
func (s *server) targets(name string) ([]traffic.TargetHealth, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(name)
	if err != nil {
		return nil, err
	}
	out := []traffic.TargetHealth{}
	for _, k := range g.order {
		t := g.targets[k]
		out = append(out, traffic.TargetHealth{Target: t.t, State: t.state, Reason: t.reason})
	}
	return out, nil
}

// validWeights checks a listener's weights; callers hold mu.
func (s *server) validWeights(weights map[string]int) error {
	if len(weights) == 0 {
		return badRequest(errors.New("no weights given: name at least one target group, e.g. {\"staging\": 100}"))
	}
	total := 0
	for name, w := range weights {
		if _, ok := s.groups[name]; !ok {
			return notFound(fmt.Errorf("weights name target group %q, which does not exist: create it first", name))
		}
		if w < 0 || w > 999 {
			return badRequest(fmt.Errorf("weight of %s is %d: weights are between 0 and 999", name, w))
		}
		total += w
	}
	if total == 0 {
		return badRequest(errors.New("every weight is 0: give at least one target group a positive weight"))
	}
	return nil
}

// putListener creates a listener on port (0: any free port) or, if it
// exists, sets its weights. It returns the listener's settings.
func (s *server) putListener(name string, cfg Listener) (Listener, error) {
	if err := validName("listener", name); err != nil {
		return Listener{}, badRequest(err)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return Listener{}, badRequest(fmt.Errorf("listener %s: port %d is not between 0 (any free port) and 65535", name, cfg.Port))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.validWeights(cfg.Weights); err != nil {
		return Listener{}, err
	}
	if l := s.listeners[name]; l != nil {
		if cfg.Port != 0 && cfg.Port != l.cfg.Port {
			return Listener{}, conflict(fmt.Errorf("listener %s already listens on port %d, not %d: give port 0 or %d", name, l.cfg.Port, cfg.Port, l.cfg.Port))
		}
		l.cfg = &Listener{Port: l.cfg.Port, Weights: cfg.Weights}
		return *l.cfg, s.persist()
	}
	l, err := s.listen(name, &Listener{Port: cfg.Port, Weights: cfg.Weights})
	if err != nil {
		return Listener{}, err
	}
	return *l.cfg, s.persist()
}

// listen binds a listener and serves it; callers hold mu.
func (s *server) listen(name string, cfg *Listener) (*listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, conflict(fmt.Errorf("listener %s: %w: choose another port, or 0 for any free one", name, err))
	}
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	l := &listener{name: name, cfg: cfg, c: s.counter("listener:" + name)}
	l.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveListener(l, w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.listeners[name] = l
	go l.srv.Serve(ln)
	return l, nil
}

func (s *server) setWeights(name string, weights map[string]int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.listeners[name]
	if l == nil {
		return notFound(fmt.Errorf("no listener %q: create it first (PUT /v1/listeners/%s)", name, name))
	}
	if err := s.validWeights(weights); err != nil {
		return err
	}
	l.cfg = &Listener{Port: l.cfg.Port, Weights: weights}
	return s.persist()
}

func (s *server) listener(name string) (Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.listeners[name]
	if l == nil {
		return Listener{}, notFound(fmt.Errorf("no listener %q: create it first (PUT /v1/listeners/%s)", name, name))
	}
	return *l.cfg, nil
}

// choose picks a group by weight, then a target in it: round robin over
// healthy targets, or, when none is healthy, over every registered target
// that is not draining (ELBv2's fail-open), those whose last health check
// got an answer first. It counts the request in flight.
func (s *server) choose(l *listener) (pick, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	weights := l.cfg.Weights
	total := 0
	names := make([]string, 0, len(weights))
	for name, w := range weights {
		total += w
		names = append(names, name)
	}
	if total == 0 {
		return pick{}, false
	}
	slices.Sort(names)
	n := rand.IntN(total)
	var g *group
	for _, name := range names {
		if n < weights[name] {
			g = s.groups[name]
			break
		}
		n -= weights[name]
	}
	if g == nil {
		return pick{}, false
	}
	var healthy, open, answering []*target
	for _, k := range g.order {
		t := g.targets[k]
		if t.draining {
			continue
		}
		open = append(open, t)
		if !t.refused {
			answering = append(answering, t)
		}
		if t.state == traffic.StateHealthy {
			healthy = append(healthy, t)
		}
	}
	// None healthy: fail open as ELBv2 does, but to the targets that at
	// least answered their last health check when there are any (a fleet
	// coming up for the first time: the first app to listen takes the
	// traffic before its health checks have passed twice, and none goes
	// where nothing listens yet).
	if len(healthy) == 0 {
		healthy = answering
	}
	if len(healthy) == 0 {
		healthy = open
	}
	if len(healthy) == 0 {
		return pick{}, false
	}
	t := healthy[int((g.next.Add(1)-1)%uint64(len(healthy)))]
	t.inflight++
	return pick{g: g, t: t}, true
}

func (s *server) serveListener(l *listener, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	l.c.requests.Add(1)
	p, ok := s.choose(l)
	if !ok {
		l.c.failed.Add(1)
		http.Error(w, "503 Service Unavailable: no target to route to", http.StatusServiceUnavailable)
		l.c.time(time.Since(start))
		return
	}
	p.t.counter.requests.Add(1)
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		took := time.Since(start)
		p.t.counter.time(took)
		l.c.time(took)
		s.mu.Lock()
		p.t.inflight--
		s.mu.Unlock()
		if sw.status >= 500 {
			l.c.failed.Add(1)
		}
	}()
	s.proxy.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
}

// statusWriter remembers the status a response was answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *server) counterSnapshot() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Counters{Listeners: map[string]Counter{}, Targets: map[string]Counter{}}
	for k, c := range s.counters {
		if name, ok := strings.CutPrefix(k, "listener:"); ok {
			out.Listeners[name] = c.snapshot()
		} else if name, ok := strings.CutPrefix(k, "target:"); ok {
			out.Targets[name] = c.snapshot()
		}
	}
	return out
}

// restore rebuilds groups, targets and listeners from the state file.
// Targets start initial again and are health-checked afresh.
func (s *server) restore() error {
	groups, listeners := s.st.Groups, s.st.Listeners // persist replaces both
	s.mu.Lock()
	for name, gs := range groups {
		ports := gs.Ports
		if ports == nil {
			ports = map[string]int{}
		}
		s.groups[name] = &group{name: name, cfg: gs.Group.withDefaults(), targets: map[string]*target{}, ports: ports}
	}
	s.mu.Unlock()
	for name, gs := range groups {
		if len(gs.Targets) > 0 {
			if err := s.register(name, gs.Targets); err != nil {
				return fmt.Errorf("restore target group %s: %w", name, err)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, l := range listeners {
		if _, err := s.listen(name, &Listener{Port: l.Port, Weights: l.Weights}); err != nil {
			return fmt.Errorf("restore listener %s on port %d: %w", name, l.Port, err)
		}
	}
	return s.persist()
}

// close stops every listener, waiting for requests in flight until ctx
// ends, and every health checker.
func (s *server) close(ctx context.Context) {
	s.closeOnce.Do(func() { close(s.done) })
	s.mu.Lock()
	ls := make([]*listener, 0, len(s.listeners))
	for _, l := range s.listeners {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	for _, l := range ls {
		l.srv.Shutdown(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		for _, t := range g.targets {
			t.transport.CloseIdleConnections()
		}
	}
}
