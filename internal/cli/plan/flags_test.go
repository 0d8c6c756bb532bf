package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     Options
		wantCode int
	}{
		{name: "env and version", args: []string{"--env", "production", "--version", "v2"}, want: Options{Env: "production", Version: "v2", Format: "text"}},
		{name: "json", args: []string{"-e", "staging", "--version=v3", "--json"}, want: Options{Env: "staging", Version: "v3", JSON: true, Format: "json"}},
		{name: "format json", args: []string{"-e", "staging", "--version=v3", "--format", "json"}, want: Options{Env: "staging", Version: "v3", JSON: true, Format: "json"}},
		{name: "markdown", args: []string{"-e", "staging", "--version=v3", "--format", "markdown"}, want: Options{Env: "staging", Version: "v3", Format: "markdown"}},
		{name: "unknown format", args: []string{"-e", "staging", "--version=v3", "--format", "html"}, wantCode: factory.ExitUsage},
		{name: "json and markdown", args: []string{"-e", "staging", "--version=v3", "--json", "--format", "markdown"}, wantCode: factory.ExitUsage},
		{name: "no version", args: []string{"--env", "staging"}, wantCode: factory.ExitUsage},
		{name: "bad version", args: []string{"--env", "staging", "--version", "a b"}, wantCode: factory.ExitUsage},
		{name: "positional argument", args: []string{"--env", "staging", "--version", "v2", "x"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *Options
			cmd := NewCmdPlan(&factory.Factory{IO: io}, func(o *Options) error { got = o; return nil })
			if code := backendtest.Execute(cmd, tt.args...); code != tt.wantCode {
				t.Fatalf("%v: exit code %d, want %d", tt.args, code, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			if diff := cmp.Diff(tt.want, *got, backendtest.IgnoreDeps); diff != "" {
				t.Errorf("%v: options mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}
