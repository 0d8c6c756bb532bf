// Package asg completes and heartbeats Auto Scaling launch lifecycle
// actions on EC2 Auto Scaling.
package asg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/smithy-go"

	"github.com/slipway-deploy/slipway/internal/autoscale"
)

// API is the part of *autoscaling.Client the adapter uses.
type API interface {
	CompleteLifecycleAction(ctx context.Context, in *autoscaling.CompleteLifecycleActionInput, optFns ...func(*autoscaling.Options)) (*autoscaling.CompleteLifecycleActionOutput, error)
	RecordLifecycleActionHeartbeat(ctx context.Context, in *autoscaling.RecordLifecycleActionHeartbeatInput, optFns ...func(*autoscaling.Options)) (*autoscaling.RecordLifecycleActionHeartbeatOutput, error)
}

var _ API = (*autoscaling.Client)(nil)

// AutoScaling answers lifecycle actions on EC2 Auto Scaling.
type AutoScaling struct {
	Client API
}

// Complete answers the action with result (Continue or Abandon).
func (a *AutoScaling) Complete(ctx context.Context, act autoscale.Action, result string) error {
	if result != autoscale.Continue && result != autoscale.Abandon {
		return fmt.Errorf("complete lifecycle action of %s: result %q is neither CONTINUE nor ABANDON", act.InstanceID, result)
	}
	_, err := a.Client.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String(act.Group), LifecycleHookName: aws.String(act.Hook),
		LifecycleActionToken: tokenOrNil(act.Token), InstanceId: aws.String(act.InstanceID),
		LifecycleActionResult: aws.String(result),
	})
	if err != nil {
		return explain(fmt.Sprintf("complete the lifecycle action of %s in %s with %s", act.InstanceID, act.Group, result), err)
	}
	return nil
}

// Heartbeat extends the action's timeout by the hook's heartbeat timeout.
func (a *AutoScaling) Heartbeat(ctx context.Context, act autoscale.Action) error {
	_, err := a.Client.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{
		AutoScalingGroupName: aws.String(act.Group), LifecycleHookName: aws.String(act.Hook),
		LifecycleActionToken: tokenOrNil(act.Token), InstanceId: aws.String(act.InstanceID),
	})
	if err != nil {
		return explain(fmt.Sprintf("record a heartbeat for the lifecycle action of %s in %s", act.InstanceID, act.Group), err)
	}
	return nil
}

func tokenOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func explain(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch {
		case ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "No active Lifecycle Action"):
			return fmt.Errorf("%s: %w (it timed out and the hook's default result was applied, or it was completed already): %w", what, autoscale.ErrGone, err)
		case ae.ErrorCode() == "AccessDenied" || ae.ErrorCode() == "AccessDeniedException":
			return fmt.Errorf("%s: the lifecycle function's role may not do this: deploy the Slipway stack again (cdk deploy) so its role names the group: %w", what, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
