// Package elbv2 implements traffic.Port on Elastic Load Balancing v2:
// target groups (DescribeTargetHealth, RegisterTargets,
// DeregisterTargets, the deregistration_delay attribute) and a listener's
// or a listener rule's weighted forward action (DescribeListeners or
// DescribeRules, then one ModifyListener or ModifyRule call).
//
// It lives apart from package traffic so that only the functions that
// manage traffic link the ELBv2 client.
package elbv2

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/slipway-deploy/slipway/internal/traffic"
)

// API is the part of *elasticloadbalancingv2.Client the adapter uses.
type API interface {
	DescribeTargetHealth(ctx context.Context, in *elb.DescribeTargetHealthInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error)
	RegisterTargets(ctx context.Context, in *elb.RegisterTargetsInput, optFns ...func(*elb.Options)) (*elb.RegisterTargetsOutput, error)
	DeregisterTargets(ctx context.Context, in *elb.DeregisterTargetsInput, optFns ...func(*elb.Options)) (*elb.DeregisterTargetsOutput, error)
	DescribeTargetGroupAttributes(ctx context.Context, in *elb.DescribeTargetGroupAttributesInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetGroupAttributesOutput, error)
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, optFns ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
	DescribeRules(ctx context.Context, in *elb.DescribeRulesInput, optFns ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
	ModifyListener(ctx context.Context, in *elb.ModifyListenerInput, optFns ...func(*elb.Options)) (*elb.ModifyListenerOutput, error)
	ModifyRule(ctx context.Context, in *elb.ModifyRuleInput, optFns ...func(*elb.Options)) (*elb.ModifyRuleOutput, error)
}

var _ API = (*elb.Client)(nil)

// ELBv2 is traffic.Port on Elastic Load Balancing v2. Groups are target
// group ARNs; listeners are listener ARNs or listener rule ARNs.
type ELBv2 struct {
	Client API
}

var _ traffic.Port = (*ELBv2)(nil)

// maxTargetsPerCall bounds RegisterTargets and DeregisterTargets batches
// (the API takes at most 500 targets per call, fewer is kinder to the
// request size).
const maxTargetsPerCall = 100

// DefaultDeregistrationDelay is ELBv2's default, used when the attribute
// is absent.
const DefaultDeregistrationDelay = 300 * time.Second

// Targets returns every target registered in group with its state.
func (e *ELBv2) Targets(ctx context.Context, group string) ([]traffic.TargetHealth, error) {
	out, err := e.Client.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(group)})
	if err != nil {
		return nil, explain("describe the targets of "+group, err)
	}
	var ths []traffic.TargetHealth
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil {
			continue
		}
		th := traffic.TargetHealth{Target: traffic.Target{ID: aws.ToString(d.Target.Id), Port: int(aws.ToInt32(d.Target.Port))}}
		if d.TargetHealth != nil {
			th.State = string(d.TargetHealth.State)
			th.Reason = string(d.TargetHealth.Reason)
			if desc := aws.ToString(d.TargetHealth.Description); desc != "" {
				if th.Reason != "" {
					th.Reason += ": " + desc
				} else {
					th.Reason = desc
				}
			}
		}
		ths = append(ths, th)
	}
	sort.Slice(ths, func(i, j int) bool { return ths[i].ID < ths[j].ID })
	return ths, nil
}

func descriptions(targets []traffic.Target) []types.TargetDescription {
	out := make([]types.TargetDescription, 0, len(targets))
	for _, t := range targets {
		d := types.TargetDescription{Id: aws.String(t.ID)}
		if t.Port > 0 {
			d.Port = aws.Int32(int32(t.Port))
		}
		out = append(out, d)
	}
	return out
}

// Register puts targets into group, in batches.
func (e *ELBv2) Register(ctx context.Context, group string, targets []traffic.Target) error {
	for start := 0; start < len(targets); start += maxTargetsPerCall {
		batch := targets[start:min(start+maxTargetsPerCall, len(targets))]
		if _, err := e.Client.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(group), Targets: descriptions(batch)}); err != nil {
			return explain(fmt.Sprintf("register %s in %s", ids(batch), group), err)
		}
	}
	return nil
}

// Deregister takes targets out of group, in batches. Deregistering a
// target that is not registered is not an error on ELBv2.
func (e *ELBv2) Deregister(ctx context.Context, group string, targets []traffic.Target) error {
	for start := 0; start < len(targets); start += maxTargetsPerCall {
		batch := targets[start:min(start+maxTargetsPerCall, len(targets))]
		if _, err := e.Client.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(group), Targets: descriptions(batch)}); err != nil {
			return explain(fmt.Sprintf("deregister %s from %s", ids(batch), group), err)
		}
	}
	return nil
}

// DeregistrationDelay reads the group's deregistration_delay.timeout_seconds.
func (e *ELBv2) DeregistrationDelay(ctx context.Context, group string) (time.Duration, error) {
	out, err := e.Client.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(group)})
	if err != nil {
		return 0, explain("read the deregistration delay of "+group, err)
	}
	for _, a := range out.Attributes {
		if aws.ToString(a.Key) != "deregistration_delay.timeout_seconds" {
			continue
		}
		s, err := strconv.Atoi(aws.ToString(a.Value))
		if err != nil || s < 0 {
			return 0, fmt.Errorf("read the deregistration delay of %s: %q is not a number of seconds", group, aws.ToString(a.Value))
		}
		return time.Duration(s) * time.Second, nil
	}
	return DefaultDeregistrationDelay, nil
}

