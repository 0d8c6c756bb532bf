package lock

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
		{name: "status", args: []string{"status", "--env", "production"}, want: Options{Action: "status", Env: "production"}},
		{name: "status json", args: []string{"status", "-e", "staging", "--json"}, want: Options{Action: "status", Env: "staging", JSON: true}},
		{name: "acquire", args: []string{"acquire", "--env", "production", "-m", "quarter end", "--as", "grace"},
			want: Options{Action: "acquire", Env: "production", Message: "quarter end", As: "grace"}},
		{name: "acquire long flag", args: []string{"acquire", "--env=staging", "--message=incident"}, want: Options{Action: "acquire", Env: "staging", Message: "incident"}},
		{name: "release", args: []string{"release", "--env", "production"}, want: Options{Action: "release", Env: "production"}},
		{name: "acquire without message", args: []string{"acquire", "--env", "production"}, wantCode: factory.ExitUsage},
		{name: "release without env", args: []string{"release"}, wantCode: factory.ExitUsage},
		{name: "release takes no message", args: []string{"release", "--env", "production", "-m", "x"}, wantCode: factory.ExitUsage},
		{name: "unknown subcommand", args: []string{"steal", "--env", "production"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var got *Options
			cmd := NewCmdLock(&factory.Factory{IO: io}, func(o *Options) error { got = o; return nil })
			if code := backendtest.Execute(cmd, tt.args...); code != tt.wantCode {
				t.Fatalf("lock %v: exit code %d, want %d", tt.args, code, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			if diff := cmp.Diff(tt.want, *got, backendtest.IgnoreDeps); diff != "" {
				t.Errorf("lock %v: options mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}
