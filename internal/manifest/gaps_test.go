package manifest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// base is the smallest valid manifest; the tests below append to it.
const base = "app: demo\nservice:\n  start: bin/demo\n"

func TestParseBake(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error; none means valid
	}{
		{"four hours is the limit", base + "bake:\n  duration: 4h\n", nil},
		{"long watch is fine", base + "bake:\n  duration: 1h\n  watch: 72h\n", nil},
		{"longer than the limit", base + "bake:\n  duration: 5h\n", []string{"slipway.yaml:5:13:", "bake.duration", "5h0m0s", "4h0m0s", "bake.watch"}},
		{"just over the limit", base + "bake:\n  duration: 4h1s\n", []string{"bake.duration", "4h0m1s"}},
		{"environment override longer than the limit", base + "environments:\n  production:\n    bake:\n      duration: 12h\n", []string{"slipway.yaml:7:17:", "environments.production.bake.duration", "12h0m0s", "4h0m0s"}},
		{"environment bake interval too short", base + "environments:\n  production:\n    bake:\n      interval: 10ms\n", []string{"environments.production.bake.interval", "at least 1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			checkErr(t, tt.yaml, err, tt.want)
		})
	}
	if MaxBake != 4*time.Hour {
		t.Errorf("MaxBake = %s, want 4h", MaxBake)
	}
}

func TestForEnvironmentBakeInherits(t *testing.T) {
	m, err := Parse([]byte(base + "bake:\n  duration: 10m\n  interval: 30s\nenvironments:\n  production:\n    bake:\n      interval: 10s\n"))
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	_, bake, _ := m.ForEnvironment("production")
	if bake.Duration.Duration != 10*time.Minute || bake.Interval.Duration != 10*time.Second {
		t.Errorf("ForEnvironment(production) bake = %s every %s, want 10m0s (inherited) every 10s", bake.Duration, bake.Interval)
	}
}

func TestParseWaves(t *testing.T) {
	tests := []struct {
		name  string
		waves string
		want  []string
	}{
		{"default shape", `[1, "25%", "100%"]`, nil},
		{"equal waves are allowed", `[2, 2, "50%", "50%"]`, nil},
		{"fractional percentage", `["0.5%", "100%"]`, nil},
		{"NaN percentage", `["NaN%", "100%"]`, []string{"slipway.yaml:5:11:", "rollout.waves", "wave 1", `"NaN%"`}},
		{"infinite percentage", `[1, "+Inf%"]`, []string{"wave 2", `"+Inf%"`}},
		{"negative infinity", `["-Inf%"]`, []string{"wave 1", `"-Inf%"`}},
		{"zero percent", `[1, "0%"]`, []string{"wave 2", `"0%"`}},
		{"above 100 percent", `["101%"]`, []string{"wave 1", `"101%"`, "at most 100%"}},
		{"zero count", `[0]`, []string{"wave 1", `"0"`}},
		{"negative count", `[1, -3]`, []string{"wave 2", `"-3"`}},
		{"fractional count", `[1.5, "100%"]`, []string{"wave 1", `"1.5"`}},
		{"not a number", `[one]`, []string{"wave 1", `"one"`}},
		{"percentages decrease", `[1, "50%", "10%"]`, []string{"slipway.yaml:5:21:", "wave 3", `"10%"`, "wave 2", `"50%"`, "cumulative"}},
		{"counts decrease", `[5, 2, "100%"]`, []string{"wave 2", `"2"`, "wave 1", `"5"`}},
		{"a count after 100%", `["100%", 3]`, []string{"wave 2", `"3"`, "100%"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base + "rollout:\n  waves: " + tt.waves + "\n"
			_, err := Parse([]byte(in))
			checkErr(t, in, err, tt.want)
		})
	}
	t.Run("environment waves", func(t *testing.T) {
		in := base + "environments:\n  production:\n    waves: [\"50%\", \"NaN%\"]\n"
		_, err := Parse([]byte(in))
		checkErr(t, in, err, []string{"slipway.yaml:6:20:", "environments.production.waves", "wave 2", `"NaN%"`})
	})
}

func TestParseDocuments(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"leading separator is one document", "---\n" + base, nil},
		{"document end marker is one document", base + "...\n", nil},
		{"two documents", base + "---\napp: other\n", []string{"slipway.yaml holds 2 YAML documents; keep one"}},
		{"three documents", base + "---\napp: other\n---\napp: third\n", []string{"slipway.yaml holds 3 YAML documents; keep one"}},
		{"an empty second document", base + "---\n", []string{"slipway.yaml holds 2 YAML documents; keep one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			checkErr(t, tt.yaml, err, tt.want)
		})
	}
}

