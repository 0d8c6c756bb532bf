// Package config is Slipway's own configuration: which environments exist
// for an app and what each is bound to (its database secret, extra alarms,
// whether it is production). On AWS it comes from the SLIPWAY_CONFIG
// environment variable that the CDK stack sets on every function; in the
// embedded environment, from slipway.json in the state directory.
//
// The application's own settings live in its manifest (see manifest).
package config

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// EnvVar is the environment variable that carries the configuration as JSON.
const EnvVar = "SLIPWAY_CONFIG"

// Config lists an app's environments.
type Config struct {
	App          string                 `json:"app"`
	Environments map[string]Environment `json:"environments"`
	Triggers     Triggers               `json:"triggers,omitempty"`
}

// Triggers says which git pushes deploy where.
type Triggers struct {
	// Repositories allowed to trigger deployments: a CodeCommit repository
	// name or, for slipway.git events, the repository as the event names it
	// (e.g. github.com/acme/shop).
	Repositories []string `json:"repositories,omitempty"`
	// Branches maps a branch to the environment a push to it deploys.
	Branches map[string]string `json:"branches,omitempty"`
}

// Environment is one deploy target's bindings.
type Environment struct {
	// Production environments need an approval and get the strictest defaults.
	Production bool `json:"production,omitempty"`
	// DatabaseSecret names the secret holding the database connection
	// (RDS-style JSON: engine, host, port, username, password, dbname).
	DatabaseSecret string `json:"database_secret,omitempty"`
	// DBInstance or DBCluster is the RDS database snapshotted before migrations.
	DBInstance string `json:"db_instance,omitempty"`
	DBCluster  string `json:"db_cluster,omitempty"`
	// Alarms are watched in addition to the manifest's.
	Alarms []string `json:"alarms,omitempty"`
	// Tags override the manifest's target tags.
	Tags map[string]string `json:"tags,omitempty"`
	// TargetGroups are the load balancer target groups the environment's
	// instances serve behind (ARNs on AWS, names in the embedded
	// environment). When set, each wave is taken out of service, drained,
	// deployed and put back (see internal/traffic).
	TargetGroups []string `json:"target_groups,omitempty"`
	// Endpoint is the URL that serves the environment through its load
	// balancer (https://the-alb-dns-name on AWS; the embedded balancer's
	// http://127.0.0.1:PORT, set by local init). The manifest's smoke
	// checks run through it after the last wave.
	Endpoint string `json:"endpoint,omitempty"`
	// AutoScalingGroups are the Auto Scaling groups whose instances belong
	// to the environment. A launch lifecycle hook on each puts a new
	// instance into service only once it runs the environment's release
	// (see pipeline.Lifecycle).
	AutoScalingGroups []string `json:"auto_scaling_groups,omitempty"`
	// BlueGreen is the environment's blue/green setup, for manifests whose
	// rollout.strategy is blue-green.
	BlueGreen *BlueGreen `json:"blue_green,omitempty"`
}

// BlueGreen is an environment split in two sides behind one listener:
// a deployment goes to the side that does not serve, then the listener's
// weighted forward action shifts to it; rollback shifts it back.
type BlueGreen struct {
	// Listener is the listener (or listener rule) ARN whose weighted
	// forward action sends traffic to the two sides' target groups; in
	// the embedded environment, the environment's balancer name.
	Listener string `json:"listener"`
	Blue     Side   `json:"blue"`
	Green    Side   `json:"green"`
}

// Side is one half of a blue/green environment: its target group and
// its instances, by tags or by Auto Scaling groups.
type Side struct {
	TargetGroup       string            `json:"target_group"`
	Tags              map[string]string `json:"tags,omitempty"`
	AutoScalingGroups []string          `json:"auto_scaling_groups,omitempty"`
}

// Side names.
const (
	Blue  = "blue"
	Green = "green"
)

// Side returns the side called name (blue or green).
func (b *BlueGreen) Side(name string) Side {
	if name == Green {
		return b.Green
	}
	return b.Blue
}

// SideOf returns the name of the side whose target group is group.
func (b *BlueGreen) SideOf(group string) (string, bool) {
	switch group {
	case b.Blue.TargetGroup:
		return Blue, true
	case b.Green.TargetGroup:
		return Green, true
	}
	return "", false
}

