package local

import (
	"context"
	"errors"
	iopkg "io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// TestBalancerCommands runs local init --balancer, then balancer status,
// stop, status and start, each as its own command, against the real
// balancer process: start brings it back on the same endpoint.
func TestBalancerCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() {
		if env, err := localenv.Open(dir); err == nil {
			env.Stop(context.Background())
		}
	})
	run := func(args ...string) string {
		t.Helper()
		io, out, errOut := backendtest.IO()
		cmd := NewCmdLocal(&factory.Factory{IO: io}, nil)
		if code := backendtest.Execute(cmd, args...); code != 0 {
			t.Fatalf("local %v: exit %d: %s%s", args, code, out, errOut)
		}
		return out.String()
	}
	out := run("init", "--dir", dir, "--env", "staging", "--instances", "2", "--balancer")
	endpoint := regexp.MustCompile(`staging endpoint: (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(out)
	if endpoint == nil {
		t.Fatalf("local init --balancer said:\n%s\nwant a line with the staging endpoint", out)
	}
	out = run("balancer", "status", "--dir", dir)
	for _, want := range []string{"load balancer running", "listener staging: " + endpoint[1] + " -> staging 100", "target group staging: staging-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("balancer status said:\n%s\nwant %q", out, want)
		}
	}
	if out = run("balancer", "stop", "--dir", dir); !strings.Contains(out, "stopped") {
		t.Errorf("balancer stop said %q", out)
	}
	if out = run("balancer", "status", "--dir", dir); !strings.Contains(out, "not running") {
		t.Errorf("balancer status after stop said %q, want not running", out)
	}
	if out = run("balancer", "start", "--dir", dir); !strings.Contains(out, "listener staging: "+endpoint[1]) {
		t.Errorf("balancer start said:\n%s\nwant the same endpoint %s", out, endpoint[1])
	}
}

func TestBalancerCommandErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if _, err := localenv.Init(dir, localenv.Options{App: "demo", Instances: 1}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown action", args: []string{"balancer", "restart", "--dir", dir}, want: `"restart" is not start, stop or status`},
		{name: "no balancer", args: []string{"balancer", "start", "--dir", dir}, want: "has no load balancer"},
		{name: "no environment", args: []string{"balancer", "status", "--dir", filepath.Join(dir, "nothing")}, want: "slipway local init"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			cmd := NewCmdLocal(&factory.Factory{IO: io}, nil)
			cmd.SetArgs(tt.args)
			cmd.SetOut(iopkg.Discard)
			cmd.SetErr(iopkg.Discard)
			err := cmd.Execute()
			if code := outcome.Code(err); code != factory.ExitUsage {
				t.Errorf("local %v: exit %d, want %d", tt.args, code, factory.ExitUsage)
			}
			if err == nil || !strings.Contains(err.Error()+hint(err), tt.want) {
				t.Errorf("local %v: error %v (hint %q), want %q", tt.args, err, hint(err), tt.want)
			}
		})
	}
}

func hint(err error) string {
	var e *factory.ExitError
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}
