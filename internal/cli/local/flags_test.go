package local

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

func TestFlags(t *testing.T) {
	t.Setenv("SLIPWAY_LOCAL_DIR", "")
	tests := []struct {
		name     string
		args     []string
		want     InitOptions
		wantCode int
	}{
		{name: "defaults", args: []string{"init"}, want: InitOptions{Dir: ".slipway/local", App: "demo", Environments: []string{"staging", "production"}, Instances: 3, Balancer: true}},
		{name: "every flag", args: []string{"init", "--dir", "/tmp/x", "--app", "shop", "--env", "qa", "--instances", "5"},
			want: InitOptions{Dir: "/tmp/x", App: "shop", Environments: []string{"qa"}, Instances: 5, Balancer: true}},
		{name: "environments as a list", args: []string{"init", "--env", "a,b,c"}, want: InitOptions{Dir: ".slipway/local", App: "demo", Environments: []string{"a", "b", "c"}, Instances: 3, Balancer: true}},
		{name: "balancer", args: []string{"init", "--balancer"}, want: InitOptions{Dir: ".slipway/local", App: "demo", Environments: []string{"staging", "production"}, Instances: 3, Balancer: true}},
		{name: "no balancer", args: []string{"init", "--balancer=false"}, want: InitOptions{Dir: ".slipway/local", App: "demo", Environments: []string{"staging", "production"}, Instances: 3}},
		{name: "blue-green", args: []string{"init", "--blue-green"}, want: InitOptions{Dir: ".slipway/local", App: "demo", Environments: []string{"staging", "production"}, Instances: 4, Balancer: true, BlueGreen: true}},
		{name: "blue-green of 3", args: []string{"init", "--blue-green", "--instances", "3"}, want: InitOptions{Dir: ".slipway/local", App: "demo", Environments: []string{"staging", "production"}, Instances: 3, Balancer: true, BlueGreen: true}},
		{name: "blue-green of 1", args: []string{"init", "--blue-green", "--instances", "1"}, wantCode: factory.ExitUsage},
		{name: "no instances", args: []string{"init", "--instances", "0"}, wantCode: factory.ExitUsage},
		{name: "too many instances", args: []string{"init", "--instances", "51"}, wantCode: factory.ExitUsage},
		{name: "empty app", args: []string{"init", "--app", ""}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *InitOptions
			cmd := NewCmdLocal(&factory.Factory{IO: io}, func(o *InitOptions) error { got = o; return nil })
			if code := backendtest.Execute(cmd, tt.args...); code != tt.wantCode {
				t.Fatalf("local %v: exit code %d, want %d", tt.args, code, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			if diff := cmp.Diff(tt.want, *got, backendtest.IgnoreDeps); diff != "" {
				t.Errorf("local %v: options mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestFlagsFromTheEnvironment(t *testing.T) {
	t.Setenv("SLIPWAY_LOCAL_DIR", "/srv/slipway")
	io, _, _ := backendtest.IO()
	var got *InitOptions
	cmd := NewCmdLocal(&factory.Factory{IO: io}, func(o *InitOptions) error { got = o; return nil })
	if code := backendtest.Execute(cmd, "init"); code != 0 || got.Dir != "/srv/slipway" {
		t.Errorf("local init with SLIPWAY_LOCAL_DIR: exit %d, dir %q; want 0 and /srv/slipway", code, got.Dir)
	}
}
