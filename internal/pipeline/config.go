package pipeline

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

// configPrint resolves the release's configuration for env through
// Deps.ConfigStore and returns what may travel and be recorded: the keyed
// fingerprint, a print per key, and, against servingFrom (the deployment
// that serves now), the fingerprint that serves and the keys that differ.
// Nil when the manifest declares no configuration. A configuration that
// does not resolve is refused here, before the lock, naming every variable
// and where it should come from (never a value).
func (d *Deps) configPrint(ctx context.Context, m *manifest.Manifest, env string, servingFrom *ledger.Deployment) (*contract.ConfigPrint, error) {
	if len(m.Config) == 0 {
		return nil, nil
	}
	if d.ConfigStore == nil {
		return nil, errors.New("preflight: the release declares a configuration and no configuration store is configured (Deps.ConfigStore)")
	}
	vals, err := appconfig.Resolve(ctx, env, appconfig.Entries(m, env), d.ConfigStore)
	var re *appconfig.ResolveError
	if errors.As(err, &re) {
		return nil, Refuse("%v", err)
	}
	if err != nil {
		return nil, Classify(err, func(msg string) error { return Refuse("resolve the configuration of %s: %s", env, msg) })
	}
	key, err := appconfig.LoadKey(ctx, d.ConfigStore, m.App)
	if err != nil {
		return nil, Classify(err, func(msg string) error { return Refuse("%s", msg) })
	}
	cp := &contract.ConfigPrint{Fingerprint: appconfig.Fingerprint(key, vals), Keys: appconfig.KeyPrints(key, vals)}
	if prev := d.servingConfig(ctx, servingFrom); prev != nil {
		cp.Previous = prev.Fingerprint
		cp.Changed = appconfig.Changed(prev.Keys, cp.Keys)
	}
	return cp, nil
}

// servingConfig is the configuration the deployment that serves now left
// serving, from its preflight step in the ledger: its own when it
// succeeded, the one it rolled back to otherwise. Nil when none is
// recorded.
func (d *Deps) servingConfig(ctx context.Context, from *ledger.Deployment) *contract.ConfigPrint {
	if from == nil {
		return nil
	}
	sr, ok := d.Ledger.(stepReader)
	if !ok {
		return nil
	}
	steps, err := sr.Steps(ctx, from.ID)
	if err != nil {
		return nil
	}
	for _, st := range steps {
		if st.Stage != "preflight" || st.Status != StepOK || len(st.Detail) == 0 {
			continue
		}
		var detail struct {
			Config   *contract.ConfigPrint `json:"config"`
			Artifact contract.Artifact     `json:"artifact"`
		}
		if json.Unmarshal(st.Detail, &detail) != nil {
			continue
		}
		c := detail.Config
		switch {
		case from.Kind == contract.KindRollback:
			// A rollback execution's artifact is its target's, with the
			// configuration it restored; no key prints are recorded for it.
			if detail.Artifact.Config != "" {
				return &contract.ConfigPrint{Fingerprint: detail.Artifact.Config}
			}
			return nil
		case c == nil:
			return nil
		case from.Status == contract.StatusSucceeded:
			return c
		case c.Previous != "":
			return &contract.ConfigPrint{Fingerprint: c.Previous}
		}
		return nil
	}
	return nil
}
