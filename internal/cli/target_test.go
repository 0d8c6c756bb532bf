package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

// run runs a command line as typed, in the working directory the test set.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	io, out, errOut := backendtest.IO()
	code := Run(context.Background(), &factory.Factory{IO: io}, args)
	return code, out.String(), errOut.String()
}

// TestTargetFound runs commands without --local where .slipway/local is
// found from the working directory up, and checks that each says its
// target first and that printed commands carry the flags they need.
func TestTargetFound(t *testing.T) {
	t.Setenv("SLIPWAY_LOCAL_DIR", "")
	for _, v := range []string{"SLIPWAY_CONFIG", "SLIPWAY_TABLE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(v, "")
	}
	project := t.TempDir()
	state := filepath.Join(project, ".slipway", "local")
	if code, out, errOut := run(t, "local", "init", "--dir", state, "--env", "staging", "--instances", "1", "--balancer=false"); code != 0 {
		t.Fatalf("local init = exit %d\n%s%s", code, out, errOut)
	}
	sub := filepath.Join(project, "app", "src")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)

	code, out, errOut := run(t, "history")
	if code != 0 {
		t.Fatalf("history from a subdirectory = exit %d\n%s%s", code, out, errOut)
	}
	if first, _, _ := strings.Cut(errOut, "\n"); first != "target: local ("+state+")" {
		t.Errorf("history's first line = %q, want target: local (%s)", first, state)
	}

	code, out, errOut = run(t, "history", "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" || errOut != "" {
		t.Errorf("history --json = exit %d, stdout %q, stderr %q; want 0, [] and nothing else", code, out, errOut)
	}

	// --local=false acts on AWS even here: without its settings, it says
	// which one is missing.
	code, _, errOut = run(t, "history", "--local=false")
	if code != factory.ExitUsage || !strings.Contains(errOut, "SLIPWAY_CONFIG") {
		t.Errorf("history --local=false = exit %d, stderr %q; want %d naming SLIPWAY_CONFIG (AWS)", code, errOut, factory.ExitUsage)
	}

	// Elsewhere, --local-dir names it, and the hints carry it.
	t.Chdir(t.TempDir())
	code, _, errOut = run(t, "show", "staging-v9-nosuch", "--local-dir", state)
	if code != factory.ExitUsage || !strings.Contains(errOut, "`slipway history --local-dir "+state+"`") {
		t.Errorf("show of an unknown id = exit %d, stderr:\n%s\nwant %d and a hint carrying --local-dir", code, errOut, factory.ExitUsage)
	}
	app := t.TempDir()
	if err := os.WriteFile(filepath.Join(app, "slipway.yaml"), []byte("app: demo\nservice:\n  start: run.sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, "release", "build", "--dir", app, "--version", "v1", "--local-dir", state)
	want := "publish it with: slipway release publish v1.tar.gz --version v1 --local-dir " + state + "\n"
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("release build = exit %d, stdout:\n%s%s\nwant %q", code, out, errOut, want)
	}
	code, out, errOut = run(t, strings.Fields(strings.TrimPrefix(want, "publish it with: slipway "))...)
	if code != 0 || !strings.Contains(out, "deploy it with: slipway deploy --env ENV --version v1 --local-dir "+state+"\n") {
		t.Errorf("the printed publish command = exit %d, stdout:\n%s%s\nwant it to publish and print a deploy command with --local-dir", code, out, errOut)
	}
}

func TestWithTargetFlags(t *testing.T) {
	tests := []struct {
		name, hint, flags, want string
	}{
		{"no flags", "`slipway history` lists them", "", "`slipway history` lists them"},
		{"each command", "`slipway show x` has it, `slipway logs x` too", "--local-dir /s", "`slipway show x --local-dir /s` has it, `slipway logs x --local-dir /s` too"},
		{"given already", "`slipway show x --local-dir /s`", "--local-dir /s", "`slipway show x --local-dir /s`"},
		{"unquoted text", "run make demo", "--local-dir /s", "run make demo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := withTargetFlags(tt.hint, tt.flags); got != tt.want {
				t.Errorf("withTargetFlags(%q, %q) = %q, want %q", tt.hint, tt.flags, got, tt.want)
			}
		})
	}
}
