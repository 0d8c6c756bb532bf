package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

// TestExampleWorkflowsUseRealFlags reads the slipway commands of the
// GitHub Actions examples and parses each with the CLI's own commands and
// flags, so that a renamed or removed flag breaks this test, not a user's
// workflow.
func TestExampleWorkflowsUseRealFlags(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "github-actions", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no example workflow under examples/github-actions")
	}
	cmdRE := regexp.MustCompile(`(?:^|[;&|]\s*|if !\s*|\bthen\s+)(slipway\s[^;&|>]*)`)
	seen := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Jobs map[string]struct {
				Steps []struct {
					Run string `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(raw, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, job := range wf.Jobs {
			for _, step := range job.Steps {
				for _, line := range strings.Split(step.Run, "\n") {
					for _, m := range cmdRE.FindAllStringSubmatch(strings.TrimSpace(line), -1) {
						args := shellWords(m[1])[1:]
						io, _, _ := backendtest.IO()
						root := NewCmdRoot(&factory.Factory{IO: io})
						cmd, rest, err := root.Find(args)
						if err != nil || cmd == root {
							t.Errorf("%s: %q: no such command (%v)", filepath.Base(f), m[1], err)
							continue
						}
						if err := cmd.ParseFlags(rest); err != nil {
							t.Errorf("%s: %q: %v", filepath.Base(f), m[1], err)
						}
						seen++
					}
				}
			}
		}
	}
	if seen < 5 {
		t.Errorf("found %d slipway commands in the examples, want the build, publish, notes ones at least", seen)
	}
}

// shellWords splits a command line as a shell would for these examples:
// on blanks, keeping double-quoted words whole (quotes removed).
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, any := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, any = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if any {
				out = append(out, cur.String())
				cur.Reset()
				any = false
			}
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if any {
		out = append(out, cur.String())
	}
	return out
}
