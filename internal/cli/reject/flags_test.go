package reject

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
		{name: "id and reason", args: []string{"production-v2-x", "--reason", "not during the sale"}, want: Options{DeploymentID: "production-v2-x", Reason: "not during the sale"}},
		{name: "who", args: []string{"production-v2-x", "--reason=no", "--as=grace"}, want: Options{DeploymentID: "production-v2-x", Reason: "no", As: "grace"}},
		{name: "no reason", args: []string{"production-v2-x"}, wantCode: factory.ExitUsage},
		{name: "blank reason", args: []string{"production-v2-x", "--reason", "  "}, wantCode: factory.ExitUsage},
		{name: "no id", args: []string{"--reason", "no"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *Options
			cmd := NewCmdReject(&factory.Factory{IO: io}, func(o *Options) error { got = o; return nil })
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
