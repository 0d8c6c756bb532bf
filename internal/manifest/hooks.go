package manifest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Hooks are commands of the release run on each host around its
// activation, by the host script, in the release directory with the
// release's environment (release.env, its configuration, host.env). A
// hook's exit code decides: non-zero fails the activation. A rollback runs
// the hooks of the release it returns to, never those of the one it
// leaves.
type Hooks struct {
	// BeforeActivate runs once the release is unpacked, before `current`
	// switches to it: a failure leaves the host as it was.
	BeforeActivate *Hook `yaml:"before_activate"`
	// AfterActivate runs once the switched release is healthy.
	AfterActivate *Hook `yaml:"after_activate"`
	// Validate runs after AfterActivate: the release's own check of itself.
	Validate *Hook `yaml:"validate"`
	// BeforeTraffic runs where traffic is switched, on instances that are
	// healthy on the release but get no traffic yet: a blue/green idle
	// side before the listener's first shift, an in-place wave behind a
	// load balancer before it is registered again, an instance Auto
	// Scaling launches there before it is put into service. A failure
	// moves no traffic to them. Without a load balancer it does not run
	// (as CodeDeploy's BeforeAllowTraffic).
	BeforeTraffic *Hook `yaml:"before_traffic"`
	// AfterTraffic runs on the same instances once they take traffic: a
	// blue/green side after the last shift step, an in-place wave once the
	// balancer reports it in service. A failure rolls back.
	AfterTraffic *Hook `yaml:"after_traffic"`
}

// Hook is one hook: a command relative to the release directory and how
// long it may run.
type Hook struct {
	Run     string   `yaml:"run"`
	Timeout Duration `yaml:"timeout"`
}

// Hook limits.
const (
	DefaultHookTimeout = time.Minute
	MaxHookTimeout     = 30 * time.Minute
)

// HookNames are the hooks, in the order they run.
var HookNames = []string{"before_activate", "after_activate", "validate", "before_traffic", "after_traffic"}

// Where traffic is switched, the hooks that run around it.
const (
	HookBeforeTraffic = "before_traffic"
	HookAfterTraffic  = "after_traffic"
)

func (h Hooks) all() []*Hook {
	return []*Hook{h.BeforeActivate, h.AfterActivate, h.Validate, h.BeforeTraffic, h.AfterTraffic}
}

// Each calls fn with each hook that is set, in the order they run.
func (h Hooks) Each(fn func(name string, hook Hook)) {
	for i, p := range h.all() {
		if p != nil {
			fn(HookNames[i], *p)
		}
	}
}

func (h *Hooks) setDefaults() {
	for _, p := range h.all() {
		if p != nil && p.Timeout.Duration == 0 {
			p.Timeout.Duration = DefaultHookTimeout
		}
	}
}

func (h Hooks) validate() []problem {
	var errs []problem
	h.Each(func(name string, k Hook) {
		field := "hooks." + name
		run := strings.TrimSpace(k.Run)
		switch {
		case run == "":
			errs = append(errs, problem{path: field + ".run", msg: "the command to run, relative to the release directory (such as \"bin/warm-cache\"), is required"})
		case strings.HasPrefix(run, "/") || strings.Contains(run, ".."):
			errs = append(errs, problem{path: field + ".run", msg: fmt.Sprintf("%q must be relative to the release directory, such as \"bin/warm-cache\": a hook ships with its release", k.Run)})
		case strings.ContainsAny(run, "\n\r"):
			errs = append(errs, problem{path: field + ".run", msg: "one line: put a longer script in the bundle and run it"})
		}
		if d := k.Timeout.Duration; d < time.Second || d > MaxHookTimeout {
			errs = append(errs, problem{path: field + ".timeout", msg: fmt.Sprintf("%s must be between 1s and %s", d, MaxHookTimeout)})
		}
	})
	return errs
}

// hookEnv writes the hooks' release.env keys.
func (h Hooks) hookEnv(kv func(k, v string)) {
	h.Each(func(name string, k Hook) {
		key := "SLIPWAY_HOOK_" + strings.ToUpper(name)
		kv(key, k.Run)
		kv(key+"_TIMEOUT", strconv.Itoa(int(math.Ceil(k.Timeout.Seconds()))))
	})
}
