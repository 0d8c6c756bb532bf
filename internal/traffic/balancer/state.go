package balancer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/slipway-deploy/slipway/internal/traffic"
)

// Files in a balancer's directory.
const (
	StateFile = "state.json"
	PIDFile   = "pid"
	LogFile   = "log"
	LockFile  = "lock" // held while a balancer is being started
)

// Local defaults, much shorter than ELBv2's (30 s interval, 300 s delay) so
// that the embedded environment deploys in seconds.
const (
	DefaultHealthPath          = "/healthz"
	DefaultInterval            = 200 * time.Millisecond
	DefaultTimeout             = time.Second
	DefaultHealthyThreshold    = 2
	DefaultUnhealthyThreshold  = 2
	DefaultDeregistrationDelay = 5 * time.Second
)

// Group is a target group's settings. Zero fields take the defaults.
type Group struct {
	HealthPath          string   `json:"health_path,omitempty"`
	Interval            Duration `json:"interval,omitempty"`
	Timeout             Duration `json:"timeout,omitempty"`
	HealthyThreshold    int      `json:"healthy_threshold,omitempty"`
	UnhealthyThreshold  int      `json:"unhealthy_threshold,omitempty"`
	DeregistrationDelay Duration `json:"deregistration_delay,omitempty"`
}

func (g Group) withDefaults() Group {
	if g.HealthPath == "" {
		g.HealthPath = DefaultHealthPath
	}
	if g.Interval == 0 {
		g.Interval = Duration(DefaultInterval)
	}
	if g.Timeout == 0 {
		g.Timeout = Duration(DefaultTimeout)
	}
	if g.HealthyThreshold == 0 {
		g.HealthyThreshold = DefaultHealthyThreshold
	}
	if g.UnhealthyThreshold == 0 {
		g.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	if g.DeregistrationDelay == 0 {
		g.DeregistrationDelay = Duration(DefaultDeregistrationDelay)
	}
	return g
}

func (g Group) validate() error {
	switch {
	case g.HealthPath != "" && g.HealthPath[0] != '/':
		return fmt.Errorf("health_path %q must start with /", g.HealthPath)
	case g.Interval < 0 || g.Timeout < 0 || g.DeregistrationDelay < 0:
		return errors.New("interval, timeout and deregistration_delay must not be negative")
	case g.Interval != 0 && g.Interval < Duration(10*time.Millisecond):
		return errors.New("interval must be at least 10ms")
	case g.HealthyThreshold < 0 || g.HealthyThreshold > 10 || g.UnhealthyThreshold < 0 || g.UnhealthyThreshold > 10:
		return errors.New("healthy_threshold and unhealthy_threshold must be between 1 and 10 (0: the default)")
	}
	return nil
}

// Listener is a listener's settings: its port on 127.0.0.1 and the weight
// of each target group it forwards to.
type Listener struct {
	Port    int            `json:"port"`
	Weights map[string]int `json:"weights"`
}

// state is what state.json holds.
type state struct {
	ControlPort int                    `json:"control_port"`
	Groups      map[string]*groupState `json:"groups"`
	Listeners   map[string]*Listener   `json:"listeners"`
}

type groupState struct {
	Group
	Targets []traffic.Target `json:"targets"`
	// Ports are the ports targets were last registered on, by id: a
	// target registered again without a port (as on AWS, where the group
	// has a default port) goes back to its own.
	Ports map[string]int `json:"ports,omitempty"`
}

// Duration is a time.Duration written in JSON as Go's text ("5s", "200ms")
// and read from that text or from a number of seconds.
type Duration time.Duration

// MarshalJSON writes d as Go's duration text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "5s" or 5 (seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: write it as \"5s\" or \"200ms\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("duration %s: write it as \"5s\", \"200ms\" or a number of seconds", b)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)

func validName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%s name %q: use 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen", kind, name)
	}
	return nil
}

// loadState reads dir's state file; a missing one is an empty state and
// fs.ErrNotExist.
func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &state{Groups: map[string]*groupState{}, Listeners: map[string]*Listener{}}, err
	}
	if err != nil {
		return nil, err
	}
	st := &state{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("read %s: %w: remove the file to start the balancer afresh", filepath.Join(dir, StateFile), err)
	}
	if st.Groups == nil {
		st.Groups = map[string]*groupState{}
	}
	if st.Listeners == nil {
		st.Listeners = map[string]*Listener{}
	}
	return st, nil
}

// saveState writes the state file through a rename, so a reader never
// sees half of it.
func saveState(dir string, st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, StateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, StateFile))
}
