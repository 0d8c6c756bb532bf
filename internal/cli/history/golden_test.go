package history

import (
	"context"
	"flag"
	"testing"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestHistoryGolden(t *testing.T) {
	f := backendtest.New(t)
	backendtest.Seed(t, f)
	tests := []struct {
		name string
		opts Options
	}{
		{"all.txt.golden", Options{Limit: 20}},
		{"all.json.golden", Options{Limit: 20, JSON: true}},
		{"staging.txt.golden", Options{Env: "staging", Limit: 20}},
		{"staging-limit-1.json.golden", Options{Env: "staging", Limit: 1, JSON: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, out, _ := backendtest.IO()
			opts := tt.opts
			opts.IO, opts.Backend = io, f.Open
			if err := run(context.Background(), &opts); err != nil {
				t.Fatalf("history: %v", err)
			}
			backendtest.Golden(t, tt.name, out.Bytes(), *update)
		})
	}
}

func TestHistoryEmpty(t *testing.T) {
	f := backendtest.New(t)
	io, out, _ := backendtest.IO()
	if err := run(context.Background(), &Options{IO: io, Backend: f.Open, Env: "production"}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "no deployments of shop to production yet\n"; got != want {
		t.Errorf("history of nothing = %q, want %q", got, want)
	}
}
