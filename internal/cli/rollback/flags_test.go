package rollback

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
		{name: "env", args: []string{"--env", "production"}, want: Options{Env: "production"}},
		{name: "every flag", args: []string{"-e", "staging", "--to", "v1", "--reason", "5xx", "--as", "grace", "--wait"},
			want: Options{Env: "staging", To: "v1", Reason: "5xx", As: "grace", Wait: true, WaitSet: true}},
		{name: "no env", args: []string{"--to", "v1"}, wantCode: factory.ExitUsage},
		{name: "bad target", args: []string{"--env", "staging", "--to", "v 1"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *Options
			cmd := NewCmdRollback(&factory.Factory{IO: io}, func(o *Options) error { got = o; return nil })
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
