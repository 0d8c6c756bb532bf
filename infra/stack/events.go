package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawsevents"
	"github.com/aws/jsii-runtime-go"
)

// Event sources and detail types the rules match.
const (
	GitSource            = "slipway.git"
	GitPushDetailType    = "Git Push"
	CodeCommitSource     = "aws.codecommit"
	CodeCommitDetailType = "CodeCommit Repository State Change"
	AlarmSource          = "aws.cloudwatch"
	AlarmDetailType      = "CloudWatch Alarm State Change"
	StatesSource         = "aws.states"
	StatesDetailType     = "Step Functions Execution Status Change"
	AutoScalingSource    = "aws.autoscaling"
	LaunchDetailType     = "EC2 Instance-launch Lifecycle Action"
	// LaunchHookName is the name of the launch lifecycle hook the stack
	// puts on each configured Auto Scaling group.
	LaunchHookName = "slipway-launch"
)

// rules are the EventBridge rules on the default bus:
//
//   - a push to the configured branch goes to the push router, from
//     CodeCommit's own event or from a slipway.git "Git Push" event that CI
//     or a webhook relay puts. The router starts the deploy state machine
//     for the push environment (staging) with an execution name derived
//     from the environment and the commit, so a redelivered event does not
//     start twice; it checks the release is published, and coalesces
//     pushes that arrive while a deployment runs (a rule targeting the
//     state machine directly could do none of these);
//   - an alarm of an environment moving to ALARM goes to the alarm router,
//     which starts one rollback of the environment's last deployment if it
//     is within its watch window, and records its decision either way;
//   - an instance launched by an environment's Auto Scaling group waits
//     in Pending:Wait on the stack's launch hook (LaunchHookName) while
//     its launch lifecycle action goes to the lifecycle function, which
//     completes it once the instance runs the environment's release;
//   - every execution status change of both state machines goes to the
//     notification topic, and one that timed out, was stopped or failed
//     to the closer as well.
func (s *Stack) rules() {
	cfg := s.Config
	// A function EventBridge invokes: what EventBridge cannot deliver
	// (after its retries) goes to the dead-letter queue, as do the events
	// the function fails on (its failure destination, functions.go). A
	// new trigger function (Trigger in its spec) takes its rule's target
	// from here.
	router := func(name string) awsevents.IRuleTarget {
		return awseventstargets.NewLambdaFunction(s.Functions[name], &awseventstargets.LambdaFunctionProps{
			RetryAttempts:   jsii.Number(4),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(1)),
			DeadLetterQueue: s.DeadLetters,
		})
	}

	awsevents.NewRule(s.Stack, jsii.String("CodeCommitPush"), &awsevents.RuleProps{
		Description: jsii.String("Slipway " + cfg.App + ": a CodeCommit push to " + cfg.Git.Branch + " deploys to " + cfg.Git.Environment),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(CodeCommitSource),
			DetailType: jsii.Strings(CodeCommitDetailType),
			Detail: &map[string]interface{}{
				"event":          []string{"referenceCreated", "referenceUpdated"},
				"repositoryName": []string{cfg.Git.Repository},
				"referenceType":  []string{"branch"},
				"referenceName":  []string{cfg.Git.Branch},
			},
		},
		Targets: &[]awsevents.IRuleTarget{router("push-router")},
	})

	awsevents.NewRule(s.Stack, jsii.String("GitPush"), &awsevents.RuleProps{
		Description: jsii.String("Slipway " + cfg.App + ": a slipway.git push to " + cfg.Git.Branch + " deploys to " + cfg.Git.Environment),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(GitSource),
			DetailType: jsii.Strings(GitPushDetailType),
			// What the push router takes (internal/trigger): an event for
			// this app or for no app in particular, the branch by name or
			// by ref. TestRulesAgreeWithRouters holds them to it.
			Detail: &map[string]interface{}{
				"app":        []interface{}{cfg.App, map[string]interface{}{"exists": false}},
				"repository": []string{cfg.Git.Repository},
				"branch":     []string{cfg.Git.Branch, "refs/heads/" + cfg.Git.Branch},
			},
		},
		Targets: &[]awsevents.IRuleTarget{router("push-router")},
	})

	for _, env := range cfg.EnvironmentNames() {
		alarms := cfg.Environments[env].Alarms
		if len(alarms) == 0 {
			continue
		}
		awsevents.NewRule(s.Stack, jsii.String("Alarm"+pascal(env)), &awsevents.RuleProps{
			Description: jsii.String("Slipway " + cfg.App + ": an alarm of " + env + " in ALARM rolls " + env + " back"),
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings(AlarmSource),
				DetailType: jsii.Strings(AlarmDetailType),
				Detail: &map[string]interface{}{
					"alarmName": alarms,
					"state":     map[string]interface{}{"value": []string{"ALARM"}},
				},
			},
			Targets: &[]awsevents.IRuleTarget{router("alarm-router")},
		})
	}

	// One launch hook per configured group, and per environment a rule
	// sending the hook's launch actions (of this hook only: another hook
	// on the group is someone else's) to the lifecycle function. Without
	// an answer within the heartbeat timeout, or when the function fails,
	// the hook abandons the instance and the group replaces it.
	for _, env := range cfg.EnvironmentNames() {
		// The environment's groups and its blue/green sides' groups.
		groups := cfg.Environments[env].LaunchGroups()
		if len(groups) == 0 {
			continue
		}
		for i, g := range groups {
			awsautoscaling.NewCfnLifecycleHook(s.Stack, jsii.String(fmt.Sprintf("LaunchHook%s%d", pascal(env), i+1)), &awsautoscaling.CfnLifecycleHookProps{
				AutoScalingGroupName: jsii.String(g),
				LifecycleHookName:    jsii.String(LaunchHookName),
				LifecycleTransition:  jsii.String("autoscaling:EC2_INSTANCE_LAUNCHING"),
				HeartbeatTimeout:     jsii.Number(300),
				DefaultResult:        jsii.String("ABANDON"),
			})
		}
		awsevents.NewRule(s.Stack, jsii.String("Launch"+pascal(env)), &awsevents.RuleProps{
			Description: jsii.String("Slipway " + cfg.App + ": an instance launched by an Auto Scaling group of " + env + " gets " + env + "'s release before it enters service"),
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings(AutoScalingSource),
				DetailType: jsii.Strings(LaunchDetailType),
				Detail: &map[string]interface{}{
					"AutoScalingGroupName": groups,
					"LifecycleHookName":    []string{LaunchHookName},
					"LifecycleTransition":  []string{"autoscaling:EC2_INSTANCE_LAUNCHING"},
				},
			},
			Targets: &[]awsevents.IRuleTarget{router("lifecycle")},
		})
	}

	// An execution that timed out, was stopped or failed goes to the
	// closer, which closes its record when the execution did not.
	awsevents.NewRule(s.Stack, jsii.String("CloseExecutions"), &awsevents.RuleProps{
		Description: jsii.String("Slipway " + cfg.App + ": a deploy or rollback execution that timed out, was stopped or failed goes to the closer"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(StatesSource),
			DetailType: jsii.Strings(StatesDetailType),
			Detail: &map[string]interface{}{
				"stateMachineArn": []string{StateMachineARN(cfg, "deploy"), StateMachineARN(cfg, "rollback")},
				"status":          []string{"ABORTED", "TIMED_OUT", "FAILED"},
			},
		},
		Targets: &[]awsevents.IRuleTarget{router("closer")},
	})

	awsevents.NewRule(s.Stack, jsii.String("ExecutionStatus"), &awsevents.RuleProps{
		Description: jsii.String("Slipway " + cfg.App + ": deploy and rollback execution status changes to the notification topic"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(StatesSource),
			DetailType: jsii.Strings(StatesDetailType),
			Detail: &map[string]interface{}{
				"stateMachineArn": []string{StateMachineARN(cfg, "deploy"), StateMachineARN(cfg, "rollback")},
			},
		},
		Targets: &[]awsevents.IRuleTarget{&topicTarget{topic: s.Topic, deadLetters: s.DeadLetters}},
	})
}

// topicTarget sends a rule's events to an SNS topic. Unlike
// awseventstargets.SnsTopic, it lets EventBridge publish on behalf of this
// rule only (aws:SourceArn), not of any rule.
type topicTarget struct {
	topic       awssns.ITopic
	deadLetters awssqs.IQueue
}

// Bind implements awsevents.IRuleTarget.
func (t *topicTarget) Bind(rule interfacesawsevents.IRuleRef, _ *string) *awsevents.RuleTargetConfig {
	t.topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("EventBridgePublishes"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{t.topic.TopicArn()},
		Conditions: &map[string]interface{}{"ArnEquals": map[string]interface{}{"aws:SourceArn": rule.RuleRef().RuleArn}},
	}))
	t.deadLetters.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{t.deadLetters.QueueArn()},
		Conditions: &map[string]interface{}{"ArnEquals": map[string]interface{}{"aws:SourceArn": rule.RuleRef().RuleArn}},
	}))
	return &awsevents.RuleTargetConfig{
		Arn:              t.topic.TopicArn(),
		DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: t.deadLetters.QueueArn()},
		RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
			MaximumRetryAttempts:     jsii.Number(8),
			MaximumEventAgeInSeconds: jsii.Number(3600),
		},
	}
}
