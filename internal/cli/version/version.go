// Package version is `slipway version` (and the root's --version): the
// binary's version, the commit it was built from and the Go version, read
// from the build information the Go toolchain embeds (runtime/debug).
package version

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

// Info is what the binary knows about its build.
type Info struct {
	// Version is the main module's version: a tag (v1.2.0), a
	// pseudo-version from the commit, or "(devel)".
	Version string `json:"version"`
	// Commit is the VCS revision, "" when the build did not stamp it
	// (go run, -buildvcs=false, a build outside a git checkout).
	Commit string `json:"commit,omitempty"`
	// CommitTime is the commit's time, RFC 3339.
	CommitTime string `json:"commit_time,omitempty"`
	// Modified is true when the work tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// Go is the toolchain that built the binary.
	Go string `json:"go"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// FromBuildInfo reads Info from bi; ok false (no build information)
// gives "unknown" and the running toolchain.
func FromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	info := Info{Version: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if !ok || bi == nil {
		return info
	}
	if bi.Main.Version != "" {
		info.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		info.Go = bi.GoVersion
	}
	var goos, goarch string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.CommitTime = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	if goos != "" && goarch != "" {
		info.Platform = goos + "/" + goarch
	}
	return info
}

// Current is the running binary's Info.
func Current() Info { return FromBuildInfo(debug.ReadBuildInfo()) }

// Line is the one-line form: "slipway VERSION (commit COMMIT, GO PLATFORM)".
func (i Info) Line() string {
	commit := "commit unknown"
	if i.Commit != "" {
		commit = "commit " + short(i.Commit)
		if i.Modified {
			commit += " with uncommitted changes"
		}
	}
	return fmt.Sprintf("slipway %s (%s, %s %s)", i.Version, commit, i.Go, i.Platform)
}

// Text is the long form `slipway version` prints.
func (i Info) Text() string {
	commit := "unknown (the build did not stamp it: go run, -buildvcs=false, or not built in a git checkout)"
	if i.Commit != "" {
		commit = i.Commit
		if i.CommitTime != "" {
			commit += " (" + i.CommitTime + ")"
		}
		if i.Modified {
			commit += ", with uncommitted changes"
		}
	}
	return fmt.Sprintf("slipway %s\ncommit   %s\ngo       %s %s\n", i.Version, commit, i.Go, i.Platform)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// Options are the version command's inputs.
type Options struct {
	IO   *factory.IOStreams
	Info func() Info
	JSON bool
}

// NewCmdVersion returns the version command. runF, when not nil, replaces
// the run.
func NewCmdVersion(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Info: Current}
	cmd := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print Slipway's version, the commit it was built from and the Go version",
		Long: `Print the version of this binary, the commit it was built from (with its time, and whether the
work tree had uncommitted changes) and the Go toolchain and platform, from the build information
Go embeds. A binary built with go run or outside a git checkout has no commit.`,
		Example: `  slipway version
  slipway version --json
  slipway --version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the version as JSON")
	return cmd
}

func run(opts *Options) error {
	info := opts.Info()
	if opts.JSON {
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(opts.IO.Out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprint(opts.IO.Out, info.Text())
	return err
}
