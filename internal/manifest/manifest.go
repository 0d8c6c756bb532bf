// Package manifest reads slipway.yaml, the manifest every release bundle
// carries: how the app starts and restarts, how it is health checked, how it
// rolls out in waves, how long it bakes, which alarms guard it and how its
// migrations are governed. It fills in defaults and rejects what is wrong
// with an error that names the field.
//
// It does not know about AWS or the embedded environment.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FileName is the manifest's name at the root of a release bundle.
const FileName = "slipway.yaml"

// Manifest is a parsed slipway.yaml.
type Manifest struct {
	App          string                 `yaml:"app"`
	Service      Service                `yaml:"service"`
	Health       Health                 `yaml:"health"`
	Rollout      Rollout                `yaml:"rollout"`
	Bake         Bake                   `yaml:"bake"`
	Alarms       []string               `yaml:"alarms"`
	Freeze       Freeze                 `yaml:"freeze"`
	Migrations   Migrations             `yaml:"migrations"`
	KeepReleases int                    `yaml:"keep_releases"`
	Environments map[string]Environment `yaml:"environments"`
	// Require is what a release must show before Preflight lets it
	// deploy: "tested" (its provenance records passing tests) or "none".
	// Unset: tested for production environments, none elsewhere.
	Require string `yaml:"require"`
	// Config declares every environment variable the app reads, with its
	// value per environment (see Variable).
	Config map[string]Variable `yaml:"config"`
	// Smoke are the HTTP checks of the app's critical paths run after the
	// health check (see SmokeCheck).
	Smoke []SmokeCheck `yaml:"smoke"`
	// Host is what every host must have free before the lock is taken.
	Host Host `yaml:"host"`
	// Hooks run on each host around the release's activation.
	Hooks Hooks `yaml:"hooks"`
}

// Service says how a release runs on a host.
type Service struct {
	// Start is the command, relative to the release directory, that runs the
	// app where Slipway supervises the process itself (the embedded fleet).
	Start string `yaml:"start"`
	// Unit is the systemd unit restarted on EC2.
	Unit string `yaml:"unit"`
	// Restart overrides the restart command on EC2 (default: systemctl restart Unit).
	Restart string `yaml:"restart"`
}

// Health is the health check, run by the host script after a restart and by
// the probe after each wave.
type Health struct {
	Path         string   `yaml:"path"`
	ExpectStatus int      `yaml:"expect_status"`
	Successes    int      `yaml:"successes"`
	Interval     Duration `yaml:"interval"`
	Timeout      Duration `yaml:"timeout"`
}

// Rollout is how the fleet is moved.
type Rollout struct {
	// Waves are cumulative targets: a count of instances ("1") or a
	// percentage of the fleet ("25%"). The last wave always reaches 100%.
	Waves        []WaveSpec `yaml:"waves"`
	PollInterval Duration   `yaml:"poll_interval"`
	// Tags select the instances; the value "{env}" stands for the environment.
	Tags map[string]string `yaml:"tags"`
	// LeaseWait bounds how long a deployment waits for another deployment
	// of the environment to finish before it gives up (DeploymentInProgress);
	// default 30m.
	LeaseWait Duration `yaml:"lease_wait"`
	// MinHealthy is the capacity floor of an environment behind target
	// groups: a count of targets or a percentage of those registered
	// ("66%", the default) that must stay in service while a wave is out.
	MinHealthy *Capacity `yaml:"min_healthy"`
	// Strategy is in-place (default: the waves restart the serving
	// instances) or blue-green (deploy to the idle side of two target
	// groups, then shift the listener's weights to it).
	Strategy string `yaml:"strategy"`
	// Shift is how a blue/green deployment moves traffic to the new side:
	// "all" (one switch, the default) or cumulative percentages ending at
	// 100%, such as ["10%", "50%", "100%"].
	Shift ShiftSpec `yaml:"shift"`
	// ShiftBake is how long each shift step bakes, with the alarms checked,
	// before the next step (default 1m; the last step bakes for bake.duration).
	ShiftBake Duration `yaml:"shift_bake"`
	// KeepWarm is how long the old side stays warm, ready for a switch
	// back, after a blue/green deployment succeeds (default 1h).
	KeepWarm Duration `yaml:"keep_warm"`
	// Canary, when set, analyses the first wave against the instances not
	// yet deployed before the rollout goes on (see Canary).
	Canary *Canary `yaml:"canary"`
}

