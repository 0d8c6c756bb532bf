package logs

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
		{name: "id", args: []string{"staging-v3-x"}, want: Options{DeploymentID: "staging-v3-x"}},
		{name: "filters", args: []string{"staging-v3-x", "--instance", "staging-1", "--action", "activate"}, want: Options{DeploymentID: "staging-v3-x", Instance: "staging-1", Action: "activate"}},
		{name: "no id", args: []string{}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *Options
			cmd := NewCmdLogs(&factory.Factory{IO: io}, func(o *Options) error { got = o; return nil })
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
