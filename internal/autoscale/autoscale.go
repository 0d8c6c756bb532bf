// Package autoscale is what Slipway knows of Auto Scaling launch lifecycle
// actions: the lifecycle function answers CONTINUE once a new instance
// runs the environment's release and is healthy, ABANDON when it cannot.
// The adapter on EC2 Auto Scaling is in autoscale/asg, apart, so that
// only the lifecycle function links the Auto Scaling client.
package autoscale

import "errors"

// Lifecycle action results.
const (
	Continue = "CONTINUE"
	Abandon  = "ABANDON"
)

// Action names one lifecycle action, as the lifecycle event carries it.
type Action struct {
	Group      string `json:"group"`
	Hook       string `json:"hook"`
	Token      string `json:"token"`
	InstanceID string `json:"instance_id"`
}

// ErrGone says the lifecycle action no longer exists: it timed out (the
// hook's default result was applied) or was already completed.
var ErrGone = errors.New("the lifecycle action is no longer active")
