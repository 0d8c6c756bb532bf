package manifest

import (
	"strings"
	"testing"
)

func TestParseHooks(t *testing.T) {
	m, err := Parse([]byte(base + "hooks:\n  before_activate: {run: bin/warm-cache --all, timeout: 90s}\n  validate: {run: bin/check}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	m.Hooks.Each(func(name string, h Hook) { got = append(got, name+"="+h.Run+"@"+h.Timeout.String()) })
	if want := "before_activate=bin/warm-cache --all@1m30s validate=bin/check@1m0s"; strings.Join(got, " ") != want {
		t.Errorf("hooks = %q, want %q", strings.Join(got, " "), want)
	}
	env := string(m.ReleaseEnv("v2"))
	for _, w := range []string{"SLIPWAY_HOOK_BEFORE_ACTIVATE='bin/warm-cache --all'\n", "SLIPWAY_HOOK_BEFORE_ACTIVATE_TIMEOUT=90\n", "SLIPWAY_HOOK_VALIDATE=bin/check\n", "SLIPWAY_HOOK_VALIDATE_TIMEOUT=60\n"} {
		if !strings.Contains(env, w) {
			t.Errorf("ReleaseEnv does not hold %q:\n%s", w, env)
		}
	}
	if strings.Contains(env, "AFTER_ACTIVATE") {
		t.Errorf("ReleaseEnv holds a hook that is not set:\n%s", env)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"hooks:\n  validate: {timeout: 5s}\n", "hooks.validate.run: the command to run, relative to the release directory"},
		{"hooks:\n  after_activate: {run: /usr/bin/true}\n", `hooks.after_activate.run: "/usr/bin/true" must be relative to the release directory`},
		{"hooks:\n  validate: {run: ../x}\n", `"../x" must be relative`},
		{"hooks:\n  validate: {run: bin/x, timeout: 2h}\n", "hooks.validate.timeout: 2h0m0s must be between 1s and 30m0s"},
		{"hooks:\n  after_traffic: {run: /bin/x}\n", `hooks.after_traffic.run: "/bin/x" must be relative`},
		{"hooks:\n  before_traffic: {run: bin/x, timeout: 0.5s}\n", "hooks.before_traffic.timeout: 500ms must be between 1s and 30m0s"},
		{"hooks:\n  during_traffic: {run: bin/x}\n", "during_traffic"},
	} {
		y := base + tt.yaml
		_, err := Parse([]byte(y))
		checkErr(t, y, err, []string{tt.want})
	}
}

// TestParseTrafficHooks: before_traffic and after_traffic are hooks like
// the others: in the order they run (after the activation hooks), with
// their timeouts, in release.env for the host script's hook action.
func TestParseTrafficHooks(t *testing.T) {
	m, err := Parse([]byte(base + "hooks:\n  after_traffic: {run: bin/purge-cdn, timeout: 2m}\n  before_traffic: {run: bin/warm}\n  validate: {run: bin/check}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	m.Hooks.Each(func(name string, h Hook) { got = append(got, name+"="+h.Run+"@"+h.Timeout.String()) })
	if want := "validate=bin/check@1m0s before_traffic=bin/warm@1m0s after_traffic=bin/purge-cdn@2m0s"; strings.Join(got, " ") != want {
		t.Errorf("hooks = %q, want %q", strings.Join(got, " "), want)
	}
	env := string(m.ReleaseEnv("v2"))
	for _, w := range []string{"SLIPWAY_HOOK_BEFORE_TRAFFIC=bin/warm\n", "SLIPWAY_HOOK_BEFORE_TRAFFIC_TIMEOUT=60\n", "SLIPWAY_HOOK_AFTER_TRAFFIC=bin/purge-cdn\n", "SLIPWAY_HOOK_AFTER_TRAFFIC_TIMEOUT=120\n"} {
		if !strings.Contains(env, w) {
			t.Errorf("ReleaseEnv does not hold %q:\n%s", w, env)
		}
	}
}
