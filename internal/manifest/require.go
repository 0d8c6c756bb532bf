package manifest

import (
	"fmt"
	"sort"
)

// What a manifest's require may say.
const (
	// RequireTested: the release's provenance records passing tests
	// (slipway release publish --tests-passed or --test-report).
	RequireTested = "tested"
	// RequireNone: no gate.
	RequireNone = "none"
)

// RequiresTested reports whether a release deploying to env must show a
// passing test record, and whether that came from the default (production
// environments require it unless the manifest says require: none).
func (m *Manifest) RequiresTested(env string, production bool) (required, byDefault bool) {
	r := m.Require
	if e, ok := m.Environments[env]; ok && e.Require != "" {
		r = e.Require
	}
	if r == "" {
		return production, production
	}
	return r == RequireTested, false
}

func (m *Manifest) validateRequire() []problem {
	var out []problem
	check := func(path, v string) {
		if v != "" && v != RequireTested && v != RequireNone {
			out = append(out, problem{path: path, msg: fmt.Sprintf("%q is not a requirement: say tested (the release's provenance records passing tests) or none", v)})
		}
	}
	check("require", m.Require)
	envs := make([]string, 0, len(m.Environments))
	for name := range m.Environments {
		envs = append(envs, name)
	}
	sort.Strings(envs)
	for _, name := range envs {
		check("environments."+name+".require", m.Environments[name].Require)
	}
	return out
}
