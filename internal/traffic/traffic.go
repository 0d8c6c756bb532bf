// Package traffic is the load balancer's side of a deployment: taking
// instances out of service before a wave restarts them, waiting until
// they are drained, putting them back, waiting until the balancer itself
// reports them healthy, and shifting a blue/green listener's weights.
//
// Port is implemented twice: on ELBv2 (target groups, DescribeTargetHealth,
// a listener's weighted forward action) and by the embedded balancer, a
// reverse proxy on 127.0.0.1 per environment with the same register,
// drain and weight semantics. Handlers never know which.
//
// A target group is named by what the platform calls it: an ARN on AWS, a
// name ("<env>" or "<env>-blue") in the embedded environment.
package traffic

import (
	"context"
	"time"
)

// Target states, as ELBv2 names them (TargetHealth.State).
const (
	StateInitial     = "initial"     // registered, health checks not yet passed
	StateHealthy     = "healthy"     // in service
	StateUnhealthy   = "unhealthy"   // registered, failing health checks
	StateUnused      = "unused"      // registered but not routed to
	StateDraining    = "draining"    // deregistered, finishing in-flight requests
	StateUnavailable = "unavailable" // health checks disabled
)

// Target is one registered instance. Port is the port traffic goes to (0:
// the group's default port, on AWS).
type Target struct {
	ID   string `json:"id"`
	Port int    `json:"port,omitempty"`
}

// TargetHealth is what the balancer says of one target.
type TargetHealth struct {
	Target
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// Port is what a deployment needs from a load balancer.
type Port interface {
	// Targets returns every target registered in group with its state.
	Targets(ctx context.Context, group string) ([]TargetHealth, error)
	// Register puts targets into group; they start "initial" and turn
	// "healthy" once the balancer's own health checks pass.
	Register(ctx context.Context, group string, targets []Target) error
	// Deregister takes targets out of group; they stay "draining" until
	// their in-flight requests finish or the group's deregistration delay
	// runs out, then disappear from Targets.
	Deregister(ctx context.Context, group string, targets []Target) error
	// DeregistrationDelay is how long group lets a deregistered target
	// drain at most.
	DeregistrationDelay(ctx context.Context, group string) (time.Duration, error)
	// Weights returns the weight of each target group a listener (or
	// listener rule) forwards to.
	Weights(ctx context.Context, listener string) (map[string]int, error)
	// SetWeights sets the listener's weighted forward action in one call
	// (ModifyListener or ModifyRule on AWS).
	SetWeights(ctx context.Context, listener string, weights map[string]int) error
}

// ByID indexes a group's targets by their id.
func ByID(ts []TargetHealth) map[string]TargetHealth {
	out := make(map[string]TargetHealth, len(ts))
	for _, t := range ts {
		out[t.ID] = t
	}
	return out
}
