// Command demo-app is the application Slipway's demo deploys: a small HTTP
// service on SQLite. GET /healthz answers the release's version and the
// schema version it sees, after running the release's health query; GET /
// greets. It is an ordinary app: it knows nothing about Slipway except the
// schema table the migrations leave behind.
//
// Configuration: PORT (required), its database (DATABASE_ENGINE: sqlite,
// the default, with DATABASE_PATH, the SQLite file; or postgres or mysql
// with DATABASE_URL, postgres://USER[:PASSWORD]@HOST:PORT/DB or
// mysql://USER[:PASSWORD]@HOST:PORT/DB, as the embedded fleet gives them),
// and config.json in the working directory (the release directory) with
// {"schema": N, "health_query": "SQL"} and, optionally, "health_path" (where
// the health endpoint answers, /healthz by default), "health_delay" (a
// duration each health answer waits first: a slow or hanging dependency)
// "start_delay" (how long the app takes to start listening),
// "error_rate" (the share of GET / answered 500 at random: a release that
// fails some of its requests while its health check passes, for canary
// analysis) and "latency_ms" (how long GET / waits before it answers: a
// slower release). The version is set at build time:
//
//	go build -ldflags "-X main.version=v2" ./examples/demo-app
//
// Every answer carries the release's version in an X-App-Version header.
// GET /slow?ms=N answers after N milliseconds (at most a minute): a request
// still in flight when the app is told to stop, for tests.
//
// On SIGTERM (or an interrupt) the app stops accepting connections,
// finishes the requests in flight (for up to 8 seconds) and exits 0: a
// restart or a load balancer's draining never cuts a request short.
//
// SLIPWAY_FAULT_HEALTH=1 makes /healthz fail (a fault knob of the embedded
// fleet, for tests).
//
// Its configuration, declared under config: in slipway.yaml and given by
// the release's environment file: GREETING (the first word of GET /,
// "hello" when unset) and API_TOKEN (a secret: the token it would present
// to a partner API). The token is never shown: /healthz says only whether
// it is set and how long it is ("config": {"greeting", "api_token_set",
// "api_token_length"}), enough to tell that a deployment changed it.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

var version = "dev"

