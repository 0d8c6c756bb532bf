package stack

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Suppression is one cdk-nag finding the stack accepts, and why.
type Suppression struct {
	// Path is the construct's path below the stack (e.g. "DeployRole").
	Path string
	// Rule is the cdk-nag rule id.
	Rule string
	// AppliesTo is the finding's resource ("Resource::*"), or a regular
	// expression between slashes; empty for a rule about the resource as a
	// whole.
	AppliesTo string
	// Reason says in words why the finding is accepted.
	Reason string
}

// Suppressions lists every cdk-nag finding the stack accepts. All but two
// are AwsSolutions-IAM5 (wildcard resources): each is a resource whose
// name is known only at run time, or an action that AWS authorizes only on
// "*". The others are the dead-letter queue's own dead-letter queue and
// the configuration key's rotation.
func (s *Stack) Suppressions() []Suppression {
	var out []Suppression
	region, account := s.Config.Region, s.Config.Account
	ec2 := func(resource string) string {
		return fmt.Sprintf("Resource::arn:<AWS::Partition>:ec2:%s:%s:%s", region, account, resource)
	}
	artifacts := "/^Resource::<Artifacts[0-9A-F]{8}\\.Arn>\\/" + regexp.QuoteMeta(s.Config.App) + "\\/\\*$/"
	const xray = "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing, added by the CDK)"
	for _, f := range s.Repo.Functions {
		spec := Specs[f]
		role := pascal(f) + "Role"
		star := []string{xray}
		if spec.VPC {
			star = append(star, "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets (the function's VPC network interfaces)")
		}
		for _, c := range spec.Capabilities {
			switch c {
			case DescribeInstances:
				star = append(star, "ssm:DescribeInstanceInformation")
			case RunCommands:
				star = append(star, "ssm:ListCommands, ssm:ListCommandInvocations and ssm:GetCommandInvocation")
			case ReadAlarms:
				star = append(star, "cloudwatch:DescribeAlarms (CloudWatch returns composite alarms only to a \"*\" grant, and the manifest's alarms are not known at synth)")
			case ReadMetrics:
				star = append(star, "cloudwatch:GetMetricData (CloudWatch metrics have no resource type)")
			}
		}
		out = append(out, Suppression{role, "AwsSolutions-IAM5", "Resource::*",
			"Resource * only for actions AWS authorizes on no resource type: " + strings.Join(star, "; ") + "."})
		if spec.VPC {
			out = append(out, Suppression{role, "AwsSolutions-IAM5", ec2("network-interface/*"),
				"Lambda creates and deletes the function's VPC network interfaces with its role; their ids are not known in advance. ec2:CreateNetworkInterface is also limited to the configured subnets and security group."})
		}
		for _, c := range spec.Capabilities {
			switch c {
			case ReadArtifacts:
				out = append(out, Suppression{role, "AwsSolutions-IAM5", artifacts,
					"Release bundles of this app only (<app>/<version>.tar.gz in the artifact bucket); the versions are not known in advance."})
			case DescribeExecutions:
				for _, name := range []string{"deploy", "rollback"} {
					out = append(out, Suppression{role, "AwsSolutions-IAM5",
						fmt.Sprintf("Resource::arn:aws:states:%s:%s:execution:%s:*", region, account, StateMachineName(s.Config, name)),
						"states:DescribeExecution of this stack's " + name + " state machine's executions only: the execution that holds a lease is known only at run time."})
				}
			case RunCommands:
				out = append(out, Suppression{role, "AwsSolutions-IAM5", ec2("instance/*"),
					"ssm:SendCommand reaches only instances carrying all of an environment's tags (StringEquals on ssm:resourceTag); the instances change with the fleet, so they cannot be listed."})
			case CompleteLifecycleActions:
				for _, env := range s.Config.EnvironmentNames() {
					for _, g := range s.Config.Environments[env].LaunchGroups() {
						out = append(out, Suppression{role, "AwsSolutions-IAM5",
							fmt.Sprintf("Resource::arn:<AWS::Partition>:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/%s", region, account, g),
							"Lifecycle actions of " + env + "'s Auto Scaling group " + g + " only: a group's ARN carries an id Auto Scaling assigns, so the group is named by its name, any id."})
					}
				}
			case ReadSecretConfig, ResolveConfig:
				app := s.Config.App
				why := "Preflight resolves the release's configuration references to check and fingerprint them"
				if c == ReadSecretConfig {
					why = "The health function reads the release's secret configuration values to redact them from what the smoke checks record"
				}
				out = append(out, Suppression{role, "AwsSolutions-IAM5", fmt.Sprintf("Resource::arn:<AWS::Partition>:ssm:%s:%s:parameter/%s/*", region, account, app),
					why + "; they are named in each release's manifest, not known to the stack, and kept to the app's own /<app>/ path."})
				out = append(out, Suppression{role, "AwsSolutions-IAM5", fmt.Sprintf("Resource::arn:<AWS::Partition>:secretsmanager:%s:%s:secret:%s/*", region, account, app),
					why + "; the secrets are named in each release's manifest, not known to the stack, and kept to the app's own <app>/ prefix."})
				if c == ResolveConfig {
					out = append(out, Suppression{role, "AwsSolutions-IAM5", fmt.Sprintf("Resource::arn:<AWS::Partition>:secretsmanager:%s:%s:secret:slipway/%s/config-key-*", region, account, app),
						"The fingerprint key's secret: Secrets Manager adds a random suffix to a secret's ARN, so one secret is named with -*."})
				}
			case TakeSnapshots:
				for _, env := range s.Config.EnvironmentNames() {
					kind := "snapshot"
					if s.Config.Environments[env].Database.Cluster() {
						kind = "cluster-snapshot"
					}
					out = append(out, Suppression{role, "AwsSolutions-IAM5",
						fmt.Sprintf("Resource::arn:<AWS::Partition>:rds:%s:%s:%s:slipway-%s-%s-*", region, account, kind, s.Config.App, env),
						"Snapshots Slipway takes of " + env + "'s database are named slipway-<app>-<env>-<deployment>; the deployment id is known only at run time."})
				}
			}
		}
	}
	for _, name := range sortedKeys(s.Repo.Definitions) {
		out = append(out, Suppression{pascal(name) + "StateMachine/Role", "AwsSolutions-IAM5", "Resource::*",
			"Added by the CDK for logging ALL and tracing: the CloudWatch Logs delivery actions (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets support no resource-level permissions."})
	}
	if s.GitHubActionsRole != nil {
		out = append(out, Suppression{"GitHubActionsRole", "AwsSolutions-IAM5", artifacts,
			"GitHub Actions publishes this app's release bundles only (<app>/<version>.tar.gz); the versions are the commits, not known in advance."})
	}
	if s.GitHubPullRequestRole != nil {
		out = append(out, Suppression{"GitHubPullRequestRole", "AwsSolutions-IAM5", artifacts,
			"Pull request workflows read this app's release bundles only (the base commit's, to compare); the versions are the commits, not known in advance."})
		out = append(out, Suppression{"GitHubPullRequestRole", "AwsSolutions-IAM5", "/^Resource::<Artifacts[0-9A-F]{8}\\.Arn>\\/" + regexp.QuoteMeta(s.Config.App) + "\\/" + regexp.QuoteMeta(PullRequestPrefix) + "\\*$/",
			"Pull request workflows publish their builds under pr- versions of this app only; the pull request numbers and commits are not known in advance."})
	}
	if s.WebhookSecret != nil {
		out = append(out, Suppression{"GitHubWebhookSecret", "AwsSolutions-SMG4", "",
			"GitHub keeps its own copy of the webhook secret: a rotation Lambda would need a GitHub admin token to update the webhook at the same moment, or deliveries fail; rotate by hand (docs/aws.md, From GitHub)."})
	}
	out = append(out, Suppression{"DeadLetters", "AwsSolutions-SQS3", "",
		"This queue is the dead-letter queue of the rules' targets and of the trigger functions' failed events (cdk-nag sees only queues that name it in a redrive policy); its messages are read by people, not consumed, so it needs no dead-letter queue of its own."})
	out = append(out, Suppression{"InstancePolicy", "AwsSolutions-IAM5", "Resource::" + commandLogGroupsARN(s.Config),
		"The SSM agent looks its output log group up with logs:DescribeLogGroups, which authorizes on the account's log groups, not on one group."})
	out = append(out, Suppression{"InstancePolicy", "AwsSolutions-IAM5", artifacts,
		"The app's instances download the release bundles of this app only (<app>/<version>.tar.gz); the versions are not known in advance."})
	regional := func(service, resource string) string {
		return fmt.Sprintf("Resource::arn:aws:%s:%s:%s:%s", service, s.Config.Region, s.Config.Account, resource)
	}
	app := s.Config.App
	out = append(out, Suppression{"InstancePolicy", "AwsSolutions-IAM5", regional("ssm", "parameter/"+app+"/*"),
		"The host resolves the app's configuration references at activation; they are named in each release's manifest, not known to the stack, and kept to the app's own /<app>/ path."})
	out = append(out, Suppression{"InstancePolicy", "AwsSolutions-IAM5", regional("secretsmanager", "secret:"+app+"/*"),
		"The host resolves the app's secret references at activation; they are named in each release's manifest, not known to the stack, and kept to the app's own <app>/ prefix."})
	out = append(out, Suppression{"InstancePolicy", "AwsSolutions-IAM5", regional("secretsmanager", "secret:slipway/"+app+"/config-key-*"),
		"The fingerprint key's secret: Secrets Manager adds a random suffix to a secret's ARN, so one secret is named with -*."})
	out = append(out, Suppression{"ConfigKey", "AwsSolutions-SMG4", "",
		"The configuration fingerprint key must not rotate: a new key changes every recorded fingerprint, and hosts refuse to activate a release whose configuration print no longer matches the one Preflight recorded."})
	return out
}

// suppressions applies Suppressions, and acknowledges the CDK warnings
// that do not apply.
func (s *Stack) suppressions() {
	for _, sup := range s.Suppressions() {
		var applies interface{} = jsii.String(sup.AppliesTo)
		if strings.HasPrefix(sup.AppliesTo, "/") {
			applies = &cdknag.RegexAppliesTo{Regex: jsii.String(sup.AppliesTo)}
		}
		c := s.Stack.Node().FindChild(jsii.String(strings.Split(sup.Path, "/")[0]))
		for _, part := range strings.Split(sup.Path, "/")[1:] {
			c = c.Node().FindChild(jsii.String(part))
		}
		nag := &cdknag.NagPackSuppression{Id: jsii.String(sup.Rule), Reason: jsii.String(sup.Reason)}
		if sup.AppliesTo != "" {
			nag.AppliesTo = &[]interface{}{applies}
		}
		cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{nag}, jsii.Bool(true))
	}
	for _, subnet := range s.subnets {
		awscdk.Annotations_Of(subnet).AcknowledgeWarning(jsii.String("@aws-cdk/aws-ec2:noSubnetRouteTableId"),
			jsii.String("The stack never reads the imported subnets' route tables: the functions only run in them."))
	}
}
