package pipeline

import (
	"context"
	"fmt"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/provenance"
)

// provenanceReader is a release store that keeps provenance records
// (artifact.Dir and artifact.S3 do).
type provenanceReader interface {
	Provenance(ctx context.Context, app, version string) (*provenance.Record, error)
}

// testedGate reads the release's provenance record, notes it (once, before
// the lease), and refuses the deployment when the manifest requires a
// tested build (require: tested; the default for production) and the
// record does not show one. A plan notes the refusal as its gate and goes
// on.
func (h *Preflight) testedGate(ctx context.Context, deploymentID string, m *manifest.Manifest, env string, production bool, out contract.PreflightOutput, underLease bool) error {
	var rec *provenance.Record
	if pr, ok := h.Artifacts.(provenanceReader); ok {
		r, err := pr.Provenance(ctx, out.App, out.Version)
		if err != nil {
			return Classify(err, func(msg string) error { return Refuse("read the provenance of release %s: %s", out.Version, msg) })
		}
		rec = r
	}
	if !underLease {
		h.Step(ctx, deploymentID, "preflight", StepInfo, "provenance of "+out.Version+": "+rec.Line(), rec)
	}
	required, byDefault := m.RequiresTested(env, production)
	if !required {
		return nil
	}
	ok, why := rec.Tested(out.Artifact.SHA256)
	if ok {
		return nil
	}
	rule := "the manifest says require: tested"
	if byDefault {
		rule = "a production environment takes only tested builds unless the manifest says require: none"
	}
	err := &contract.Untested{Message: fmt.Sprintf("release %s may not deploy to %s (%s): %s", out.Version, env, rule, why)}
	if p := Planning(ctx); p != nil {
		if p.Gate == nil {
			p.Gate = err
		}
		return nil
	}
	return err
}