// TestParseErrorPositions checks that every kind of error names the file,
// the line (and column when known) and the key, and that none of them
// blames a missing file.
func TestParseErrorPositions(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"syntax error", base + "health:\n  path: /healthz\n   interval: 1s\n", []string{"slipway.yaml:6:", "YAML syntax", "health"}},
		{"syntax error in a file with CR line breaks", "app: demo\rhealth:\r  path: /healthz\r   interval: 1s\r", []string{"slipway.yaml:4:", "health", "YAML syntax"}},
		{"unclosed quote", base + "alarms: [\"demo-5xx]\n", []string{"slipway.yaml:", "YAML syntax"}},
		{"tab indentation", base + "health:\n\tpath: /x\n", []string{"slipway.yaml:5:", "YAML syntax"}},
		{"unknown key", base + "helth:\n  path: /x\n", []string{"slipway.yaml:4:1:", "helth", "unknown key"}},
		{"unknown nested key", base + "health:\n  pth: /x\n", []string{"slipway.yaml:5:3:", "health.pth", "unknown key"}},
		{"wrong type", base + "health:\n  successes: many\n", []string{"slipway.yaml:5:14:", "health.successes", "whole number", `"many"`}},
		{"list where a string goes", "app: [demo]\nservice: {start: x}\n", []string{"slipway.yaml:1:6:", "app", "a list"}},
		{"list where a number goes, in a flow mapping", base + "health: {successes: [1]}\n", []string{"slipway.yaml:4:21:", "health.successes", "whole number", "a list"}},
		{"bad duration", base + "bake:\n  duration: soon\n", []string{"slipway.yaml:5:13:", "bake.duration", `"soon" is not a duration`}},
		{"duplicate key", base + "app: again\n", []string{"slipway.yaml:4:1:", "app", "twice", "line 1"}},
		{"validation error", "app: Demo_App\nservice: {start: x}\n", []string{"slipway.yaml:1:6:", `app: "Demo_App"`}},
		{"validation error in a flow mapping", "app: demo\nservice: {start: /bin/x}\n", []string{"slipway.yaml:2:18:", "service.start"}},
		{"validation error of a defaulted key points at its parent", base + "health:\n  successes: 5\n  interval: 20s\n", []string{"slipway.yaml:4:1:", "health.timeout"}},
		{"validation error of an absent key", "service: {start: x}\n", []string{`slipway.yaml: app: ""`}},
		{"two problems", "app: Demo\nservice: {start: /x}\n", []string{"slipway.yaml: 2 problems", "slipway.yaml:1:6: app", "slipway.yaml:2:18: service.start"}},
		{"freeze window", base + "freeze:\n  windows:\n    - {from: \"25:00\", to: \"10:00\", time_zone: Europe/Paris}\n", []string{"slipway.yaml:6:14:", "freeze.windows[0].from", "25:00"}},
		{"a capacity that is a list", base + "rollout:\n  min_healthy: [1]\n", []string{"slipway.yaml:5:16: rollout.min_healthy: want a count of targets", "not a list"}},
		{"a capacity that is not a number", base + "rollout:\n  min_healthy: most\n", []string{"slipway.yaml:5:16: rollout.min_healthy: \"most\" is not a count"}},
		{"a mapping inside a flow list inside a flow mapping", base + "migrations: {allow: [{version: x}]}\n", []string{"slipway.yaml:4:22: migrations.allow[0]: want a string, not a mapping"}},
		{"a list for the whole manifest", "- app: demo\n", []string{"slipway.yaml:1:1: the manifest is a mapping of keys", "not a list"}},
		{"a number for the whole manifest", "42\n", []string{"slipway.yaml:1:1: the manifest is a mapping of keys", `not "42"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			checkErr(t, tt.yaml, err, tt.want)
			if err != nil && strings.Contains(err.Error(), "at its root") {
				t.Errorf("Parse(%q) error = %v, want no mention of a missing file", tt.yaml, err)
			}
			var perr *Error
			if err != nil && !errors.As(err, &perr) {
				t.Errorf("Parse(%q) error is %T, want a *manifest.Error", tt.yaml, err)
			}
		})
	}
}

// TestParseFile names the file as the caller gave it, once, in every
// message.
func TestParseFile(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"one problem", base + "health:\n  pth: /x\n", "release/slipway.yaml:5:3: health.pth: unknown key; check its spelling and indentation"},
		{"two problems", "app: Demo\nservice: {start: /x}\n", "release/slipway.yaml: 2 problems:\n  release/slipway.yaml:1:6: app:"},
		{"empty", "", "release/slipway.yaml is empty"},
		{"two documents", base + "---\napp: x\n", "release/slipway.yaml holds 2 YAML documents"},
		{"syntax", base + "health:\n  path: /healthz\n   interval: 1s\n", "release/slipway.yaml:6: health"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile("release/slipway.yaml", []byte(tt.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("ParseFile(release/slipway.yaml, %q) = %v, want %q", tt.yaml, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "slipway.yaml: release/") {
				t.Errorf("ParseFile names the file twice: %v", err)
			}
		})
	}
}

func TestErrorProblems(t *testing.T) {
	_, err := Parse([]byte("app: Demo\nservice: {start: /x}\n"))
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("Parse() error = %v, want a *manifest.Error", err)
	}
	got := fmt.Sprint(perr.Problems)
	want := fmt.Sprint([]Problem{
		{Line: 1, Column: 6, Key: "app", Message: `"Demo" must be 1-40 lowercase letters, digits or dashes, starting with a letter`},
		{Line: 2, Column: 18, Key: "service.start", Message: `"/x" must be relative to the release directory`},
	})
	if got != want {
		t.Errorf("Parse() problems = %s, want %s", got, want)
	}
}

// checkErr fails unless err is nil when want is empty, or mentions every
// string in want.
func checkErr(t *testing.T, in string, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Errorf("Parse(%q) error = %v, want none", in, err)
		}
		return
	}
	if err == nil {
		t.Errorf("Parse(%q) error = nil, want one mentioning %q", in, want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Parse(%q) error = %v, want it to mention %q", in, err, w)
		}
	}
}
