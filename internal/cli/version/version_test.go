package version

import (
	"bytes"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

func TestFromBuildInfo(t *testing.T) {
	local := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want Info
	}{
		{"no build info", nil, false, Info{Version: "unknown", Go: runtime.Version(), Platform: local}},
		{"go run", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/slipway-deploy/slipway", Version: "(devel)"}}, true,
			Info{Version: "(devel)", Go: "go1.26.8", Platform: local}},
		{"stamped build", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261206032703-2b687a76dcd1+dirty"},
			Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"}, {Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "2b687a76dcd1cd2a7a0f038517f990e77939e57f"}, {Key: "vcs.time", Value: "2026-12-06T03:27:03Z"},
				{Key: "vcs.modified", Value: "true"}}}, true,
			Info{Version: "v0.0.0-20261206032703-2b687a76dcd1+dirty", Commit: "2b687a76dcd1cd2a7a0f038517f990e77939e57f", CommitTime: "2026-12-06T03:27:03Z",
				Modified: true, Go: "go1.26.8", Platform: "linux/arm64"}},
		{"tagged release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}}, true,
			Info{Version: "v1.2.0", Commit: "abc", Go: "go1.26.8", Platform: local}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, FromBuildInfo(tt.bi, tt.ok)); diff != "" {
				t.Errorf("FromBuildInfo() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestText(t *testing.T) {
	stamped := Info{Version: "v1.2.0", Commit: "2b687a76dcd1cd2a7a0f038517f990e77939e57f", CommitTime: "2026-12-06T03:27:03Z", Modified: true,
		Go: "go1.26.8", Platform: "linux/arm64"}
	bare := Info{Version: "(devel)", Go: "go1.26.8", Platform: "linux/amd64"}
	tests := []struct {
		name      string
		info      Info
		wantText  string
		wantLine  string
		wantJSON  string
		jsonValid bool
	}{
		{"stamped", stamped,
			"slipway v1.2.0\ncommit   2b687a76dcd1cd2a7a0f038517f990e77939e57f (2026-12-06T03:27:03Z), with uncommitted changes\ngo       go1.26.8 linux/arm64\n",
			"slipway v1.2.0 (commit 2b687a76dcd1 with uncommitted changes, go1.26.8 linux/arm64)",
			`{"version":"v1.2.0","commit":"2b687a76dcd1cd2a7a0f038517f990e77939e57f","commit_time":"2026-12-06T03:27:03Z","modified":true,"go":"go1.26.8","platform":"linux/arm64"}`, true},
		{"no commit", bare,
			"slipway (devel)\ncommit   unknown (the build did not stamp it: go run, -buildvcs=false, or not built in a git checkout)\ngo       go1.26.8 linux/amd64\n",
			"slipway (devel) (commit unknown, go1.26.8 linux/amd64)",
			`{"version":"(devel)","go":"go1.26.8","platform":"linux/amd64"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.info.Text(); got != tt.wantText {
				t.Errorf("Text() = %q, want %q", got, tt.wantText)
			}
			if got := tt.info.Line(); got != tt.wantLine {
				t.Errorf("Line() = %q, want %q", got, tt.wantLine)
			}
			for _, asJSON := range []bool{false, true} {
				var out bytes.Buffer
				opts := &Options{IO: &factory.IOStreams{Out: &out}, Info: func() Info { return tt.info }, JSON: asJSON}
				if err := run(opts); err != nil {
					t.Fatal(err)
				}
				if !asJSON {
					if out.String() != tt.wantText {
						t.Errorf("version = %q, want %q", out.String(), tt.wantText)
					}
					continue
				}
				var compact bytes.Buffer
				if err := json.Compact(&compact, out.Bytes()); err != nil {
					t.Fatalf("version --json = %q: %v", out.String(), err)
				}
				if compact.String() != tt.wantJSON {
					t.Errorf("version --json = %s, want %s", compact.String(), tt.wantJSON)
				}
			}
		})
	}
}
