package logs

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/fleet"
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
		{name: "a hook", args: []string{"staging-v3-x", "--hook", "validate"}, want: Options{DeploymentID: "staging-v3-x", Hook: "validate"}},
		{name: "a traffic hook", args: []string{"staging-v3-x", "--hook", "before_traffic"}, want: Options{DeploymentID: "staging-v3-x", Hook: "before_traffic"}},
		{name: "not a hook", args: []string{"staging-v3-x", "--hook", "during_traffic"}, wantCode: factory.ExitUsage},
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

func TestHookLines(t *testing.T) {
	out := `21:30:01 slipway-host.sh: artifact /tmp/a sha256 ab verified
21:30:01 slipway-host.sh: hook before_activate of v3: running 'bin/warm' (timeout 60s)
hook before_activate: warming 12 keys
21:30:02 slipway-host.sh: hook before_activate of v3: ok
21:30:03 slipway-host.sh: hook validate of v3: running 'bin/check' (timeout 10s)
hook validate: cache cold
21:30:03 slipway-host.sh: error: hook validate of v3 failed (exit 3)
{"action":"activate","error":"hook validate of v3 failed (exit 3)","exit_code":11}`
	tests := []struct{ name, want string }{
		{"validate", `21:30:03 slipway-host.sh: hook validate of v3: running 'bin/check' (timeout 10s)
hook validate: cache cold
21:30:03 slipway-host.sh: error: hook validate of v3 failed (exit 3)`},
		{"before_activate", `21:30:01 slipway-host.sh: hook before_activate of v3: running 'bin/warm' (timeout 60s)
hook before_activate: warming 12 keys
21:30:02 slipway-host.sh: hook before_activate of v3: ok`},
		{"after_activate", ""},
	}
	for _, tt := range tests {
		if got := fleet.HookLines(out, tt.name); got != tt.want {
			t.Errorf("HookLines(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
