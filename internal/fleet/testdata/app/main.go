// Command app is the test application of the embedded fleet's tests: a tiny
// HTTP server that behaves like a deployed release.
//
// It serves GET /healthz on 127.0.0.1:$PORT with
//
//	{"status":"ok","version":"<version>","note":"$RELEASE_NOTE","pid":<pid>}
//
// where the version is the content of the file VERSION in its working
// directory (the release directory) if there is one, else $SLIPWAY_VERSION
// (exported from release.env by the host script), so one binary serves any
// version. Like the demo application, it honours SLIPWAY_FAULT_HEALTH=1 (set
// by the fleet's FailHealth knob) by answering 500.
//
// Flags: -exit makes it exit at once with status 1 (a release that crashes
// on start); -ignore-term makes it ignore SIGTERM (so stopping it needs
// SIGKILL).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	exit := flag.Bool("exit", false, "exit at once with status 1")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM")
	flag.Parse()
	if *exit {
		log.Print("exiting at once, as asked by -exit")
		os.Exit(1)
	}
	version := os.Getenv("SLIPWAY_VERSION")
	if b, err := os.ReadFile("VERSION"); err == nil {
		version = strings.TrimSpace(string(b))
	}
	fault := os.Getenv("SLIPWAY_FAULT_HEALTH") == "1"

	stopSignals := []os.Signal{syscall.SIGTERM, os.Interrupt}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
		stopSignals = stopSignals[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		status, code := "ok", http.StatusOK
		if fault {
			status, code = "fault", http.StatusInternalServerError
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{
			"status":  status,
			"version": version,
			"note":    os.Getenv("RELEASE_NOTE"),
			"pid":     os.Getpid(),
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	fmt.Printf("app %s (pid %d) listening on %s\n", version, os.Getpid(), ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