// Rollout strategies.
const (
	StrategyInPlace   = "in-place"
	StrategyBlueGreen = "blue-green"
)

// ShiftSpec is a blue/green shift: the new side's cumulative weight, in
// percent, at each step. The last step is 100.
type ShiftSpec []int

// UnmarshalYAML reads "all" or a list of percentages such as ["10%", "100%"].
func (s *ShiftSpec) UnmarshalYAML(n *yaml.Node) error {
	const want = `want "all" or a list of growing percentages ending at "100%", such as ["10%", "50%", "100%"]`
	if n.Kind == yaml.ScalarNode {
		if strings.TrimSpace(n.Value) != "all" {
			return &nodeError{line: n.Line, col: n.Column, msg: fmt.Sprintf("%q: %s", n.Value, want)}
		}
		*s = ShiftSpec{100}
		return nil
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return &nodeError{line: n.Line, col: n.Column, msg: want}
	}
	out := make(ShiftSpec, 0, len(n.Content))
	for i, c := range n.Content {
		v := strings.TrimSpace(c.Value)
		p, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
		switch {
		case c.Kind != yaml.ScalarNode || !strings.HasSuffix(v, "%") || err != nil:
			return &nodeError{line: c.Line, col: c.Column, msg: fmt.Sprintf("step %d %q is not a whole percentage such as \"10%%\"; %s", i+1, c.Value, want)}
		case p < 1 || p > 100:
			return &nodeError{line: c.Line, col: c.Column, msg: fmt.Sprintf("step %d %q must be above 0%% and at most 100%%", i+1, c.Value)}
		case len(out) > 0 && p <= out[len(out)-1]:
			return &nodeError{line: c.Line, col: c.Column, msg: fmt.Sprintf("step %d %q does not grow past step %d \"%d%%\": each step moves more traffic to the new side", i+1, c.Value, i, out[len(out)-1])}
		}
		out = append(out, p)
	}
	if out[len(out)-1] != 100 {
		last := n.Content[len(n.Content)-1]
		return &nodeError{line: last.Line, col: last.Column, msg: fmt.Sprintf("the last step is %q: it must be \"100%%\", so the new side ends up serving everything", last.Value)}
	}
	*s = out
	return nil
}

// Capacity is a count of targets (0 or more) or a percentage ("66%").
type Capacity struct {
	Count   int
	Percent float64
}

// UnmarshalYAML reads 2 or "66%".
func (c *Capacity) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	const want = `a count of targets (0 or more) or a percentage such as "66%"`
	bad := &nodeError{line: n.Line, col: n.Column, msg: fmt.Sprintf("%q is not %s", s, want)}
	if n.Kind != yaml.ScalarNode {
		return &nodeError{line: n.Line, col: n.Column, msg: fmt.Sprintf("want %s, not %s", want, describeKind(n.Kind))}
	}
	if strings.HasSuffix(s, "%") {
		p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || math.IsNaN(p) || p < 0 || p > 100 {
			return bad
		}
		c.Percent = p
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return bad
	}
	c.Count = v
	return nil
}

