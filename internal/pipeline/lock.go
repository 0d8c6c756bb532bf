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
	l, err := h.Ledger.AcquireLease(ctx, in.App, in.Environment, in.Owner, in.DeploymentID, ttl, h.now())
	if err != nil {
		var held *ledger.HeldError
		if errors.As(err, &held) {
			h.step(ctx, in.DeploymentID, "lock", stepFailed, err.Error(), held.Lock)
			return contract.LockOutput{}, &contract.LockHeld{Message: err.Error(), Holder: held.Lock.Owner}
		}
		return contract.LockOutput{}, &contract.TransientError{Message: err.Error()}
	}
	h.step(ctx, in.DeploymentID, "lock", stepOK, fmt.Sprintf("lease on %s/%s taken until %s", in.App, in.Environment, l.ExpiresAt.Format(time.RFC3339)), nil)
	return contract.LockOutput{Held: true, Owner: l.Owner, ExpiresAt: l.ExpiresAt.Format(time.RFC3339)}, nil
}

func (h *Lock) release(ctx context.Context, in contract.LockInput) (contract.LockOutput, error) {
	if in.App == "" || in.Environment == "" {
		d, err := h.Ledger.GetDeployment(ctx, in.DeploymentID)
		if errors.Is(err, ledger.ErrNotFound) {
			// Preflight refused the request before opening a record: no lease was taken.
			return contract.LockOutput{Held: false, Owner: in.Owner}, nil
		}
		if err != nil {
			return contract.LockOutput{}, &contract.TransientError{Message: err.Error()}
		}
		in.App, in.Environment = d.App, d.Environment
	}
	released, err := h.Ledger.ReleaseLease(ctx, in.App, in.Environment, in.Owner)
	if err != nil {
		return contract.LockOutput{}, &contract.TransientError{Message: err.Error()}
	}
	if released {
		h.step(ctx, in.DeploymentID, "unlock", stepOK, "lease released", nil)
	}
	return contract.LockOutput{Held: false, Owner: in.Owner}, nil
}
