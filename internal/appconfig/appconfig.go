package appconfig

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Entry is one declared variable and where its value for an environment
// comes from.
type Entry struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Secret      bool         `json:"secret"`
	Required    bool         `json:"required"`
	State       string       `json:"state"` // manifest.SourceSet, SourceDefault or SourceMissing
	Ref         manifest.Ref `json:"-"`
	// From is the reference as written ("ssm:/x", "secret:y#k"), or
	// "literal" for a literal value: never the literal itself, so that an
	// Entry can be printed and recorded.
	From string `json:"from,omitempty"`
}

// Entries lists the manifest's variables for env, sorted by name.
func Entries(m *manifest.Manifest, env string) []Entry {
	out := make([]Entry, 0, len(m.Config))
	for _, name := range m.ConfigNames() {
		v := m.Config[name]
		src := v.SourceFor(env)
		e := Entry{Name: name, Description: v.Description, Secret: v.Secret, Required: v.IsRequired(), State: src.State, Ref: src.Ref}
		switch src.Ref.Kind {
		case manifest.RefLiteral:
			e.From = "literal"
		case manifest.RefSSM, manifest.RefSecret:
			e.From = src.Ref.String()
		}
		out = append(out, e)
	}
	return out
}

// Store reads the referenced values: SSM parameters (decrypted) and
// secrets' string values.
type Store interface {
	Parameter(ctx context.Context, name string) (secret.Value, error)
	Secret(ctx context.Context, name string) (secret.Value, error)
}

// ErrNotFound is what a Store's error wraps when the parameter or secret
// does not exist.
var ErrNotFound = errors.New("not found")

// Problem is one variable that could not be resolved.
type Problem struct {
	Name string `json:"name"`
	// From is where the value should come from.
	From string `json:"from"`
	// Reason says what was wrong, never with the value.
	Reason string `json:"reason"`
	// Cause is the Store's error, if any (to tell a throttled call from a
	// missing reference); its text is Reason.
	Cause error `json:"-"`
}

func (p Problem) String() string {
	if p.From == "" {
		return fmt.Sprintf("%s: %s", p.Name, p.Reason)
	}
	return fmt.Sprintf("%s (from %s): %s", p.Name, p.From, p.Reason)
}

// ResolveError lists every variable that could not be resolved.
type ResolveError struct {
	Env      string
	Problems []Problem
}

func (e *ResolveError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	noun := "variables do"
	if len(e.Problems) == 1 {
		noun = "variable does"
	}
	return fmt.Sprintf("configuration for %s: %d %s not resolve:\n  %s", e.Env, len(e.Problems), noun, strings.Join(lines, "\n  "))
}

// Unwrap returns the Stores' errors, so that errors.As finds an API error
// (a throttled call is transient, not a refusal).
func (e *ResolveError) Unwrap() []error {
	var errs []error
	for _, p := range e.Problems {
		if p.Cause != nil {
			errs = append(errs, p.Cause)
		}
	}
	return errs
}

// Values are resolved variables by name.
type Values map[string]secret.Value

// Resolve reads the value of every entry that has one. A required entry
// without a value, a reference that does not resolve and a value the
// environment file cannot hold are problems, all reported together in one
// *ResolveError. An optional variable without a value is left out.
func Resolve(ctx context.Context, env string, entries []Entry, s Store) (Values, error) {
	vals, probs := ResolveEach(ctx, env, entries, s)
	if len(probs) > 0 {
		return nil, &ResolveError{Env: env, Problems: probs}
	}
	return vals, nil
}

// ResolveEach resolves every entry it can and lists the problems of the
// others, as Resolve does, but returns the values it could read too (to
// compare them: config diff).
func ResolveEach(ctx context.Context, env string, entries []Entry, s Store) (Values, []Problem) {
	vals := Values{}
	var probs []Problem
	for _, e := range entries {
		if e.State == manifest.SourceMissing {
			if e.Required {
				probs = append(probs, Problem{Name: e.Name, Reason: fmt.Sprintf("required, and no value for %s: add config.%s.values.%s to slipway.yaml (ssm:/path, secret:NAME[#key] or a literal)", env, e.Name, env)})
			}
			continue
		}
		v, err := resolveRef(ctx, s, e.Ref)
		if err != nil {
			probs = append(probs, Problem{Name: e.Name, From: e.From, Reason: err.Error(), Cause: err})
			continue
		}
		if strings.ContainsAny(v.Reveal(), "\n\r\x00") {
			probs = append(probs, Problem{Name: e.Name, From: e.From, Reason: "the value holds a line break or NUL, which the environment file cannot carry: store it base64 encoded and decode it in the app"})
			continue
		}
		vals[e.Name] = v
	}
	return vals, probs
}

