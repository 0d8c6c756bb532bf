package appconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/slipway-deploy/slipway/internal/manifest"
)

// KeyProblem is the Problem's Name when the fingerprint key cannot be read.
const KeyProblem = "(fingerprint key)"

// CheckResult is what Check found: where each variable comes from, the
// problems, and, when there are none, the fingerprint and key prints of
// the resolved set. It holds no value, so it may be printed and recorded.
type CheckResult struct {
	App         string    `json:"app"`
	Environment string    `json:"environment"`
	Variables   []Entry   `json:"variables"`
	Problems    []Problem `json:"problems"`
	// Fingerprint is Fingerprint of the resolved set under the app's key;
	// empty when there are problems.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Keys is KeyPrints of the resolved set.
	Keys map[string]string `json:"-"`
}

// OK reports whether every variable resolved and the set was fingerprinted.
func (c *CheckResult) OK() bool { return len(c.Problems) == 0 }

// Err is the problems as a *ResolveError; nil when there are none.
func (c *CheckResult) Err() error {
	if c.OK() {
		return nil
	}
	return &ResolveError{Env: c.Environment, Problems: c.Problems}
}

// Check resolves m's configuration for env through s, as the host would
// at activation, and fingerprints it with the app's key (KeySecretName).
// Every problem is reported, the key's too: `slipway config check` prints
// them, Preflight refuses on them before the lock. The values are dropped
// before it returns.
func Check(ctx context.Context, m *manifest.Manifest, env string, s Store) *CheckResult {
	c := &CheckResult{App: m.App, Environment: env, Variables: Entries(m, env), Problems: []Problem{}}
	vals, probs := ResolveEach(ctx, env, c.Variables, s)
	c.Problems = append(c.Problems, probs...)
	key, err := LoadKey(ctx, s, m.App)
	if err != nil {
		c.Problems = append(c.Problems, Problem{Name: KeyProblem, From: "secret:" + KeySecretName(m.App), Reason: err.Error(), Cause: err})
	}
	if len(c.Problems) == 0 {
		c.Fingerprint, c.Keys = Fingerprint(key, vals), KeyPrints(key, vals)
	}
	return c
}

// Side states of a diff row: the manifest's source states.
const (
	StateSet     = manifest.SourceSet
	StateMissing = manifest.SourceMissing
	StateDefault = manifest.SourceDefault
)

// DiffRow compares one variable between two environments: whether each
// sets it, and whether the values are the same (compared by their key
// prints under the app's key, never shown).
type DiffRow struct {
	Name   string
	Secret bool
	// Envs are the two environments, States what each gives.
	Envs   [2]string
	States [2]string
	// Same is true when both resolve to the same value, or neither sets it.
	Same bool
}

// MarshalJSON writes {"name", "secret", "<env a>": state, "<env b>": state,
// "same"}, the environments' names as keys.
func (r DiffRow) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	field := func(k string, v any, comma bool) {
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		if comma {
			b.WriteByte(',')
		}
	}
	field("name", r.Name, true)
	field("secret", r.Secret, true)
	field(r.Envs[0], r.States[0], true)
	field(r.Envs[1], r.States[1], true)
	field("same", r.Same, false)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// DiffResult is Diff's answer: one row per variable, and the problems of
// either side (a reference that does not resolve is never the same).
type DiffResult struct {
	Rows     []DiffRow
	Problems map[string][]Problem // by environment
}

// Diff compares m's configuration for environments a and b, resolving both
// through s and comparing the values' key prints under the app's key. A
// value is never returned or shown. The error is for a key that cannot be
// read (nothing can be compared without it).
func Diff(ctx context.Context, m *manifest.Manifest, a, b string, s Store) (*DiffResult, error) {
	if a == b {
		return nil, fmt.Errorf("config diff compares two different environments, got %s twice", a)
	}
	key, err := LoadKey(ctx, s, m.App)
	if err != nil {
		return nil, err
	}
	res := &DiffResult{Problems: map[string][]Problem{}}
	var prints [2]map[string]string
	var entries [2][]Entry
	for i, env := range []string{a, b} {
		entries[i] = Entries(m, env)
		vals, probs := ResolveEach(ctx, env, entries[i], s)
		prints[i] = KeyPrints(key, vals)
		if len(probs) > 0 {
			res.Problems[env] = probs
		}
	}
	for i, e := range entries[0] {
		f := entries[1][i]
		row := DiffRow{Name: e.Name, Secret: e.Secret, Envs: [2]string{a, b}, States: [2]string{e.State, f.State}}
		pa, okA := prints[0][e.Name]
		pb, okB := prints[1][e.Name]
		switch {
		case e.State == StateMissing && f.State == StateMissing:
			row.Same = true
		case okA && okB:
			row.Same = pa == pb
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}
