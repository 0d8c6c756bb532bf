package lambdaenvtest

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"
)

// Grant is one IAM authorization an AWS call needs: an action on a
// resource ("*" for actions AWS authorizes on no resource type).
type Grant struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
}

// Recorder notes every AWS operation the clients built from a
// configuration issue, with the IAM grants each needs, worked out from
// the operation's input the way IAM authorizes it (see grants). Add
// Middleware to aws.Config.APIOptions before the clients are built.
type Recorder struct {
	// Account is the account ARNs are built in (requests do not carry it).
	Account string

	mu  sync.Mutex
	ops map[string]map[Grant]bool // operation ("rds:DeleteDBSnapshot") -> grants
}

// Middleware is an aws.Config APIOptions entry that records each call
// before it is sent: a call refused by the fake needs its permission as
// much as one that succeeds.
func (r *Recorder) Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("slipway.RecordOperation",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.note(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), awsmiddleware.GetRegion(ctx), in.Parameters)
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (r *Recorder) note(serviceID, op, region string, params any) {
	prefix := iamPrefix(serviceID)
	name := prefix + ":" + op
	gs := grants(prefix, op, arns{region: region, account: r.Account}, params)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ops == nil {
		r.ops = map[string]map[Grant]bool{}
	}
	if r.ops[name] == nil {
		r.ops[name] = map[Grant]bool{}
	}
	for _, g := range gs {
		r.ops[name][g] = true
	}
}

// Operations returns what was recorded: by operation, its grants, sorted.
func (r *Recorder) Operations() map[string][]Grant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]Grant, len(r.ops))
	for op, set := range r.ops {
		gs := make([]Grant, 0, len(set))
		for g := range set {
			gs = append(gs, g)
		}
		slices.SortFunc(gs, func(a, b Grant) int {
			if c := strings.Compare(a.Action, b.Action); c != 0 {
				return c
			}
			return strings.Compare(a.Resource, b.Resource)
		})
		out[op] = gs
	}
	return out
}

// Unknown is the resource of a grant whose input grants does not know.
const Unknown = "?"

// iamPrefix is the IAM service prefix of an SDK service ID.
func iamPrefix(serviceID string) string {
	switch serviceID {
	case "SFN":
		return "states"
	case "Secrets Manager":
		return "secretsmanager"
	case "EventBridge":
		return "events"
	case "Elastic Load Balancing v2":
		return "elasticloadbalancing"
	}
	return strings.ToLower(strings.ReplaceAll(serviceID, " ", ""))
}

type arns struct{ region, account string }

func (a arns) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, a.region, a.account, resource)
}

