package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

func TestNewCmdDeployFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     Options
		wantCode int
	}{
		{name: "env and version", args: []string{"--env", "staging", "--version", "v2"}, want: Options{Env: "staging", Version: "v2", Source: "cli"}},
		{name: "every flag", args: []string{"-e", "production", "--version=3f9a", "--wait", "--override-freeze", "--reason", "CVE fix", "--as", "ada"},
			want: Options{Env: "production", Version: "3f9a", Wait: true, WaitSet: true, OverrideFreeze: true, Reason: "CVE fix", As: "ada", Source: "cli"}},
		{name: "--wait=false is set", args: []string{"--env", "staging", "--version", "v2", "--wait=false"}, want: Options{Env: "staging", Version: "v2", WaitSet: true, Source: "cli"}},
		{name: "configuration only, the release that serves", args: []string{"--env", "staging", "--config-only"}, want: Options{Env: "staging", ConfigOnly: true, Source: "cli"}},
		{name: "configuration only, naming the release", args: []string{"--env", "staging", "--config-only", "--version", "v2"}, want: Options{Env: "staging", Version: "v2", ConfigOnly: true, Source: "cli"}},
		{name: "no env", args: []string{"--version", "v2"}, wantCode: factory.ExitUsage},
		{name: "no version", args: []string{"--env", "staging"}, wantCode: factory.ExitUsage},
		{name: "bad version", args: []string{"--env", "staging", "--version", "../v2"}, wantCode: factory.ExitUsage},
		{name: "override without reason", args: []string{"--env", "staging", "--version", "v2", "--override-freeze"}, wantCode: factory.ExitUsage},
		{name: "unknown flag", args: []string{"--env", "staging", "--version", "v2", "--force"}, wantCode: factory.ExitUsage},
		{name: "positional argument", args: []string{"--env", "staging", "--version", "v2", "now"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *Options
			cmd := NewCmdDeploy(&factory.Factory{IO: io}, func(o *Options) error { got = o; return nil })
			if code := backendtest.Execute(cmd, tt.args...); code != tt.wantCode {
				t.Fatalf("deploy %v: exit code %d, want %d", tt.args, code, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			if diff := cmp.Diff(tt.want, *got, backendtest.IgnoreDeps); diff != "" {
				t.Errorf("deploy %v: options mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}
