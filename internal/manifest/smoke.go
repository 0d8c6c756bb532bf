package manifest

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// SmokeCheck is one HTTP request that proves a critical path works, not
// just that the process is up: it runs against each wave's instances once
// they pass the health check and, where the environment has a load
// balancer endpoint, through it after the last wave. A failed smoke check
// fails the wave and rolls back.
type SmokeCheck struct {
	// Name says what it checks; it names the check in the ledger and the
	// report, and is unique.
	Name string `yaml:"name"`
	// Method is the HTTP method (default GET).
	Method string `yaml:"method"`
	// Path is the request's path and query, starting with /.
	Path    string            `yaml:"path"`
	Headers map[string]string `yaml:"headers"`
	// Body is sent with POST, PUT, PATCH and DELETE.
	Body string `yaml:"body"`
	// ExpectStatus is the status the answer must have (default 200).
	ExpectStatus int `yaml:"expect_status"`
	// BodyContains is a substring the answer's body must hold.
	BodyContains string `yaml:"body_contains"`
	// JSON maps a dotted path into the answer's JSON body ("items.0.id")
	// to the value found there, compared for equality.
	JSON map[string]any `yaml:"json"`
	// MaxLatency is the latency ceiling: an answer slower than it fails
	// the check (default DefaultSmokeLatency, at most MaxSmokeLatency).
	MaxLatency Duration `yaml:"max_latency"`
}

// Smoke check limits.
const (
	DefaultSmokeLatency = 5 * time.Second
	MaxSmokeLatency     = 30 * time.Second
)

// JSONPathRE is the syntax of a smoke check's JSON path: keys and array
// indices joined by dots.
var JSONPathRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

var smokeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

func (m *Manifest) setSmokeDefaults() {
	for i := range m.Smoke {
		c := &m.Smoke[i]
		c.Method = strings.ToUpper(strings.TrimSpace(c.Method))
		if c.Method == "" {
			c.Method = http.MethodGet
		}
		if c.ExpectStatus == 0 {
			c.ExpectStatus = 200
		}
		if c.MaxLatency.Duration == 0 {
			c.MaxLatency.Duration = DefaultSmokeLatency
		}
	}
}

func (m *Manifest) validateSmoke() []problem {
	var errs []problem
	seen := map[string]int{}
	for i, c := range m.Smoke {
		field := fmt.Sprintf("smoke[%d]", i)
		add := func(key, format string, a ...any) {
			errs = append(errs, problem{path: field + "." + key, msg: fmt.Sprintf(format, a...)})
		}
		switch {
		case strings.TrimSpace(c.Name) == "":
			add("name", "every smoke check needs a name, such as \"list orders\": the ledger and the report name it")
		case seen[c.Name] > 0:
			add("name", "%q is also the name of smoke check %d: give each a name of its own", c.Name, seen[c.Name])
		default:
			seen[c.Name] = i + 1
		}
		if !strings.HasPrefix(c.Path, "/") {
			add("path", "%q must start with /, such as \"/api/orders?limit=1\"", c.Path)
		}
		if !slices.Contains(smokeMethods, c.Method) {
			add("method", "%q is not one of %s", c.Method, strings.Join(smokeMethods, ", "))
		}
		if c.Body != "" && (c.Method == http.MethodGet || c.Method == http.MethodHead || c.Method == http.MethodOptions) {
			add("body", "a %s request carries no body: set method to POST, PUT, PATCH or DELETE, or drop body", c.Method)
		}
		if c.ExpectStatus < 100 || c.ExpectStatus > 599 {
			add("expect_status", "%d is not an HTTP status", c.ExpectStatus)
		}
		if d := c.MaxLatency.Duration; d > MaxSmokeLatency {
			add("max_latency", "%s is longer than %s: a smoke check answers quickly or fails", d, MaxSmokeLatency)
		}
		for name := range c.Headers {
			if strings.EqualFold(name, "Host") || strings.EqualFold(name, "Content-Length") {
				add("headers", "%s is set by Slipway, not by the manifest", name)
			}
		}
		for _, p := range slices.Sorted(maps.Keys(c.JSON)) {
			if !JSONPathRE.MatchString(p) {
				errs = append(errs, problem{path: field + ".json." + p, key: field + ".json",
					msg: fmt.Sprintf("%q is not a dotted path such as \"status\" or \"items.0.id\" (keys and array indices joined by dots)", p)})
			}
		}
	}
	return errs
}