// grants are the IAM authorizations of one call, after the Service
// Authorization Reference: the action (not always the operation's name:
// HeadObject is s3:GetObject, TransactWriteItems is one action per item)
// and the resources it is authorized on. A call it does not know gets the
// operation's name as action and the resource Unknown, which the golden
// check refuses, so that this table grows with the code.
func grants(prefix, op string, a arns, params any) []Grant {
	g := func(action string, resources ...string) []Grant {
		out := make([]Grant, 0, len(resources))
		for _, r := range resources {
			out = append(out, Grant{Action: action, Resource: r})
		}
		return out
	}
	table := func(name *string) string { return a.arn("dynamodb", "table/"+deref(name)) }
	star := "*"
	switch in := params.(type) {
	// DynamoDB: the table, or the index a Query reads.
	case *dynamodb.GetItemInput:
		return g("dynamodb:GetItem", table(in.TableName))
	case *dynamodb.PutItemInput:
		return g("dynamodb:PutItem", table(in.TableName))
	case *dynamodb.UpdateItemInput:
		return g("dynamodb:UpdateItem", table(in.TableName))
	case *dynamodb.DeleteItemInput:
		return g("dynamodb:DeleteItem", table(in.TableName))
	case *dynamodb.QueryInput:
		if in.IndexName != nil {
			return g("dynamodb:Query", table(in.TableName)+"/index/"+*in.IndexName)
		}
		return g("dynamodb:Query", table(in.TableName))
	case *dynamodb.BatchWriteItemInput:
		var out []Grant
		for name := range in.RequestItems {
			out = append(out, g("dynamodb:BatchWriteItem", table(&name))...)
		}
		return out
	case *dynamodb.TransactWriteItemsInput:
		// No IAM action of its own: each item's operation is authorized.
		var out []Grant
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				out = append(out, g("dynamodb:PutItem", table(it.Put.TableName))...)
			case it.Update != nil:
				out = append(out, g("dynamodb:UpdateItem", table(it.Update.TableName))...)
			case it.Delete != nil:
				out = append(out, g("dynamodb:DeleteItem", table(it.Delete.TableName))...)
			case it.ConditionCheck != nil:
				out = append(out, g("dynamodb:ConditionCheckItem", table(it.ConditionCheck.TableName))...)
			}
		}
		return out

	// S3: objects by bucket and key.
	case *s3.HeadObjectInput:
		return g("s3:GetObject", "arn:aws:s3:::"+deref(in.Bucket)+"/"+deref(in.Key))
	case *s3.GetObjectInput:
		return g("s3:GetObject", "arn:aws:s3:::"+deref(in.Bucket)+"/"+deref(in.Key))
	case *s3.PutObjectInput:
		return g("s3:PutObject", "arn:aws:s3:::"+deref(in.Bucket)+"/"+deref(in.Key))
	case *s3.ListObjectsV2Input:
		return g("s3:ListBucket", "arn:aws:s3:::"+deref(in.Bucket))

	// SSM: SendCommand is authorized on the document and on every
	// instance; the read operations have no resource type.
	case *ssm.SendCommandInput:
		rs := []string{a.arn("ssm", "document/"+deref(in.DocumentName))}
		for _, id := range in.InstanceIds {
			rs = append(rs, a.arn("ec2", "instance/"+id))
		}
		if len(in.Targets) > 0 {
			rs = append(rs, a.arn("ec2", "instance/*"))
		}
		return g("ssm:SendCommand", rs...)
	case *ssm.GetParameterInput:
		name := deref(in.Name)
		if !strings.HasPrefix(name, "/") {
			name = "/" + name
		}
		return g("ssm:GetParameter", a.arn("ssm", "parameter"+name))
	case *ssm.DescribeInstanceInformationInput, *ssm.ListCommandsInput, *ssm.ListCommandInvocationsInput, *ssm.GetCommandInvocationInput:
		return g("ssm:"+op, star)

	// CloudWatch: alarms by name, or every alarm.
	case *cloudwatch.DescribeAlarmsInput:
		if len(in.AlarmNames) == 0 {
			return g("cloudwatch:DescribeAlarms", star)
		}
		var rs []string
		for _, n := range in.AlarmNames {
			rs = append(rs, a.arn("cloudwatch", "alarm:"+n))
		}
		return g("cloudwatch:DescribeAlarms", rs...)
	// Metrics have no resource type: GetMetricData is granted on "*".
	case *cloudwatch.GetMetricDataInput:
		return g("cloudwatch:GetMetricData", star)

	// RDS: a snapshot is authorized on the database and the snapshot; tags
	// given at creation need rds:AddTagsToResource on the snapshot too.
	case *rds.CreateDBSnapshotInput:
		snap := a.arn("rds", "snapshot:"+deref(in.DBSnapshotIdentifier))
		out := g("rds:CreateDBSnapshot", a.arn("rds", "db:"+deref(in.DBInstanceIdentifier)), snap)
		if len(in.Tags) > 0 {
			out = append(out, g("rds:AddTagsToResource", snap)...)
		}
		return out
	case *rds.CreateDBClusterSnapshotInput:
		snap := a.arn("rds", "cluster-snapshot:"+deref(in.DBClusterSnapshotIdentifier))
		out := g("rds:CreateDBClusterSnapshot", a.arn("rds", "cluster:"+deref(in.DBClusterIdentifier)), snap)
		if len(in.Tags) > 0 {
			out = append(out, g("rds:AddTagsToResource", snap)...)
		}
		return out
	case *rds.DescribeDBSnapshotsInput:
		switch {
		case in.DBSnapshotIdentifier != nil:
			return g("rds:DescribeDBSnapshots", a.arn("rds", "snapshot:"+*in.DBSnapshotIdentifier))
		case in.DBInstanceIdentifier != nil:
			return g("rds:DescribeDBSnapshots", a.arn("rds", "db:"+*in.DBInstanceIdentifier))
		}
		return g("rds:DescribeDBSnapshots", star)
	case *rds.DescribeDBClusterSnapshotsInput:
		switch {
		case in.DBClusterSnapshotIdentifier != nil:
			return g("rds:DescribeDBClusterSnapshots", a.arn("rds", "cluster-snapshot:"+*in.DBClusterSnapshotIdentifier))
		case in.DBClusterIdentifier != nil:
			return g("rds:DescribeDBClusterSnapshots", a.arn("rds", "cluster:"+*in.DBClusterIdentifier))
		}
		return g("rds:DescribeDBClusterSnapshots", star)
	case *rds.DeleteDBSnapshotInput:
		return g("rds:DeleteDBSnapshot", a.arn("rds", "snapshot:"+deref(in.DBSnapshotIdentifier)))
	case *rds.DeleteDBClusterSnapshotInput:
		return g("rds:DeleteDBClusterSnapshot", a.arn("rds", "cluster-snapshot:"+deref(in.DBClusterSnapshotIdentifier)))

	// ELBv2: targets are registered and deregistered on their target
	// group, weights set on the listener or rule; the Describe operations
	// have no resource-level permissions.
	case *elb.DescribeTargetHealthInput, *elb.DescribeTargetGroupAttributesInput, *elb.DescribeListenersInput, *elb.DescribeRulesInput:
		return g("elasticloadbalancing:"+op, star)
	case *elb.RegisterTargetsInput:
		return g("elasticloadbalancing:RegisterTargets", deref(in.TargetGroupArn))
	case *elb.DeregisterTargetsInput:
		return g("elasticloadbalancing:DeregisterTargets", deref(in.TargetGroupArn))
	case *elb.ModifyListenerInput:
		return g("elasticloadbalancing:ModifyListener", deref(in.ListenerArn))
	case *elb.ModifyRuleInput:
		return g("elasticloadbalancing:ModifyRule", deref(in.RuleArn))

	case *sns.PublishInput:
		return g("sns:Publish", deref(in.TopicArn))
	// Auto Scaling authorizes lifecycle actions on the group, whose ARN
	// carries an id the event does not: the policy names it with *.
	case *autoscaling.CompleteLifecycleActionInput:
		return g("autoscaling:CompleteLifecycleAction", a.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/"+deref(in.AutoScalingGroupName)))
	case *autoscaling.RecordLifecycleActionHeartbeatInput:
		return g("autoscaling:RecordLifecycleActionHeartbeat", a.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/"+deref(in.AutoScalingGroupName)))
	case *sfn.StartExecutionInput:
		return g("states:StartExecution", deref(in.StateMachineArn))
	case *sfn.DescribeExecutionInput:
		return g("states:DescribeExecution", deref(in.ExecutionArn))
	case *secretsmanager.GetSecretValueInput:
		id := deref(in.SecretId)
		if !strings.HasPrefix(id, "arn:") {
			// A secret asked for by name is authorized on its ARN, which
			// ends in six random characters after a dash: ?????? stands
			// for them, so that only a pattern that allows any suffix
			// (name-*) matches it.
			id = a.arn("secretsmanager", "secret:"+id+"-??????")
		}
		return g("secretsmanager:GetSecretValue", id)
	// EventBridge authorizes PutEvents on the bus each entry names.
	case *eventbridge.PutEventsInput:
		var out []Grant
		for _, e := range in.Entries {
			bus := deref(e.EventBusName)
			if bus == "" {
				bus = "default"
			}
			if !strings.HasPrefix(bus, "arn:") {
				bus = a.arn("events", "event-bus/"+bus)
			}
			out = append(out, g("events:PutEvents", bus)...)
		}
		return out
	case *sqs.GetQueueAttributesInput:
		return g("sqs:GetQueueAttributes", queueARN(a, deref(in.QueueUrl)))
	case *sqs.SendMessageInput:
		return g("sqs:SendMessage", queueARN(a, deref(in.QueueUrl)))
	}
	return g(prefix+":"+op, Unknown)
}

// queueARN is the ARN of the queue at a queue URL
// (https://sqs.<region>.amazonaws.com/<account>/<name>).
func queueARN(a arns, u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return Unknown
	}
	parts := strings.Split(strings.Trim(p.Path, "/"), "/")
	if len(parts) != 2 {
		return Unknown
	}
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", a.region, parts[0], parts[1])
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
