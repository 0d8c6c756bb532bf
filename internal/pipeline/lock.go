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
// overridden. While another deployment holds the lease, AcquireLock answers
// that it waits, for whom, and since when, and the state machine asks again
// after a Wait state, until the manifest's rollout.lease_wait has passed.
// A lease whose owner is gone (its process was killed; on AWS its execution
// is no longer running) is taken over, and its record closed from what the
// fleet is observed to be.
type Lock struct{ *Deps }

// Handle runs AcquireLock ("acquire") and ReleaseLock ("release").
func (h *Lock) Handle(ctx context.Context, in contract.LockInput) (contract.LockOutput, error) {
	switch in.Action {
	case contract.LockAcquire:
		return h.acquire(ctx, in)
	case contract.LockRelease:
		return h.release(ctx, in)
	}
	return contract.LockOutput{}, fmt.Errorf("lock: unknown action %q (acquire or release)", in.Action)
}

// noteEvery is how often a waiting deployment writes a ledger step.
const noteEvery = 5 * time.Second

func (h *Lock) acquire(ctx context.Context, in contract.LockInput) (contract.LockOutput, error) {
	ttl := time.Duration(in.TTLSeconds) * time.Second
	if ttl <= 0 {
		ttl = contract.LeaseSeconds * time.Second
	}
	limit := time.Duration(in.WaitSeconds) * time.Second
	if limit <= 0 {
		limit = DefaultLeaseWait
	}
	since, notedAt := h.Time(), time.Time{}
	if p := in.Previous; p != nil && p.Waiting != nil {
		if t, err := time.Parse(time.RFC3339Nano, p.Waiting.Since); err == nil {
			since = t
		}
		notedAt, _ = time.Parse(time.RFC3339Nano, p.Waiting.NotedAt)
	}
	// The embedded environment's clock skips Wait states, so the handler
	// itself waits a little, in real time, before it answers "waiting".
	pace := h.Time().Add(h.LockWait)
	for {
		if err := h.checkLatest(ctx, in); err != nil {
			return contract.LockOutput{}, err
		}
		l, err := h.Ledger.AcquireLease(ctx, in.App, in.Environment, in.Owner, in.DeploymentID, ttl, h.Time())
		var held *ledger.HeldError
		switch {
		case err == nil:
			msg := fmt.Sprintf("lease on %s/%s taken until %s", in.App, in.Environment, l.ExpiresAt.Format(time.RFC3339))
			if in.Previous != nil && in.Previous.Waiting != nil {
				msg += fmt.Sprintf(", after waiting %s for %s", round(h.Time().Sub(since)), in.Previous.Waiting.Holder)
			}
			h.Step(ctx, in.DeploymentID, contract.StageLock, StepOK, msg, nil)
			return contract.LockOutput{Held: true, Owner: l.Owner, ExpiresAt: l.ExpiresAt.Format(time.RFC3339)}, nil
		case !errors.As(err, &held):
			return contract.LockOutput{}, &contract.TransientError{Message: err.Error()}
		case held.Lock.Kind == ledger.LockManual:
			h.Step(ctx, in.DeploymentID, contract.StageLock, StepFailed, err.Error(), held.Lock)
			return contract.LockOutput{}, &contract.LockHeld{Message: err.Error(), Holder: held.Lock.Owner}
		}
		took, err := h.takeOver(ctx, in, held.Lock)
		if err != nil {
			return contract.LockOutput{}, &contract.TransientError{Message: err.Error()}
		}
		if took {
			continue
		}
		w := h.describeHolder(ctx, held.Lock)
		w.Since = since.UTC().Format(time.RFC3339Nano)
		waited := h.Time().Sub(since)
		if waited >= limit {
			msg := fmt.Sprintf("%s/%s was being deployed by %s for all the %s this deployment may wait (rollout.lease_wait); nothing was changed: deploy again once it ends (`slipway status --env %s`), or, if it is stuck, `slipway unlock --env %s --force`",
				in.App, in.Environment, holderText(w), round(limit), in.Environment, in.Environment)
			h.Step(ctx, in.DeploymentID, contract.StageLock, StepFailed, msg, held.Lock)
			return contract.LockOutput{}, &contract.DeploymentInProgress{Message: msg, Holder: held.Lock.DeploymentID}
		}
		if h.Time().Before(pace) {
			select {
			case <-ctx.Done():
				return contract.LockOutput{}, &contract.TransientError{Message: ctx.Err().Error()}
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		if notedAt.IsZero() || h.Time().Sub(notedAt) >= noteEvery {
			notedAt = h.Time()
			h.Step(ctx, in.DeploymentID, contract.StageLock, StepInfo, fmt.Sprintf("waiting for %s for %s (gives up after %s)", holderText(w), round(waited), round(limit)), held.Lock)
		}
		w.NotedAt = notedAt.UTC().Format(time.RFC3339Nano)
		return contract.LockOutput{Held: false, Waiting: &w}, nil
	}
}

// describeHolder says which deployment holds the lease, who started it and
// which stage it was at last.
func (h *Lock) describeHolder(ctx context.Context, l ledger.Lock) contract.LeaseWait {
	w := contract.LeaseWait{Holder: l.DeploymentID}
	if d, err := h.Ledger.GetDeployment(ctx, l.DeploymentID); err == nil {
		w.HolderActor = d.Trigger.Actor
		if w.HolderActor == "" {
			w.HolderActor = d.Trigger.Source
		}
	}
	if steps, err := h.Ledger.Steps(ctx, l.DeploymentID); err == nil && len(steps) > 0 {
		w.HolderStage = steps[len(steps)-1].Stage
	}
	return w
}

func holderText(w contract.LeaseWait) string {
	s := "deployment " + w.Holder
	switch {
	case w.HolderActor != "" && w.HolderStage != "":
		s += fmt.Sprintf(" (started by %s, at %s)", w.HolderActor, w.HolderStage)
	case w.HolderActor != "":
		s += fmt.Sprintf(" (started by %s)", w.HolderActor)
	case w.HolderStage != "":
		s += fmt.Sprintf(" (at %s)", w.HolderStage)
	}
	return s
}

func round(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}

// takeOver frees a lease whose holder is gone: a lease naming a record that
// is already final (its release failed), or whose owner is no longer alive.
// The holder's record is closed from observation first. It reports whether
// the lease was freed.
func (h *Lock) takeOver(ctx context.Context, in contract.LockInput, l ledger.Lock) (bool, error) {
	d, err := h.Ledger.GetDeployment(ctx, l.DeploymentID)
	noRecord := errors.Is(err, ledger.ErrNotFound)
	if err != nil && !noRecord {
		return false, err
	}
	why := ""
	switch {
	case noRecord:
		why = "it names no deployment record"
	case d.Final():
		why = fmt.Sprintf("that deployment had already ended %s", d.Status)
	default:
		alive := true
		if h.Alive != nil {
			if alive, err = h.Alive(ctx, d); err != nil {
				h.Logger().Warn("liveness of the lease holder unknown", "holder", d.ID, "err", err)
				return false, nil
			}
		}
		if alive {
			return false, nil
		}
		gone := "its owner is gone (its process was killed, or its execution is no longer running)"
		if _, err := h.CloseUnfinished(ctx, d, contract.StateError{Error: AbandonedError, Cause: gone}, nil); err != nil {
			return false, err
		}
		why = gone + "; its record was closed from what the fleet was observed to be"
	}
	if _, err := h.Ledger.ReleaseLease(ctx, in.App, in.Environment, l.Owner); err != nil {
		return false, err
	}
	msg := fmt.Sprintf("lease of deployment %s taken over by %s: %s", l.DeploymentID, in.DeploymentID, why)
	h.Step(ctx, in.DeploymentID, contract.StageLock, StepInfo, msg, l)
	if err := h.Ledger.AddEvent(ctx, ledger.Event{App: in.App, Environment: in.Environment, At: h.Time(), Source: "lock", Kind: "lease-taken-over",
		Message: msg, DeploymentID: l.DeploymentID}); err != nil {
		h.Logger().Error("event not recorded", "err", err)
	}
	return true, nil
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
	h.Step(ctx, in.DeploymentID, contract.StageLock, StepSkipped, msg, p)
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
		h.Step(ctx, in.DeploymentID, contract.StageUnlock, StepOK, "lease released", nil)
	}
	return contract.LockOutput{Held: false, Owner: in.Owner}, nil
}
