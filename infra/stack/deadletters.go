package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Dead letters: an event EventBridge could not deliver to a target (after
// its retries), or that a function it invokes failed on (after Lambda's
// two retries of an asynchronous invocation), lands in one queue. An
// alarm on the queue's depth tells the notification topic, and `slipway
// status` reads it (SLIPWAY_DEAD_LETTER_QUEUE, the DeadLetterQueueUrl
// output).
const (
	deadLetterRetentionDays = 14 // the most SQS keeps
	// Lambda retries a failed asynchronous invocation twice, within an
	// hour, before the event goes to the failure queue.
	asyncRetries   = 2
	asyncEventHour = 1
)

// DeadLetterQueueName is the name of the dead-letter queue.
func DeadLetterQueueName(cfg *Config) string { return Name(cfg) + "-dead-letters" }

// deadLetters creates the queue and its alarm. It runs before the
// functions and the rules, which send to it.
func (s *Stack) deadLetters() {
	s.DeadLetters = awssqs.NewQueue(s.Stack, jsii.String("DeadLetters"), &awssqs.QueueProps{
		QueueName: jsii.String(DeadLetterQueueName(s.Config)),
		// SSE-SQS: EventBridge and Lambda send to it without a key grant.
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(deadLetterRetentionDays)),
	})
	s.alarmToTopic("DeadLettersAlarm", "DeadLetterAlarmPublishes", &awscloudwatch.AlarmProps{
		AlarmName:        jsii.String(DeadLetterQueueName(s.Config)),
		AlarmDescription: jsii.String(fmt.Sprintf("Slipway %s: an event did not reach Slipway or a trigger failed on it; it waits in %s (slipway status)", s.Config.App, DeadLetterQueueName(s.Config))),
		Metric: s.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(0),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String("DeadLetterQueueUrl"), &awscdk.CfnOutputProps{
		Value:       s.DeadLetters.QueueUrl(),
		Description: jsii.String("Events that did not reach Slipway or that a trigger failed on; set SLIPWAY_DEAD_LETTER_QUEUE to it for slipway status"),
	})
}

// failureQueue is the on-failure destination of a function's asynchronous
// invocations. Unlike awslambdadestinations.SqsDestination it grants the
// function's role sqs:SendMessage and nothing else.
type failureQueue struct {
	queue awssqs.IQueue
}

// Bind implements awslambda.IDestination.
func (d *failureQueue) Bind(_ constructs.Construct, fn awslambda.IFunction, _ *awslambda.DestinationOptions) *awslambda.DestinationConfig {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("SendFailedEvents"),
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{d.queue.QueueArn()},
	}))
	return &awslambda.DestinationConfig{Destination: d.queue.QueueArn()}
}

// alarmToTopic creates an alarm that notifies the topic, and the topic
// policy statement (sid) that lets this alarm, and no other, publish.
func (s *Stack) alarmToTopic(id, sid string, props *awscloudwatch.AlarmProps) awscloudwatch.Alarm {
	alarm := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), props)
	alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(s.Topic))
	// The topic's policy names its publishers: this alarm is one.
	s.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{s.Topic.TopicArn()},
		Conditions: &map[string]interface{}{"ArnEquals": map[string]interface{}{"aws:SourceArn": alarm.AlarmArn()}},
	}))
	return alarm
}