// isRule tells a listener rule's ARN
// (arn:…:listener-rule/app/…) from a listener's (arn:…:listener/app/…).
func isRule(arn string) bool { return strings.Contains(arn, ":listener-rule/") }

// forward finds the forward action among actions.
func forward(actions []types.Action) (int, error) {
	for i, a := range actions {
		if a.Type == types.ActionTypeEnumForward {
			return i, nil
		}
	}
	return -1, errors.New("it has no forward action: weights need a forward action to two target groups")
}

func (e *ELBv2) actions(ctx context.Context, listener string) ([]types.Action, error) {
	if isRule(listener) {
		out, err := e.Client.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{listener}})
		if err != nil {
			return nil, explain("describe listener rule "+listener, err)
		}
		if len(out.Rules) == 0 {
			return nil, fmt.Errorf("describe listener rule %s: not found: fix blue_green.listener in the Slipway configuration", listener)
		}
		return out.Rules[0].Actions, nil
	}
	out, err := e.Client.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{listener}})
	if err != nil {
		return nil, explain("describe listener "+listener, err)
	}
	if len(out.Listeners) == 0 {
		return nil, fmt.Errorf("describe listener %s: not found: fix blue_green.listener in the Slipway configuration", listener)
	}
	return out.Listeners[0].DefaultActions, nil
}

// Weights returns the weight of each target group the listener's (or
// rule's) forward action sends to.
func (e *ELBv2) Weights(ctx context.Context, listener string) (map[string]int, error) {
	actions, err := e.actions(ctx, listener)
	if err != nil {
		return nil, err
	}
	i, err := forward(actions)
	if err != nil {
		return nil, fmt.Errorf("read the weights of %s: %w", listener, err)
	}
	a := actions[i]
	w := map[string]int{}
	if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
		for _, tg := range a.ForwardConfig.TargetGroups {
			weight := 1 // ELBv2's default weight when none is given
			if tg.Weight != nil {
				weight = int(*tg.Weight)
			}
			w[aws.ToString(tg.TargetGroupArn)] = weight
		}
		return w, nil
	}
	if arn := aws.ToString(a.TargetGroupArn); arn != "" {
		w[arn] = 1
	}
	return w, nil
}

// SetWeights rewrites the forward action's target group weights in one
// ModifyListener or ModifyRule call, keeping the other actions and the
// forward action's stickiness as they are.
func (e *ELBv2) SetWeights(ctx context.Context, listener string, weights map[string]int) error {
	if len(weights) == 0 {
		return fmt.Errorf("set the weights of %s: no target groups given", listener)
	}
	actions, err := e.actions(ctx, listener)
	if err != nil {
		return err
	}
	i, err := forward(actions)
	if err != nil {
		return fmt.Errorf("set the weights of %s: %w", listener, err)
	}
	arns := make([]string, 0, len(weights))
	for arn, w := range weights {
		if w < 0 || w > 999 {
			return fmt.Errorf("set the weights of %s: weight %d of %s is outside 0..999", listener, w, arn)
		}
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	fc := &types.ForwardActionConfig{}
	if old := actions[i].ForwardConfig; old != nil {
		fc.TargetGroupStickinessConfig = old.TargetGroupStickinessConfig
	}
	for _, arn := range arns {
		fc.TargetGroups = append(fc.TargetGroups, types.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(int32(weights[arn]))})
	}
	next := make([]types.Action, len(actions))
	copy(next, actions)
	next[i] = types.Action{Type: types.ActionTypeEnumForward, Order: actions[i].Order, ForwardConfig: fc}
	if isRule(listener) {
		_, err = e.Client.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(listener), Actions: next})
	} else {
		_, err = e.Client.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(listener), DefaultActions: next})
	}
	if err != nil {
		return explain("set the weights of "+listener, err)
	}
	return nil
}

func ids(ts []traffic.Target) string {
	s := make([]string, 0, len(ts))
	for _, t := range ts {
		s = append(s, t.ID)
	}
	if len(s) > 3 {
		return fmt.Sprintf("%s and %d more", strings.Join(s[:3], ", "), len(s)-3)
	}
	return strings.Join(s, ", ")
}

// explain says what to do about ELBv2's errors. Throttling keeps its code,
// so the pipeline's transient classification retries it.
func explain(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "TargetGroupNotFound":
			return fmt.Errorf("%s: no such target group: fix target_groups in the Slipway configuration (an ARN from `aws elbv2 describe-target-groups`): %w", what, err)
		case "InvalidTarget":
			return fmt.Errorf("%s: the load balancer refuses the instance (terminated, stopped, or in another VPC than the target group): check the instance in the EC2 console: %w", what, err)
		case "ListenerNotFound", "RuleNotFound":
			return fmt.Errorf("%s: no such listener or rule: fix blue_green.listener in the Slipway configuration: %w", what, err)
		case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
			return fmt.Errorf("%s: the function's role may not do this: deploy the Slipway stack again (cdk deploy) so its role follows the configuration: %w", what, err)
		case "OperationNotPermitted":
			return fmt.Errorf("%s: the load balancer does not allow this (weights need an Application Load Balancer listener with a forward action): %w", what, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
