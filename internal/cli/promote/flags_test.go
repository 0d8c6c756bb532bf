package promote

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
		{name: "all", args: []string{"--from", "staging", "--to", "production", "--version", "v2", "--wait", "--reason", "release", "--as", "ada"},
			want: Options{From: "staging", To: "production", Version: "v2", Wait: true, WaitSet: true, Reason: "release", As: "ada"}},
		{name: "required only", args: []string{"--from=staging", "--to=production", "--version=v2"}, want: Options{From: "staging", To: "production", Version: "v2"}},
		{name: "no version", args: []string{"--from", "staging", "--to", "production"}, wantCode: factory.ExitUsage},
		{name: "same environment", args: []string{"--from", "staging", "--to", "staging", "--version", "v2"}, wantCode: factory.ExitUsage},
		{name: "unknown flag", args: []string{"--from", "staging", "--to", "production", "--version", "v2", "--env", "x"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *Options
			cmd := NewCmdPromote(&factory.Factory{IO: io}, func(o *Options) error { got = o; return nil })
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