type config struct {
	// Schema is the schema version this release's code expects at least.
	Schema int64 `json:"schema"`
	// HealthQuery is a query the release's code depends on.
	HealthQuery string `json:"health_query"`
	HealthPath  string `json:"health_path"`
	HealthDelay string `json:"health_delay"`
	StartDelay  string `json:"start_delay"`
	// ErrorRate is the share of GET / answered 500.
	ErrorRate float64 `json:"error_rate"`
	// LatencyMS is how long GET / waits before it answers.
	LatencyMS int `json:"latency_ms"`
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	port := os.Getenv("PORT")
	if port == "" {
		return errors.New("PORT is not set")
	}
	cfg := config{HealthQuery: "SELECT 1", HealthPath: "/healthz"}
	if b, err := os.ReadFile("config.json"); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("read config.json: %w", err)
		}
	}
	var healthDelay, startDelay time.Duration
	for _, d := range []struct {
		text string
		to   *time.Duration
	}{{cfg.HealthDelay, &healthDelay}, {cfg.StartDelay, &startDelay}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil {
			return fmt.Errorf("read config.json: %w", err)
		}
		*d.to = v
	}
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()

	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "hello"
	}
	token := os.Getenv("API_TOKEN")
	settings := map[string]any{"greeting": greeting, "api_token_set": token != "", "api_token_length": len(token)}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+cfg.HealthPath, func(w http.ResponseWriter, r *http.Request) {
		if healthDelay > 0 {
			select {
			case <-time.After(healthDelay):
			case <-r.Context().Done():
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		body := map[string]any{"version": version, "config": settings}
		status := http.StatusOK
		var schema int64
		err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM slipway_migrations WHERE NOT dirty`).Scan(&schema)
		if err == nil {
			body["schema_version"] = schema
			if schema < cfg.Schema {
				err = fmt.Errorf("schema is at %d, this release needs %d", schema, cfg.Schema)
			}
		}
		if err == nil {
			var n int64
			err = db.QueryRowContext(ctx, cfg.HealthQuery).Scan(&n)
		}
		if err == nil && os.Getenv("SLIPWAY_FAULT_HEALTH") == "1" {
			err = errors.New("fault injected: SLIPWAY_FAULT_HEALTH=1")
		}
		if err != nil {
			status = http.StatusInternalServerError
			body["status"], body["error"] = "error", err.Error()
		} else {
			body["status"] = "ok"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if cfg.LatencyMS > 0 {
			select {
			case <-time.After(time.Duration(cfg.LatencyMS) * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		if cfg.ErrorRate > 0 && rand.Float64() < cfg.ErrorRate {
			http.Error(w, "fault: error_rate "+strconv.FormatFloat(cfg.ErrorRate, 'f', -1, 64), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s from demo %s\n", greeting, version)
	})
	// The configuration the release runs with: GREETING (from the
	// manifest's config: section, resolved on the host), shown; a secret
	// would never be.
	mux.HandleFunc("GET /greeting", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s\n", os.Getenv("GREETING"))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if err != nil || ms < 0 || ms > 60000 {
			http.Error(w, "ms must be a number of milliseconds between 0 and 60000, as in /slow?ms=500", http.StatusBadRequest)
			return
		}
		log.Printf("slow request: answering in %dms", ms)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, "slept %dms in demo %s\n", ms, version)
	})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Version", version)
		mux.ServeHTTP(w, r)
	})

	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	if h := os.Getenv("LISTEN_HOST"); h != "" {
		srv.Addr = h + ":" + port
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if startDelay > 0 {
		select {
		case <-time.After(startDelay):
		case <-ctx.Done():
			return nil
		}
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("demo %s listening on %s", version, srv.Addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop listening, let the requests in flight finish, then exit. The
	// host script waits up to its stop timeout before it sends SIGKILL;
	// this bound stays under its default (10s).
	srv.RegisterOnShutdown(func() {
		// Shutdown calls this once its listeners are closed.
		log.Printf("demo %s: stopping: no new connections, finishing requests in flight", version)
	})
	shut, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("finish requests in flight: %w", err)
	}
	log.Printf("demo %s: stopped", version)
	return nil
}

// openDB opens the database the environment names: DATABASE_ENGINE sqlite
// (the default) with DATABASE_PATH, or postgres or mysql with DATABASE_URL.
func openDB() (*sql.DB, error) {
	engine := os.Getenv("DATABASE_ENGINE")
	if engine == "" {
		engine = "sqlite"
	}
	switch engine {
	case "sqlite":
		path := os.Getenv("DATABASE_PATH")
		if path == "" {
			return nil, errors.New("DATABASE_PATH is not set (DATABASE_ENGINE is sqlite)")
		}
		return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	case "postgres", "mysql":
		raw := os.Getenv("DATABASE_URL")
		if raw == "" {
			return nil, fmt.Errorf("DATABASE_URL is not set (DATABASE_ENGINE is %s)", engine)
		}
		if engine == "postgres" {
			return sql.Open("pgx", raw)
		}
		// The MySQL driver reads DSNs (user:password@tcp(host:port)/db),
		// not URLs. Errors never quote the URL: it may hold a password.
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "mysql" {
			return nil, errors.New("DATABASE_URL is not a mysql://USER[:PASSWORD]@HOST:PORT/DB URL")
		}
		pw, _ := u.User.Password()
		return sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/%s", u.User.Username(), pw, u.Host, strings.TrimPrefix(u.Path, "/")))
	}
	return nil, fmt.Errorf("DATABASE_ENGINE %q is not supported: sqlite, postgres or mysql", engine)
}
