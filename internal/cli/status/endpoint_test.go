package status

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
)

// withEndpoint is a backend whose environments have an endpoint, as the
// embedded environment with its load balancer has.
type withEndpoint struct {
	*backendtest.Fake
	url string
	err error
}

func (w *withEndpoint) Endpoint(context.Context, string) (string, error) { return w.url, w.err }

func TestStatusEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		backend  func(f *backendtest.Fake) backend.Backend
		wantLine string // "" for no endpoint line
		wantJSON string
	}{
		{"balancer", func(f *backendtest.Fake) backend.Backend {
			return &withEndpoint{Fake: f, url: "http://127.0.0.1:41234"}
		},
			"  endpoint: http://127.0.0.1:41234", "http://127.0.0.1:41234"},
		{"balancer stopped", func(f *backendtest.Fake) backend.Backend {
			return &withEndpoint{Fake: f, err: errors.New("the embedded load balancer is not running")}
		}, "  endpoint: not available: the embedded load balancer is not running", ""},
		{"no balancer", func(f *backendtest.Fake) backend.Backend { return &withEndpoint{Fake: f} }, "", ""},
		{"a backend without endpoints", func(f *backendtest.Fake) backend.Backend { return f }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.backend(backendtest.New(t))
			io, out, _ := backendtest.IO()
			opts := &Options{IO: io, Backend: func(context.Context) (backend.Backend, error) { return b, nil }, Now: time.Now}
			if err := run(context.Background(), opts); err != nil {
				t.Fatalf("run() error = %v", err)
			}
			got := ""
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(l, "  endpoint:") {
					got = l
				}
			}
			if got != tt.wantLine {
				t.Errorf("status endpoint line = %q, want %q", got, tt.wantLine)
			}
			io, out, _ = backendtest.IO()
			opts.IO, opts.JSON = io, true
			if err := run(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			var envs []map[string]any
			if err := json.Unmarshal(out.Bytes(), &envs); err != nil {
				t.Fatal(err)
			}
			for _, e := range envs {
				if got, _ := e["endpoint"].(string); got != tt.wantJSON {
					t.Errorf("status --json: endpoint = %q, want %q", got, tt.wantJSON)
				}
			}
		})
	}
}