func (b *BlueGreen) validate() error {
	if b.Listener == "" {
		return fmt.Errorf("blue_green.listener is empty: name the listener (or listener rule) ARN whose weighted forward action sends traffic to both sides")
	}
	for _, s := range []struct {
		name string
		side Side
	}{{Blue, b.Blue}, {Green, b.Green}} {
		if s.side.TargetGroup == "" {
			return fmt.Errorf("blue_green.%s.target_group is empty: each side needs its own target group", s.name)
		}
		if len(s.side.Tags) == 0 && len(s.side.AutoScalingGroups) == 0 {
			return fmt.Errorf("blue_green.%s names no instances: set tags (the side's instance tags) or auto_scaling_groups", s.name)
		}
	}
	if b.Blue.TargetGroup == b.Green.TargetGroup {
		return fmt.Errorf("blue_green: blue and green share target group %q; each side needs its own", b.Blue.TargetGroup)
	}
	if len(b.Blue.Tags) > 0 && mapsEqual(b.Blue.Tags, b.Green.Tags) {
		return fmt.Errorf("blue_green: blue and green select the same instance tags; give each side a tag of its own (for example slipway:side=blue)")
	}
	for _, g := range b.Blue.AutoScalingGroups {
		for _, h := range b.Green.AutoScalingGroups {
			if g == h {
				return fmt.Errorf("blue_green: Auto Scaling group %q is on both sides; each side needs its own groups", g)
			}
		}
	}
	return nil
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// UnknownEnvironmentError names an environment that is not configured.
type UnknownEnvironmentError struct {
	App, Name string
	Known     []string
}

func (e *UnknownEnvironmentError) Error() string {
	if len(e.Known) == 0 {
		return fmt.Sprintf("environment %q is not configured for app %q: no environments are configured; add it to the Slipway configuration", e.Name, e.App)
	}
	return fmt.Sprintf("environment %q is not configured for app %q: known environments are %s", e.Name, e.App, strings.Join(e.Known, ", "))
}

// Env returns the named environment.
func (c *Config) Env(name string) (Environment, error) {
	if e, ok := c.Environments[name]; ok {
		return e, nil
	}
	return Environment{}, &UnknownEnvironmentError{App: c.App, Name: name, Known: c.Names()}
}

// EnvironmentOfAlarm returns the environment that watches alarm.
func (c *Config) EnvironmentOfAlarm(alarm string) (string, bool) {
	for _, name := range c.Names() {
		for _, a := range c.Environments[name].Alarms {
			if a == alarm {
				return name, true
			}
		}
	}
	return "", false
}

// EnvironmentOfGroup returns the environment an Auto Scaling group belongs to.
// A blue/green side's groups count: their instances are the
// environment's too.
func (c *Config) EnvironmentOfGroup(group string) (string, bool) {
	for _, name := range c.Names() {
		e := c.Environments[name]
		if slices.Contains(e.AutoScalingGroups, group) || e.SideOfGroup(group) != "" {
			return name, true
		}
	}
	return "", false
}

// SideOfGroup returns the blue/green side ("blue" or "green") whose
// auto_scaling_groups name group, or "" when none does.
func (e Environment) SideOfGroup(group string) string {
	if e.BlueGreen == nil {
		return ""
	}
	for _, side := range []string{Blue, Green} {
		if slices.Contains(e.BlueGreen.Side(side).AutoScalingGroups, group) {
			return side
		}
	}
	return ""
}

// Names lists the environments, sorted.
func (c *Config) Names() []string {
	names := make([]string, 0, len(c.Environments))
	for n := range c.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Parse reads a configuration from JSON.
func Parse(data []byte) (*Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("parse slipway configuration: %w", err)
	}
	if c.App == "" {
		return nil, fmt.Errorf("slipway configuration: app is empty")
	}
	if len(c.Environments) == 0 {
		return nil, fmt.Errorf("slipway configuration for %s: no environments", c.App)
	}
	for branch, env := range c.Triggers.Branches {
		if _, ok := c.Environments[env]; !ok {
			return nil, fmt.Errorf("slipway configuration for %s: triggers.branches maps %q to environment %q, which is not configured", c.App, branch, env)
		}
	}
	for _, name := range c.Names() {
		if bg := c.Environments[name].BlueGreen; bg != nil {
			if err := bg.validate(); err != nil {
				return nil, fmt.Errorf("slipway configuration for %s: environment %s: %w", c.App, name, err)
			}
		}
	}
	owner := map[string]string{}
	for _, name := range c.Names() {
		for _, g := range c.Environments[name].AutoScalingGroups {
			if g == "" {
				return nil, fmt.Errorf("slipway configuration for %s: environment %s names an empty Auto Scaling group", c.App, name)
			}
			if other, ok := owner[g]; ok {
				return nil, fmt.Errorf("slipway configuration for %s: Auto Scaling group %q belongs to both %s and %s; a group serves one environment", c.App, g, other, name)
			}
			owner[g] = name
		}
	}
	return &c, nil
}

// Load reads a configuration file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read slipway configuration: %w", err)
	}
	return Parse(b)
}

// FromEnv reads the configuration from SLIPWAY_CONFIG.
func FromEnv() (*Config, error) {
	v := os.Getenv(EnvVar)
	if v == "" {
		return nil, fmt.Errorf("%s is not set: the function needs its configuration (the CDK stack sets it)", EnvVar)
	}
	return Parse([]byte(v))
}
