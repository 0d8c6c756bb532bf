package release

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantBuild   *BuildOptions
		wantPublish *PublishOptions
		wantCode    int
	}{
		{name: "build", args: []string{"build", "--dir", "out", "--version", "v2"}, wantBuild: &BuildOptions{Dir: "out", Version: "v2", Output: "v2.tar.gz"}},
		{name: "build to a file", args: []string{"build", "--dir=out", "--version=v2", "-o", "dist/app.tgz"}, wantBuild: &BuildOptions{Dir: "out", Version: "v2", Output: "dist/app.tgz"}},
		{name: "build without dir", args: []string{"build", "--version", "v2"}, wantCode: factory.ExitUsage},
		{name: "build with a bad version", args: []string{"build", "--dir", "out", "--version", "-x"}, wantCode: factory.ExitUsage},
		{name: "publish", args: []string{"publish", "v2.tar.gz", "--version", "v2"}, wantPublish: &PublishOptions{File: "v2.tar.gz", Version: "v2"}},
		{name: "publish with a push event", args: []string{"publish", "b.tgz", "--version", "3f9a", "--push-event", "--repository", "github.com/acme/shop", "--branch", "main", "--as", "ci"},
			wantPublish: &PublishOptions{File: "b.tgz", Version: "3f9a", PushEvent: true, Repository: "github.com/acme/shop", Branch: "main", As: "ci"}},
		{name: "publish a push event without a branch", args: []string{"publish", "b.tgz", "--version", "3f9a", "--push-event", "--repository", "r"}, wantCode: factory.ExitUsage},
		{name: "publish without a file", args: []string{"publish", "--version", "v2"}, wantCode: factory.ExitUsage},
		{name: "publish without a version", args: []string{"publish", "v2.tar.gz"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := backendtest.IO()
			var gotB *BuildOptions
			var gotP *PublishOptions
			cmd := NewCmdRelease(&factory.Factory{IO: io}, func(o *BuildOptions) error { gotB = o; return nil }, func(o *PublishOptions) error { gotP = o; return nil })
			if code := backendtest.Execute(cmd, tt.args...); code != tt.wantCode {
				t.Fatalf("release %v: exit code %d, want %d", tt.args, code, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			if diff := cmp.Diff(tt.wantBuild, gotB, backendtest.IgnoreDeps); diff != "" {
				t.Errorf("release %v: build options mismatch (-want +got):\n%s", tt.args, diff)
			}
			if diff := cmp.Diff(tt.wantPublish, gotP, backendtest.IgnoreDeps); diff != "" {
				t.Errorf("release %v: publish options mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}
