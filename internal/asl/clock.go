package asl

import (
	"context"
	"sync"
	"time"
)

// Clock is the engine's source of time. Wait states and Retry intervals
// sleep through it, and history timestamps and the context object's times
// come from it, so a virtual clock runs a five-minute Wait at once while
// every timestamp still moves on by five minutes.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx is done, whose error it returns.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock returns the wall clock: Sleep really waits.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// VirtualClock is a Clock whose time moves only when something sleeps. It
// is safe for concurrent use. The engine sleeps until a deadline reckoned
// from when the sleep logically began (a Wait state's entered time, the
// moment a Task failed) and calls SleepUntil, so when Parallel branches or
// Map iterations wait at once the shared time ends at max(now, start+d) for
// each of them, not at the sum of their waits.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtualClock returns a virtual clock that starts at start.
func NewVirtualClock(start time.Time) *VirtualClock { return &VirtualClock{now: start} }

// Now returns the virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep moves the virtual time on by d at once. It returns ctx's error,
// without moving the time, if ctx is already done.
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// SleepUntil moves the virtual time on to t, if it is not already later.
// The engine prefers it to Sleep: reading the time and moving it happen at
// once, so sleepers that started together end together.
func (c *VirtualClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

// Advance moves the virtual time on by d.
func (c *VirtualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// isoMillis renders t as Step Functions does in the context object:
// 2024-01-01T00:00:00.000Z.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
