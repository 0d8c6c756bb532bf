package show

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
		{name: "id", args: []string{"staging-v2-x"}, want: Options{DeploymentID: "staging-v2-x"}},
		{name: "json", args: []string{"staging-v2-x", "--json"}, want: Options{DeploymentID: "staging-v2-x", JSON: true}},
		{name: "html", args: []string{"staging-v2-x", "--html", "r.html"}, want: Options{DeploymentID: "staging-v2-x", HTML: "r.html"}},
		{name: "json and html", args: []string{"staging-v2-x", "--json", "--html", "r.html"}, wantCode: factory.ExitUsage},
		{name: "no id", args: []string{}, wantCode: factory.ExitUsage},
		{name: "two ids", args: []string{"a", "b"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *Options
			cmd := NewCmdShow(&factory.Factory{IO: io}, func(o *Options) error { got = o; return nil })
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
