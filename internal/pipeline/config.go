package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/report"
)

// configPrint runs the configuration check of a release's manifest for
// env (what `slipway config check` runs): every required variable must
// resolve, or the deployment is refused before the lock, naming each
// variable and where it should come from. It returns the configuration's
// print, with the keys changed since what serves now (ds, newest first,
// without this deployment). A release whose manifest declares no
// configuration has none.
func (h *Preflight) configPrint(ctx context.Context, m *manifest.Manifest, env string, ds []ledger.Deployment) (*contract.ConfigPrint, error) {
	if len(m.Config) == 0 {
		return nil, nil
	}
	if h.ConfigStore == nil {
		return nil, fmt.Errorf("preflight: the release declares configuration but no configuration store is configured (Deps.ConfigStore)")
	}
	c := appconfig.Check(ctx, m, env, h.ConfigStore)
	if err := c.Err(); err != nil {
		if transient(err) {
			return nil, &contract.TransientError{Message: err.Error()}
		}
		return nil, Refuse("%v\nset them (slipway config check --env %s lists every variable and where it comes from), then deploy again", err, env)
	}
	p := &contract.ConfigPrint{Fingerprint: c.Fingerprint, Keys: c.Keys}
	serving, servingPrint := ServingConfig(ds)
	if serving {
		var before map[string]string
		if servingPrint != nil {
			before, p.Previous = servingPrint.Keys, servingPrint.Fingerprint
		}
		p.Changed = appconfig.Changed(before, c.Keys)
	}
	return p, nil
}

// ServingConfig returns the configuration print of what an environment
// serves according to its records (newest first): ok is false when
// nothing serves; the print is nil when what serves was deployed without
// one (its manifest declared no configuration, or an older Slipway
// deployed it).
//
//   - a deployment that SUCCEEDED serves its own configuration;
//   - a rollback execution that rolled back serves the one it restored;
//   - one that ended without succeeding left what it replaced: the
//     records before it say what that is.
func ServingConfig(ds []ledger.Deployment) (ok bool, print *contract.ConfigPrint) {
	for {
		_, from := ledger.Serving(ds)
		if from == nil {
			return false, nil
		}
		if from.Status == contract.StatusSucceeded || from.Kind == contract.KindRollback {
			return true, from.Config
		}
		i := slices.IndexFunc(ds, func(d ledger.Deployment) bool { return d.ID == from.ID })
		ds = ds[i+1:]
	}
}

// restoredConfig is, for a rollback execution to version, the
// configuration that version last served with: the newest record that
// deployed it and succeeded. Nil when none has a print.
func restoredConfig(ds []ledger.Deployment, version string, servingPrint *contract.ConfigPrint) *contract.ConfigPrint {
	for _, d := range ds {
		if d.Kind == contract.KindDeploy && d.Version == version && d.Status == contract.StatusSucceeded && d.Config != nil {
			p := &contract.ConfigPrint{Fingerprint: d.Config.Fingerprint, Keys: d.Config.Keys}
			if servingPrint != nil {
				p.Previous = servingPrint.Fingerprint
				p.Changed = appconfig.Changed(servingPrint.Keys, p.Keys)
			}
			return p
		}
	}
	return nil
}

// configNote says, for Preflight's step, what the configuration is and
// which keys changed: never a value.
func configNote(p *contract.ConfigPrint) string {
	if p == nil {
		return ""
	}
	switch {
	case len(p.Changed) > 0:
		return fmt.Sprintf("; configuration %s, %s changed: %s", p.Fingerprint, Count(len(p.Changed), "key"), strings.Join(p.Changed, ", "))
	case p.Previous == p.Fingerprint && p.Previous != "":
		return fmt.Sprintf("; configuration %s, unchanged", p.Fingerprint)
	}
	return fmt.Sprintf("; configuration %s", p.Fingerprint)
}

// planConfig is a plan's configuration: the keys added, removed and
// changed against the print the serving deployment recorded, and the
// manifest's declarations against the serving release's.
func planConfig(ctx context.Context, d *Deps, app, env string, p *contract.ConfigPrint, previous string, next *bundle.Bundle) *report.ConfigChange {
	c := &report.ConfigChange{Fingerprint: p.Fingerprint, Previous: p.Previous, Keys: slices.Sorted(maps.Keys(p.Keys))}
	ds, err := d.Ledger.ListDeployments(ctx, app, env, 200)
	if err != nil {
		c.Note = "the deployed configuration could not be read: " + err.Error()
		return c
	}
	ds = slices.DeleteFunc(ds, func(d ledger.Deployment) bool { return d.ID == "plan" })
	serving, sp := ServingConfig(ds)
	if serving {
		var before map[string]string
		if sp != nil {
			before = sp.Keys
		} else {
			c.Note = "the deployment that serves recorded no configuration: every key counts as added"
		}
		for _, k := range p.Changed {
			_, was := before[k]
			_, is := p.Keys[k]
			switch {
			case !was:
				c.Added = append(c.Added, k)
			case !is:
				c.Removed = append(c.Removed, k)
			default:
				c.Changed = append(c.Changed, k)
			}
		}
	}
	if previous == "" || next == nil {
		return c
	}
	meta, err := d.Artifacts.Stat(ctx, app, previous)
	var prev *bundle.Bundle
	if err == nil {
		prev, err = d.OpenBundle(ctx, meta)
	}
	if err != nil {
		c.Note = strings.TrimSpace(c.Note + " the serving release's manifest could not be read: " + err.Error())
		return c
	}
	c.Declarations = DeclarationChanges(prev.Manifest, next.Manifest)
	return c
}

// DeclarationChanges compares two manifests' config: sections: the
// variables added or removed, and for the others the environments whose
// value (a reference or a literal) changed, "default" when the default
// did, "declaration" when secret or required did.
func DeclarationChanges(before, after *manifest.Manifest) []report.ConfigDeclaration {
	names := map[string]bool{}
	for n := range before.Config {
		names[n] = true
	}
	for n := range after.Config {
		names[n] = true
	}
	var out []report.ConfigDeclaration
	for _, n := range slices.Sorted(maps.Keys(names)) {
		b, inB := before.Config[n]
		a, inA := after.Config[n]
		switch {
		case !inB:
			out = append(out, report.ConfigDeclaration{Name: n, Change: "added"})
			continue
		case !inA:
			out = append(out, report.ConfigDeclaration{Name: n, Change: "removed"})
			continue
		}
		var envs []string
		for _, env := range slices.Sorted(maps.Keys(union(b.Values, a.Values))) {
			vb, okB := b.Values[env]
			va, okA := a.Values[env]
			if okA != okB || va != vb {
				envs = append(envs, env)
			}
		}
		if (a.Default == nil) != (b.Default == nil) || (a.Default != nil && *a.Default != *b.Default) {
			envs = append(envs, "default")
		}
		if a.Secret != b.Secret || a.IsRequired() != b.IsRequired() {
			envs = append(envs, "declaration")
		}
		if len(envs) > 0 {
			out = append(out, report.ConfigDeclaration{Name: n, Change: "changed", Environments: envs})
		}
	}
	return out
}

func union(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