func resolveRef(ctx context.Context, s Store, r manifest.Ref) (secret.Value, error) {
	switch r.Kind {
	case manifest.RefLiteral:
		return secret.NewValue(r.Name), nil
	case manifest.RefSSM:
		return s.Parameter(ctx, r.Name)
	case manifest.RefSecret:
		v, err := s.Secret(ctx, r.Name)
		if err != nil || r.Key == "" {
			return v, err
		}
		return jsonKey(v, r.Key)
	}
	return secret.Value{}, fmt.Errorf("unknown reference kind %q", r.Kind)
}

// jsonKey picks key out of a secret holding a JSON object. Its errors
// never quote the secret.
func jsonKey(v secret.Value, key string) (secret.Value, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v.Reveal()), &obj); err != nil {
		return secret.Value{}, fmt.Errorf("the secret is not a JSON object, so it has no key %q: drop #%s to use the whole string", key, key)
	}
	raw, ok := obj[key]
	if !ok {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, strconv.Quote(k))
		}
		sort.Strings(keys)
		return secret.Value{}, fmt.Errorf("the secret's JSON has no key %q (its keys: %s)", key, strings.Join(keys, ", "))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return secret.NewValue(s), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return secret.NewValue(n.String()), nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return secret.NewValue(strconv.FormatBool(b)), nil
	}
	return secret.Value{}, fmt.Errorf("the secret's key %q holds an object, an array or null; Slipway needs a string, a number or a boolean", key)
}

// FingerprintPrefix starts every fingerprint, naming its algorithm.
const FingerprintPrefix = "hmac-sha256:"

// Fingerprint is a keyed hash of the whole resolved set: equal sets under
// the same key have equal fingerprints, and without the key a fingerprint
// tells nothing about the values. The empty set has a fingerprint too.
func Fingerprint(key []byte, vals Values) string {
	mac := hmac.New(sha256.New, key)
	for _, name := range vals.Names() {
		v := vals[name].Reveal()
		// Length-prefixed, so that no two different sets write the same bytes.
		fmt.Fprintf(mac, "%d:%s%d:%s", len(name), name, len(v), v)
	}
	return FingerprintPrefix + hex.EncodeToString(mac.Sum(nil))[:32]
}

// KeyPrints is a keyed hash per variable, to tell which keys changed
// between two deployments and whether two environments hold the same value,
// without showing it.
func KeyPrints(key []byte, vals Values) map[string]string {
	out := make(map[string]string, len(vals))
	for name, v := range vals {
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%d:%s", len(name), name)
		mac.Write([]byte{0})
		mac.Write([]byte(v.Reveal()))
		out[name] = hex.EncodeToString(mac.Sum(nil))[:16]
	}
	return out
}

// Changed lists the keys whose print differs between two deployments'
// KeyPrints: added, removed or changed, sorted.
func Changed(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if b, ok := before[k]; !ok || b != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Names returns the variables' names, sorted.
func (v Values) Names() []string {
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// EnvFile renders the release's environment file: one KEY='value' line per
// variable, sorted, single-quoted. The host script reads it as KEY=VALUE
// lines (one pair of surrounding quotes removed, never executed), and
// systemd's EnvironmentFile= reads it the same way. Resolve has refused
// values with line breaks.
func EnvFile(vals Values) []byte {
	var b strings.Builder
	b.WriteString("# Written by Slipway at activation: this release's configuration. Mode 0600; do not edit.\n")
	for _, name := range vals.Names() {
		v := vals[name].Reveal()
		if strings.Contains(v, "'") {
			// The host script strips one pair of quotes and unescapes
			// nothing: a value with a single quote goes in double quotes.
			fmt.Fprintf(&b, "%s=\"%s\"\n", name, v)
			continue
		}
		fmt.Fprintf(&b, "%s='%s'\n", name, v)
	}
	return []byte(b.String())
}

// KeySecretName is the secret that holds an app's fingerprint key: created
// by the stack in Secrets Manager, and by `slipway local init` in the local
// secrets file. The key never leaves the places that fingerprint (Preflight,
// the host, the CLI).
func KeySecretName(app string) string { return "slipway/" + app + "/config-key" }

// LoadKey reads the app's fingerprint key from s.
func LoadKey(ctx context.Context, s Store, app string) ([]byte, error) {
	v, err := s.Secret(ctx, KeySecretName(app))
	if err != nil {
		return nil, fmt.Errorf("read the configuration fingerprint key %s: %w", KeySecretName(app), err)
	}
	if len(v.Reveal()) < 16 {
		return nil, fmt.Errorf("the configuration fingerprint key %s is shorter than 16 characters: put a long random string in it", KeySecretName(app))
	}
	return []byte(v.Reveal()), nil
}
