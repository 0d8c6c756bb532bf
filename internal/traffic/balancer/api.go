package balancer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/slipway-deploy/slipway/internal/traffic"
)

// apiError is an error with the HTTP status the control API answers it with.
type apiError struct {
	status int
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

func badRequest(err error) error { return &apiError{http.StatusBadRequest, err} }
func notFound(err error) error   { return &apiError{http.StatusNotFound, err} }
func conflict(err error) error   { return &apiError{http.StatusConflict, err} }

// TargetsRequest is the body of register and deregister.
type TargetsRequest struct {
	Targets []traffic.Target `json:"targets"`
}

// WeightsRequest is the body of a listener's weights.
type WeightsRequest struct {
	Weights map[string]int `json:"weights"`
}

// Status is what GET /v1/status answers.
type Status struct {
	PID       int                 `json:"pid"`
	Groups    map[string]Group    `json:"groups"`
	Listeners map[string]Listener `json:"listeners"`
}

// Routes of the control API:
//
//	GET    /v1/status                       pid, groups, listeners
//	PUT    /v1/groups/{group}               create a group or change its settings (Group)
//	GET    /v1/groups/{group}               a group's settings
//	GET    /v1/groups/{group}/targets       []traffic.TargetHealth
//	POST   /v1/groups/{group}/register      TargetsRequest
//	POST   /v1/groups/{group}/deregister    TargetsRequest
//	PUT    /v1/listeners/{listener}         create a listener (Listener; port 0: any free port)
//	GET    /v1/listeners/{listener}         Listener
//	PUT    /v1/listeners/{listener}/weights WeightsRequest
//	GET    /v1/counters                     Counters
//	POST   /v1/stop                         stop the balancer
func (s *server) routes(stop func()) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		st := Status{PID: os.Getpid(), Groups: map[string]Group{}, Listeners: map[string]Listener{}}
		for name, g := range s.groups {
			st.Groups[name] = g.cfg
		}
		for name, l := range s.listeners {
			st.Listeners[name] = *l.cfg
		}
		s.mu.Unlock()
		reply(w, st, nil)
	})
	mux.HandleFunc("PUT /v1/groups/{group}", func(w http.ResponseWriter, r *http.Request) {
		var g Group
		if !decode(w, r, &g) {
			return
		}
		cfg, err := s.putGroup(r.PathValue("group"), g)
		reply(w, cfg, err)
	})
	mux.HandleFunc("GET /v1/groups/{group}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		g, err := s.group(r.PathValue("group"))
		var cfg Group
		if err == nil {
			cfg = g.cfg
		}
		s.mu.Unlock()
		reply(w, cfg, err)
	})
	mux.HandleFunc("GET /v1/groups/{group}/targets", func(w http.ResponseWriter, r *http.Request) {
		ts, err := s.targets(r.PathValue("group"))
		reply(w, ts, err)
	})
	mux.HandleFunc("POST /v1/groups/{group}/register", func(w http.ResponseWriter, r *http.Request) {
		var req TargetsRequest
		if decode(w, r, &req) {
			reply(w, struct{}{}, s.register(r.PathValue("group"), req.Targets))
		}
	})
	mux.HandleFunc("POST /v1/groups/{group}/deregister", func(w http.ResponseWriter, r *http.Request) {
		var req TargetsRequest
		if decode(w, r, &req) {
			reply(w, struct{}{}, s.deregister(r.PathValue("group"), req.Targets))
		}
	})
	mux.HandleFunc("PUT /v1/listeners/{listener}", func(w http.ResponseWriter, r *http.Request) {
		var l Listener
		if decode(w, r, &l) {
			got, err := s.putListener(r.PathValue("listener"), l)
			reply(w, got, err)
		}
	})
	mux.HandleFunc("GET /v1/listeners/{listener}", func(w http.ResponseWriter, r *http.Request) {
		l, err := s.listener(r.PathValue("listener"))
		reply(w, l, err)
	})
	mux.HandleFunc("PUT /v1/listeners/{listener}/weights", func(w http.ResponseWriter, r *http.Request) {
		var req WeightsRequest
		if decode(w, r, &req) {
			reply(w, struct{}{}, s.setWeights(r.PathValue("listener"), req.Weights))
		}
	})
	mux.HandleFunc("GET /v1/counters", func(w http.ResponseWriter, r *http.Request) {
		reply(w, s.counterSnapshot(), nil)
	})
	mux.HandleFunc("POST /v1/stop", func(w http.ResponseWriter, r *http.Request) {
		reply(w, struct{}{}, nil)
		go stop()
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, notFound(fmt.Errorf("%s %s is not part of the balancer's control API (see GET /v1/status, /v1/groups/{group}/targets, /v1/listeners/{listener})", r.Method, r.URL.Path)))
	})
	return mux
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		reply(w, nil, badRequest(fmt.Errorf("read request body: %w: send one JSON object", err)))
		return false
	}
	return true
}

type errorBody struct {
	Error string `json:"error"`
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status := http.StatusInternalServerError
		var ae *apiError
		if errors.As(err, &ae) {
			status = ae.status
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(errorBody{Error: err.Error()})
		return
	}
	json.NewEncoder(w).Encode(v)
}
