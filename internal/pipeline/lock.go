package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Lock takes and releases an environment's lease. The lease is owned by the
// execution, so only that execution releases it; a manual freeze is never
// overridden.
type Lock struct{ *Deps }

// Handle runs AcquireLock ("acquire") and ReleaseLock ("release").
func (h *Lock) Handle(ctx context.Context, in contract.LockInput) (contract.LockOutput, error) {
	switch in.Action {
	case "acquire":
		return h.acquire(ctx, in)
	case "release":
		return h.release(ctx, in)
	}
	return contract.LockOutput{}, fmt.Errorf("lock: unknown action %q (acquire or release)", in.Action)
}

func (h *Lock) acquire(ctx context.Context, in contract.LockInput) (contract.LockOutput, error) {
	ttl := time.Duration(in.TTLSeconds) * time.Second
	if ttl <= 0 {
		ttl = 2 * time.Hour
	}
	deadline := h.Time().Add(h.LockWait)
	for {
		if err := h.checkLatest(ctx, in); err != nil {
			return contract.LockOutput{}, err
		}
		l, err := h.Ledger.AcquireLease(ctx, in.App, in.Environment, in.Owner, in.DeploymentID, ttl, h.Time())
		var held *ledger.HeldError
		switch {
		case err == nil:
			h.Step(ctx, in.DeploymentID, "lock", StepOK, fmt.Sprintf("lease on %s/%s taken until %s", in.App, in.Environment, l.ExpiresAt.Format(time.RFC3339)), nil)
			return contract.LockOutput{Held: true, Owner: l.Owner, ExpiresAt: l.ExpiresAt.Format(time.RFC3339)}, nil
		case !errors.As(err, &held):
			return contract.LockOutput{}, &contract.TransientError{Message: err.Error()}
		case held.Lock.Kind == ledger.LockManual:
			h.Step(ctx, in.DeploymentID, "lock", StepFailed, err.Error(), held.Lock)
			return contract.LockOutput{}, &contract.LockHeld{Message: err.Error(), Holder: held.Lock.Owner}
		case h.Time().Before(deadline):
			select {
			case <-ctx.Done():
				return contract.LockOutput{}, &contract.TransientError{Message: ctx.Err().Error()}
			case <-time.After(200 * time.Millisecond):
			}
		default:
			h.Step(ctx, in.DeploymentID, "lock", StepInfo, "waiting for the lock: "+err.Error(), held.Lock)
			return contract.LockOutput{}, &contract.DeploymentInProgress{Message: err.Error(), Holder: held.Lock.DeploymentID}
		}
	}
}

// checkLatest makes a push-triggered deployment step aside when a newer
// push for the environment is queued: the latest push wins.
func (h *Lock) checkLatest(ctx context.Context, in contract.LockInput) error {
	if in.Trigger.Source != "push" {
		return nil
	}
	p, ok, err := h.Ledger.GetPending(ctx, in.App, in.Environment)
	if err != nil {
		return &contract.TransientError{Message: err.Error()}
	}
	if !ok || p.Version == in.Version {
		return nil
	}
	msg := fmt.Sprintf("superseded: a newer push (%s) for %s arrived before this deployment of %s took the lock; the latest push is deployed, this one changed nothing", p.Version, in.Environment, in.Version)
	h.Step(ctx, in.DeploymentID, "lock", StepSkipped, msg, p)
	return &contract.Superseded{Message: msg, By: p.Version}
}

func (h *Lock) release(ctx context.Context, in contract.LockInput) (contract.LockOutput, error) {
	d, err := h.Ledger.GetDeployment(ctx, in.DeploymentID)
	if errors.Is(err, ledger.ErrNotFound) {
		// Preflight refused the request before opening a record: no lease was taken.
		return contract.LockOutput{Held: false, Owner: in.Owner}, nil
	}
	if err != nil {
		return contract.LockOutput{}, &contract.TransientError{Message: err.Error()}
	}
	// A push this deployment carried is no longer queued, whatever the
	// outcome; a newer one stays queued for its own execution.
	if d.Trigger.Source == "push" {
		if _, err := h.Ledger.ClearPending(ctx, d.App, d.Environment, d.Version); err != nil {
			return contract.LockOutput{}, &contract.TransientError{Message: err.Error()}
		}
	}
	released, err := h.Ledger.ReleaseLease(ctx, d.App, d.Environment, in.Owner)
	if err != nil {
		return contract.LockOutput{}, &contract.TransientError{Message: err.Error()}
	}
	if released {
		h.Step(ctx, in.DeploymentID, "unlock", StepOK, "lease released", nil)
	}
	return contract.LockOutput{Held: false, Owner: in.Owner}, nil
}