// String writes the capacity as it is written in the manifest.
func (c Capacity) String() string {
	if c.Count == 0 {
		return strconv.FormatFloat(c.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(c.Count)
}

// Min is how many of total targets must stay in service.
func (c Capacity) Min(total int) int {
	if c.Count > 0 {
		return c.Count
	}
	return int(math.Ceil(c.Percent*float64(total)/100 - 1e-9))
}

// DefaultMinHealthy is rollout.min_healthy when the manifest does not say.
var DefaultMinHealthy = Capacity{Percent: 66}

// Bake is the window after the last wave in which an alarm rolls back.
type Bake struct {
	Duration Duration `yaml:"duration"`
	Interval Duration `yaml:"interval"`
	// Watch is how long after a deployment succeeds an alarm still rolls it
	// back (through the alarm router). Default 1h.
	Watch Duration `yaml:"watch"`
}

// Migrations governs the release's database migrations.
type Migrations struct {
	Dir string `yaml:"dir"`
	// Engine is the SQL dialect the files are written for and linted as:
	// postgres, mysql or sqlite. Empty means the target database's.
	Engine string `yaml:"engine"`
	// Allow names migrations (by file name, name such as 0003_drop_email,
	// or version) that may ship although their class is blocked or they
	// have lint errors.
	Allow []string `yaml:"allow"`
	// Policy says which classes of migration block a deploy.
	Policy MigrationPolicy `yaml:"policy"`
	// LockTimeout and StatementTimeout are set on the migration session
	// (PostgreSQL lock_timeout and statement_timeout; MySQL
	// lock_wait_timeout). LockWait is how long a runner waits for another
	// runner's migration lock.
	LockTimeout      Duration `yaml:"lock_timeout"`
	StatementTimeout Duration `yaml:"statement_timeout"`
	LockWait         Duration `yaml:"lock_wait"`
	// KeepSnapshots is how many of Slipway's pre-migration snapshots are
	// kept per environment; older ones are deleted.
	KeepSnapshots int `yaml:"keep_snapshots"`
}

// MigrationPolicy lists the migration classes (expand, contract,
// destructive) that block a deploy unless allowed by name. Nil means the
// default, contract and destructive; an empty list blocks nothing.
type MigrationPolicy struct {
	Block []string `yaml:"block"`
}

// BlockedClasses returns the classes that block a deploy.
func (m Migrations) BlockedClasses() []string {
	if m.Policy.Block == nil {
		return []string{"contract", "destructive"}
	}
	return m.Policy.Block
}

// Environment overrides settings for one environment.
type Environment struct {
	Waves  []WaveSpec `yaml:"waves"`
	Bake   *Bake      `yaml:"bake"`
	Alarms []string   `yaml:"alarms"`
	// Approval turns the approval step on or off. Production always needs
	// one: the manifest can turn it off only for other environments.
	Approval *bool `yaml:"approval"`
	// Require overrides the top-level require for this environment.
	Require string `yaml:"require"`
}

// Duration is a time.Duration written as "30s", "5m".
type Duration struct{ time.Duration }

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if n.Kind != yaml.ScalarNode || n.Decode(&s) != nil {
		return &nodeError{line: n.Line, col: n.Column, msg: "want a duration such as \"30s\" or \"5m\""}
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return &nodeError{line: n.Line, col: n.Column, msg: fmt.Sprintf("%q is not a duration such as \"30s\" or \"5m\"", s)}
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration back as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// WaveSpec is one wave's cumulative target: Count instances, or Percent of the fleet.
type WaveSpec struct {
	Count   int
	Percent float64
}

// UnmarshalYAML reads 3 or "25%". A percentage must be a finite number
// above 0 and at most 100; a count, a whole number of instances, 1 or more.
// That the waves of a list grow is checked with the whole list.
func (w *WaveSpec) UnmarshalYAML(n *yaml.Node) error {
	bad := func(reason string) error {
		return &nodeError{line: n.Line, col: n.Column, wave: true, msg: fmt.Sprintf("%q: %s", n.Value, reason)}
	}
	if n.Kind != yaml.ScalarNode {
		return &nodeError{line: n.Line, col: n.Column, wave: true, msg: "not a count or a percentage: want a count of instances (1 or more) or a percentage such as \"25%\""}
	}
	s := strings.TrimSpace(n.Value)
	if strings.HasSuffix(s, "%") {
		p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || math.IsNaN(p) || math.IsInf(p, 0) || p <= 0 || p > 100 {
			return bad("a percentage must be a number above 0% and at most 100%")
		}
		w.Percent = p
		return nil
	}
	c, err := strconv.Atoi(s)
	if err != nil || c < 1 {
		return bad("want a count of instances (a whole number, 1 or more) or a percentage such as \"25%\"")
	}
	w.Count = c
	return nil
}

// String writes the spec as it is written in the manifest.
func (w WaveSpec) String() string {
	if w.Percent > 0 {
		return strconv.FormatFloat(w.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(w.Count)
}

// Defaults.
var (
	DefaultWaves = []WaveSpec{{Count: 1}, {Percent: 25}, {Percent: 100}}
)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// MaxBake is the longest bake.duration a manifest may ask for: a
// deployment must finish within the deploy state machine's 6 hours after
// its approval, and an execution stopped by that limit does not roll back.
// Watch longer with bake.watch, during which an alarm still rolls back.
const MaxBake = 4 * time.Hour

// Parse reads and validates a manifest and fills in defaults. A file that
// is empty or holds more than one YAML document is refused as such; any
// other error is a *Error, which names the file, the line and column and
// the key of each problem.
func Parse(data []byte) (*Manifest, error) {
	return ParseFile(FileName, data)
}

// ParseFile is Parse for the manifest at path: every message names the
// file as the user gave it (release/slipway.yaml:5:3: health.pth: …).
func ParseFile(path string, data []byte) (*Manifest, error) {
	m, err := parse(path, data)
	var e *Error
	if errors.As(err, &e) {
		e.File = path
	}
	return m, err
}

func parse(file string, data []byte) (*Manifest, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{Problems: []Problem{syntaxProblem(data, err)}}
	}
	if root.Kind == 0 {
		return nil, fmt.Errorf("%s is empty: it needs at least app and service.start or service.unit", file)
	}
	if n, err := countDocuments(data); err != nil {
		return nil, &Error{Problems: []Problem{syntaxProblem(data, err)}}
	} else if n > 1 {
		return nil, fmt.Errorf("%s holds %d YAML documents; keep one", file, n)
	}
	pos := indexPositions(&root)

	var m Manifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s is empty: it needs at least app and service.start or service.unit", file)
		}
		return nil, &Error{Problems: pos.decodeProblems(err)}
	}
	m.setDefaults()
	if found := m.validate(); len(found) > 0 {
		return nil, &Error{Problems: pos.problems(found)}
	}
	return &m, nil
}

// countDocuments counts the YAML documents in data.
func countDocuments(data []byte) (int, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func (m *Manifest) setDefaults() {
	if m.Service.Unit == "" {
		m.Service.Unit = m.App
	}
	h := &m.Health
	if h.Path == "" {
		h.Path = "/healthz"
	}
	if h.ExpectStatus == 0 {
		h.ExpectStatus = 200
	}
	if h.Successes == 0 {
		h.Successes = 3
	}
	if h.Interval.Duration == 0 {
		h.Interval.Duration = 5 * time.Second
	}
	if h.Timeout.Duration == 0 {
		h.Timeout.Duration = 60 * time.Second
	}
	if len(m.Rollout.Waves) == 0 {
		m.Rollout.Waves = DefaultWaves
	}
	if m.Rollout.MinHealthy == nil {
		c := DefaultMinHealthy
		m.Rollout.MinHealthy = &c
	}
	if m.Rollout.PollInterval.Duration == 0 {
		m.Rollout.PollInterval.Duration = 5 * time.Second
	}
	if len(m.Rollout.Tags) == 0 {
		m.Rollout.Tags = map[string]string{"slipway:app": m.App, "slipway:env": "{env}"}
	}
	if m.Rollout.Strategy == "" {
		m.Rollout.Strategy = StrategyInPlace
	}
	if len(m.Rollout.Shift) == 0 {
		m.Rollout.Shift = ShiftSpec{100}
	}
	if m.Rollout.ShiftBake.Duration == 0 {
		m.Rollout.ShiftBake.Duration = time.Minute
	}
	if m.Rollout.KeepWarm.Duration == 0 {
		m.Rollout.KeepWarm.Duration = time.Hour
	}
	if m.Bake.Duration.Duration == 0 {
		m.Bake.Duration.Duration = 5 * time.Minute
	}
	if m.Bake.Interval.Duration == 0 {
		m.Bake.Interval.Duration = 30 * time.Second
	}
	if m.Bake.Watch.Duration == 0 {
		m.Bake.Watch.Duration = time.Hour
	}
	if m.Migrations.Dir == "" {
		m.Migrations.Dir = "migrations"
	}
	if m.Migrations.LockTimeout.Duration == 0 {
		m.Migrations.LockTimeout.Duration = 5 * time.Second
	}
	if m.Migrations.StatementTimeout.Duration == 0 {
		m.Migrations.StatementTimeout.Duration = 15 * time.Minute
	}
	if m.Migrations.LockWait.Duration == 0 {
		m.Migrations.LockWait.Duration = time.Minute
	}
	if m.Migrations.KeepSnapshots == 0 {
		m.Migrations.KeepSnapshots = 5
	}
	if m.KeepReleases == 0 {
		m.KeepReleases = 5
	}
	m.setSmokeDefaults()
	if m.Rollout.Canary != nil {
		m.Rollout.Canary.setDefaults()
	}
	m.Hooks.setDefaults()
	if m.Host.DiskMargin == nil {
		d := DefaultDiskMargin
		m.Host.DiskMargin = &d
	}
}

func (m *Manifest) validate() []problem {
	var errs []problem
	add := func(field, format string, a ...any) {
		errs = append(errs, problem{path: field, msg: fmt.Sprintf(format, a...)})
	}
	if !nameRE.MatchString(m.App) {
		add("app", "%q must be 1-40 lowercase letters, digits or dashes, starting with a letter", m.App)
	}
	for _, p := range m.validateRequire() {
		add(p.path, "%s", p.msg)
	}
	if m.Service.Start == "" && m.Service.Unit == "" {
		add("service", "set start (the command Slipway runs) or unit (the systemd unit it restarts)")
	}
	if strings.HasPrefix(m.Service.Start, "/") || strings.Contains(m.Service.Start, "..") {
		add("service.start", "%q must be relative to the release directory", m.Service.Start)
	}
	if !strings.HasPrefix(m.Health.Path, "/") {
		add("health.path", "%q must start with /", m.Health.Path)
	}
	if m.Health.ExpectStatus < 100 || m.Health.ExpectStatus > 599 {
		add("health.expect_status", "%d is not an HTTP status", m.Health.ExpectStatus)
	}
	if m.Health.Successes < 1 {
		add("health.successes", "must be at least 1")
	}
	if m.Health.Interval.Duration < time.Second {
		add("health.interval", "must be at least 1s")
	}
	if m.Health.Timeout.Duration < m.Health.Interval.Duration*time.Duration(m.Health.Successes) {
		add("health.timeout", "%s is shorter than successes × interval (%d × %s)", m.Health.Timeout, m.Health.Successes, m.Health.Interval)
	}
	errs = append(errs, checkWaves("rollout.waves", m.Rollout.Waves)...)
	if m.Rollout.PollInterval.Duration < time.Second {
		add("rollout.poll_interval", "must be at least 1s")
	}
	switch m.Rollout.Strategy {
	case StrategyInPlace, StrategyBlueGreen:
	default:
		add("rollout.strategy", "%q is not a strategy: in-place (restart the serving instances in waves) or blue-green (deploy to the idle side, then shift the listener)", m.Rollout.Strategy)
	}
	if d := m.Rollout.ShiftBake.Duration; d < time.Second || d > MaxBake {
		add("rollout.shift_bake", "%s must be between 1s and %s", d, MaxBake)
	}
	if d := m.Rollout.KeepWarm.Duration; d < time.Minute {
		add("rollout.keep_warm", "%s is too short: keep the old side warm at least 1m, so an alarm can still switch back to it", d)
	}
	errs = append(errs, checkBake("bake", m.Bake)...)
	switch m.Migrations.Engine {
	case "", "postgres", "mysql", "sqlite":
	default:
		add("migrations.engine", "%q is not postgres, mysql or sqlite", m.Migrations.Engine)
	}
	for i, c := range m.Migrations.Policy.Block {
		if c != "expand" && c != "contract" && c != "destructive" {
			errs = append(errs, problem{path: fmt.Sprintf("migrations.policy.block[%d]", i), key: "migrations.policy.block",
				msg: fmt.Sprintf("%q is not a class: expand, contract or destructive", c)})
		}
	}
	if m.Migrations.KeepSnapshots < 1 {
		add("migrations.keep_snapshots", "must be at least 1: the snapshot taken before this deployment's migrations is the way back")
	}
	if m.KeepReleases < 2 {
		add("keep_releases", "must be at least 2, so the previous release stays for rollback")
	}
	for name, e := range m.Environments {
		field := "environments." + name
		if !nameRE.MatchString(name) {
			add(field, "%q is not a valid environment name", name)
		}
		errs = append(errs, checkWaves(field+".waves", e.Waves)...)
		if e.Bake != nil {
			errs = append(errs, checkBake(field+".bake", *e.Bake)...)
		}
	}
	errs = append(errs, m.Freeze.validate()...)
	errs = append(errs, m.validateConfig()...)
	errs = append(errs, m.validateSmoke()...)
	errs = append(errs, m.validateCanary()...)
	errs = append(errs, m.Host.validate()...)
	errs = append(errs, m.Hooks.validate()...)
	return errs
}

// checkBake checks a bake window; a zero field is one left to its default.
func checkBake(field string, b Bake) []problem {
	var errs []problem
	if d := b.Duration.Duration; d > MaxBake {
		errs = append(errs, problem{path: field + ".duration", msg: fmt.Sprintf(
			"%s is longer than %s, the longest bake allowed: a deployment must finish within the deploy state machine's 6 hours after its approval, and one stopped by that limit does not roll back; "+
				"bake for at most %s and watch longer with bake.watch, during which an alarm still rolls back", d, MaxBake, MaxBake)})
	}
	if i := b.Interval.Duration; i != 0 && i < time.Second {
		errs = append(errs, problem{path: field + ".interval", msg: "must be at least 1s"})
	}
	return errs
}

// checkWaves checks that cumulative waves grow: a percentage is never below
// an earlier one, a count never below an earlier count, and nothing follows
// a wave that already reached 100% but another 100%. Counts and
// percentages are not compared with each other: which is larger depends on
// the fleet.
func checkWaves(field string, waves []WaveSpec) []problem {
	var errs []problem
	var maxPct float64
	maxCount, pctAt, countAt, fullAt := 0, 0, 0, 0 // pctAt, countAt, fullAt: 1-based wave numbers
	for i, w := range waves {
		n := i + 1
		bad := func(format string, a ...any) {
			errs = append(errs, problem{path: fmt.Sprintf("%s[%d]", field, i), key: field,
				msg: fmt.Sprintf("wave %d is %q: ", n, w.String()) + fmt.Sprintf(format, a...) +
					"; waves are cumulative, so each reaches at least as far as the one before"})
		}
		switch {
		case fullAt > 0 && w.Percent != 100:
			bad("it comes after wave %d already reached 100%%", fullAt)
		case w.Percent > 0 && w.Percent < maxPct:
			bad("below wave %d %q", pctAt, waves[pctAt-1].String())
		case w.Percent == 0 && w.Count < maxCount:
			bad("below wave %d %q", countAt, waves[countAt-1].String())
		}
		if w.Percent > 0 && w.Percent > maxPct {
			maxPct, pctAt = w.Percent, n
		}
		if w.Percent == 0 && w.Count > maxCount {
			maxCount, countAt = w.Count, n
		}
		if w.Percent == 100 && fullAt == 0 {
			fullAt = n
		}
	}
	return errs
}

// ForEnvironment returns the waves, bake window and alarms that apply to env.
func (m *Manifest) ForEnvironment(env string) (waves []WaveSpec, bake Bake, alarms []string) {
	waves, bake, alarms = m.Rollout.Waves, m.Bake, m.Alarms
	if e, ok := m.Environments[env]; ok {
		if len(e.Waves) > 0 {
			waves = e.Waves
		}
		if e.Bake != nil {
			// A field the environment leaves out is the top level's.
			if e.Bake.Duration.Duration > 0 {
				bake.Duration = e.Bake.Duration
			}
			if e.Bake.Interval.Duration > 0 {
				bake.Interval = e.Bake.Interval
			}
			if e.Bake.Watch.Duration > 0 {
				bake.Watch = e.Bake.Watch
			}
		}
		if e.Alarms != nil {
			alarms = append(append([]string(nil), alarms...), e.Alarms...)
		}
	}
	return waves, bake, alarms
}

// TargetTags returns the instance tags for env, with {env} filled in.
func (m *Manifest) TargetTags(env string) map[string]string {
	out := make(map[string]string, len(m.Rollout.Tags))
	for k, v := range m.Rollout.Tags {
		out[k] = strings.ReplaceAll(v, "{env}", env)
	}
	return out
}

// WaveSizes turns cumulative wave specs into the number of new instances in
// each wave for a fleet of n. A percentage rounds up, so "1%" of 3 is 1; a
// spec that adds no instance is dropped, and a last wave short of the fleet is
// followed by one that reaches it. Every wave is at least one instance.
func WaveSizes(specs []WaveSpec, n int) []int {
	if n <= 0 {
		return nil
	}
	var sizes []int
	done := 0
	for _, s := range specs {
		target := s.Count
		if s.Percent > 0 {
			target = int(math.Ceil(s.Percent * float64(n) / 100))
		}
		if target > n {
			target = n
		}
		if target <= done {
			continue
		}
		sizes = append(sizes, target-done)
		done = target
	}
	if done < n {
		sizes = append(sizes, n-done)
	}
	return sizes
}

// Plan splits ids, in order, into waves.
func Plan(specs []WaveSpec, ids []string) [][]string {
	var waves [][]string
	i := 0
	for _, size := range WaveSizes(specs, len(ids)) {
		waves = append(waves, append([]string(nil), ids[i:i+size]...))
		i += size
	}
	return waves
}

// ReleaseEnv renders release.env, the KEY=VALUE file the host script reads
// from a release directory to start, restart and health check it.
func (m *Manifest) ReleaseEnv(version string) []byte {
	var b bytes.Buffer
	kv := func(k, v string) { fmt.Fprintf(&b, "%s=%s\n", k, shellQuote(v)) }
	b.WriteString("# Written by slipway from " + FileName + "; read by scripts/slipway-host.sh.\n")
	kv("SLIPWAY_APP", m.App)
	kv("SLIPWAY_VERSION", version)
	kv("SLIPWAY_START", m.Service.Start)
	kv("SLIPWAY_UNIT", m.Service.Unit)
	if m.Service.Restart != "" {
		kv("SLIPWAY_RESTART", m.Service.Restart)
	}
	kv("SLIPWAY_HEALTH_PATH", m.Health.Path)
	kv("SLIPWAY_HEALTH_EXPECT_STATUS", strconv.Itoa(m.Health.ExpectStatus))
	kv("SLIPWAY_HEALTH_TIMEOUT", strconv.Itoa(int(math.Ceil(m.Health.Timeout.Seconds()))))
	kv("SLIPWAY_KEEP", strconv.Itoa(m.KeepReleases))
	m.Hooks.hookEnv(kv)
	return b.Bytes()
}

var shellSafeRE = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

func shellQuote(s string) string {
	if s != "" && shellSafeRE.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
