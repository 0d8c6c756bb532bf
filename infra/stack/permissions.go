package stack

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// permissions are the IAM statements of a function: its ledger actions on
// the table, and one group of statements per capability. Every statement
// has a Sid so that tests and reviewers can name it.
//
// A "*" resource appears only for actions that AWS authorizes on no
// resource type; each such statement says so where it is built.
func (s *Stack) permissions(function string, spec FunctionSpec) []awsiam.PolicyStatement {
	var out []awsiam.PolicyStatement
	add := func(sid string, actions []string, resources []*string, conditions map[string]interface{}) {
		props := &awsiam.PolicyStatementProps{
			Sid:       jsii.String(sid),
			Actions:   jsii.Strings(actions...),
			Resources: &resources,
		}
		if conditions != nil {
			props.Conditions = &conditions
		}
		out = append(out, awsiam.NewPolicyStatement(props))
	}
	str := func(v ...string) []*string { return *jsii.Strings(v...) }
	arn := func(service, resource string, sep awscdk.ArnFormat) *string {
		return s.Stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String(service), Resource: jsii.String(resource), ArnFormat: sep})
	}
	colon := awscdk.ArnFormat_COLON_RESOURCE_NAME
	slash := awscdk.ArnFormat_SLASH_RESOURCE_NAME

	table, index, _ := ledgerPermissions(spec.Ledger) // checked by checkSpecs
	if len(table) > 0 {
		add("Ledger", table, []*string{s.Table.TableArn()}, nil)
	}
	if len(index) > 0 {
		// ListDeployments of one environment reads the by_env index; only
		// the CLI lists every environment (by_app).
		add("LedgerIndexes", index, []*string{jsii.String(*s.Table.TableArn() + "/index/" + IndexByEnv)}, nil)
	}

	if spec.VPC {
		// Lambda creates and deletes the function's network interfaces with
		// the function's role. CreateNetworkInterface is limited to the
		// configured subnets and security group.
		resources := []*string{
			arn("ec2", "network-interface/*", slash),
			arn("ec2", "security-group/"+s.Config.VPC.SecurityGroupID, slash),
		}
		for _, id := range s.Config.VPC.SubnetIDs {
			resources = append(resources, arn("ec2", "subnet/"+id, slash))
		}
		add("VpcCreateInterfaces", []string{"ec2:CreateNetworkInterface"}, resources, nil)
		add("VpcManageInterfaces", []string{"ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"},
			[]*string{arn("ec2", "network-interface/*", slash)}, nil)
		// ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets have no
		// resource-level permissions: AWS requires "*".
		add("VpcDescribe", []string{"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}, str("*"), nil)
	}

	var noResourceLevel []string // actions AWS authorizes only on "*"
	for _, c := range spec.Capabilities {
		switch c {
		case ReadArtifacts:
			add("ReadArtifacts", []string{"s3:GetObject"},
				[]*string{s.Artifacts.ArnForObjects(jsii.String(s.Config.App + "/*"))}, nil)
			// ListBucket makes a missing release a 404 rather than a 403.
			add("ListArtifacts", []string{"s3:ListBucket"}, []*string{s.Artifacts.BucketArn()},
				map[string]interface{}{"StringLike": map[string]interface{}{"s3:prefix": s.Config.App + "/*"}})
		case DescribeInstances:
			noResourceLevel = append(noResourceLevel, "ssm:DescribeInstanceInformation")
		case RunCommands:
			add("SendCommandDocument", []string{"ssm:SendCommand"},
				[]*string{arn("ssm", "document/"+DocumentName(s.Config), slash)}, nil)
			for _, env := range s.Config.EnvironmentNames() {
				tags := map[string]interface{}{}
				for k, v := range s.Config.Environments[env].Tags {
					tags["ssm:resourceTag/"+k] = v
				}
				add("SendCommandInstances"+pascal(env), []string{"ssm:SendCommand"},
					[]*string{arn("ec2", "instance/*", slash)},
					map[string]interface{}{"StringEquals": tags})
			}
			noResourceLevel = append(noResourceLevel, "ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:ListCommands")
		case ReadDatabaseSecrets:
			var secrets, keys []*string
			for _, env := range s.Config.EnvironmentNames() {
				db := s.Config.Environments[env].Database
				secrets = append(secrets, jsii.String(secretResource(db.SecretARN)))
				if db.SecretKMSKeyARN != "" {
					keys = append(keys, jsii.String(db.SecretKMSKeyARN))
				}
			}
			// A function that resolves the configuration reads every
			// secret under <app>/ already (ResolveConfigSecrets): a
			// database secret there needs no statement of its own.
			if slices.Contains(spec.Capabilities, ResolveConfig) {
				secrets = slices.DeleteFunc(secrets, func(r *string) bool { return strings.Contains(*r, ":secret:"+s.Config.App+"/") })
			}
			if len(secrets) > 0 {
				add("ReadDatabaseSecrets", []string{"secretsmanager:GetSecretValue"}, secrets, nil)
			}
			if len(keys) > 0 {
				add("DecryptDatabaseSecrets", []string{"kms:Decrypt"}, keys, map[string]interface{}{
					"StringEquals": map[string]interface{}{"kms:ViaService": fmt.Sprintf("secretsmanager.%s.amazonaws.com", s.Config.Region)},
				})
			}
		case ReadSecretConfig:
			app := s.Config.App
			add("ReadSecretConfigParameters", []string{"ssm:GetParameter"}, []*string{arn("ssm", "parameter/"+app+"/*", slash)}, nil)
			add("ReadSecretConfigSecrets", []string{"secretsmanager:GetSecretValue"}, []*string{arn("secretsmanager", "secret:"+app+"/*", colon)}, nil)
		case ResolveConfig:
			app := s.Config.App
			add("ResolveConfigParameters", []string{"ssm:GetParameter"}, []*string{arn("ssm", "parameter/"+app+"/*", slash)}, nil)
			// A secret's ARN ends in a random suffix Secrets Manager adds:
			// the key is named with -*.
			add("ResolveConfigSecrets", []string{"secretsmanager:GetSecretValue"},
				[]*string{arn("secretsmanager", "secret:"+app+"/*", colon), arn("secretsmanager", "secret:slipway/"+app+"/config-key-*", colon)}, nil)
		case TakeSnapshots:
			for _, env := range s.Config.EnvironmentNames() {
				db := s.Config.Environments[env].Database
				prefix := fmt.Sprintf("slipway-%s-%s-*", s.Config.App, env)
				if db.Cluster() {
					cluster := arn("rds", "cluster:"+db.Identifier, colon)
					snaps := arn("rds", "cluster-snapshot:"+prefix, colon)
					add("CreateSnapshot"+pascal(env), []string{"rds:CreateDBClusterSnapshot"}, []*string{cluster, snaps}, nil)
					add("TagSnapshot"+pascal(env), []string{"rds:AddTagsToResource"}, []*string{snaps}, nil)
					add("DescribeSnapshot"+pascal(env), []string{"rds:DescribeDBClusterSnapshots"}, []*string{cluster, snaps}, nil)
					add("DeleteSnapshot"+pascal(env), []string{"rds:DeleteDBClusterSnapshot"}, []*string{snaps}, nil)
				} else {
					db := arn("rds", "db:"+db.Identifier, colon)
					snaps := arn("rds", "snapshot:"+prefix, colon)
					add("CreateSnapshot"+pascal(env), []string{"rds:CreateDBSnapshot"}, []*string{db, snaps}, nil)
					add("TagSnapshot"+pascal(env), []string{"rds:AddTagsToResource"}, []*string{snaps}, nil)
					add("DescribeSnapshot"+pascal(env), []string{"rds:DescribeDBSnapshots"}, []*string{db, snaps}, nil)
					add("DeleteSnapshot"+pascal(env), []string{"rds:DeleteDBSnapshot"}, []*string{snaps}, nil)
				}
			}
		case StartDeploys, StartRollbacks:
			name := "deploy"
			if c == StartRollbacks {
				name = "rollback"
			}
			add("Start"+pascal(name), []string{"states:StartExecution"}, []*string{jsii.String(StateMachineARN(s.Config, name))}, nil)
		case DescribeExecutions:
			var executions []*string
			for _, name := range []string{"deploy", "rollback"} {
				executions = append(executions, jsii.String(strings.Replace(StateMachineARN(s.Config, name), ":stateMachine:", ":execution:", 1)+":*"))
			}
			add("DescribeExecutions", []string{"states:DescribeExecution"}, executions, nil)
		case Notify:
			add("PublishNotifications", []string{"sns:Publish"}, []*string{s.Topic.TopicArn()}, nil)
			// The topic is encrypted with the stack's key: publishing needs
			// the data key, through SNS only.
			add("EncryptNotifications", []string{"kms:GenerateDataKey", "kms:Decrypt"}, []*string{s.TopicKey.KeyArn()}, map[string]interface{}{
				"StringEquals": map[string]interface{}{"kms:ViaService": fmt.Sprintf("sns.%s.amazonaws.com", s.Config.Region)},
			})
		case ReadAlarms:
			// DescribeAlarms can be limited to alarm ARNs, but then it
			// returns no composite alarms (CloudWatch requires "*" for
			// those), and the alarms a release's manifest names are not
			// known here.
			noResourceLevel = append(noResourceLevel, "cloudwatch:DescribeAlarms")
		case ReadMetrics:
			// CloudWatch metrics have no resource type.
			noResourceLevel = append(noResourceLevel, "cloudwatch:GetMetricData")
		case ReadTargetHealth:
			noResourceLevel = append(noResourceLevel, "elasticloadbalancing:DescribeTargetHealth")
		case ManageTargets:
			noResourceLevel = append(noResourceLevel, "elasticloadbalancing:DescribeTargetGroupAttributes")
			var groups []*string
			for _, env := range s.Config.EnvironmentNames() {
				for _, g := range s.Config.Environments[env].TargetGroups {
					groups = append(groups, jsii.String(g))
				}
			}
			if len(groups) > 0 {
				add("ManageTargets", []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"}, groups, nil)
			}
		case SwitchTraffic:
			var listeners, rules, groups []*string
			for _, env := range s.Config.EnvironmentNames() {
				bg := s.Config.Environments[env].BlueGreen
				if bg == nil {
					continue
				}
				if bg.IsRule() {
					rules = append(rules, jsii.String(bg.Listener))
				} else {
					listeners = append(listeners, jsii.String(bg.Listener))
				}
				groups = append(groups, jsii.String(bg.Blue.TargetGroup), jsii.String(bg.Green.TargetGroup))
			}
			// DescribeListeners and DescribeRules have no resource-level
			// permissions (the ELBv2 service authorization reference lists
			// no resource type for them): AWS requires "*".
			if len(listeners) > 0 {
				add("SwitchListeners", []string{"elasticloadbalancing:ModifyListener"}, listeners, nil)
				noResourceLevel = append(noResourceLevel, "elasticloadbalancing:DescribeListeners")
			}
			if len(rules) > 0 {
				add("SwitchRules", []string{"elasticloadbalancing:ModifyRule"}, rules, nil)
				noResourceLevel = append(noResourceLevel, "elasticloadbalancing:DescribeRules")
			}
			if len(groups) > 0 {
				// A side's instances are registered in its group before it
				// gets traffic; they are never deregistered from it.
				add("RegisterSideTargets", []string{"elasticloadbalancing:RegisterTargets"}, groups, nil)
				if !contains(spec.Capabilities, ReadTargetHealth) {
					noResourceLevel = append(noResourceLevel, "elasticloadbalancing:DescribeTargetHealth")
				}
			}
		case ReattachTargets:
			var groups []*string
			for _, env := range s.Config.EnvironmentNames() {
				for _, g := range s.Config.Environments[env].TargetGroups {
					groups = append(groups, jsii.String(g))
				}
			}
			if len(groups) > 0 {
				add("ReattachTargets", []string{"elasticloadbalancing:RegisterTargets"}, groups, nil)
			}
		case ReadListenerWeights, ReadSideListenerWeights:
			for _, env := range s.Config.EnvironmentNames() {
				bg := s.Config.Environments[env].BlueGreen
				if bg == nil || (c == ReadSideListenerWeights && !s.Config.Environments[env].SideGroups()) {
					continue
				}
				// No resource-level permissions (see SwitchTraffic).
				what := "elasticloadbalancing:DescribeListeners"
				if bg.IsRule() {
					what = "elasticloadbalancing:DescribeRules"
				}
				if !slices.Contains(noResourceLevel, what) {
					noResourceLevel = append(noResourceLevel, what)
				}
			}
		case ReadWebhookSecret:
			// By name: Secrets Manager ends the secret's ARN with "-" and
			// six random characters.
			add("ReadWebhookSecret", []string{"secretsmanager:GetSecretValue"},
				[]*string{arn("secretsmanager", "secret:"+WebhookSecretName(s.Config)+"-??????", colon)}, nil)
		case PutPushEvents:
			add("PutPushEvents", []string{"events:PutEvents"}, []*string{arn("events", "event-bus/default", slash)}, nil)
		case CompleteLifecycleActions:
			// A group's ARN carries an id Auto Scaling gives it: the
			// statement names the group by its name, any id.
			var groups []*string
			for _, env := range s.Config.EnvironmentNames() {
				for _, g := range s.Config.Environments[env].LaunchGroups() {
					groups = append(groups, arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/"+g, colon))
				}
			}
			if len(groups) > 0 {
				add("CompleteLifecycleActions", []string{"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"}, groups, nil)
			}
		}
	}
	if len(noResourceLevel) > 0 {
		// ssm:DescribeInstanceInformation, ssm:ListCommands,
		// ssm:ListCommandInvocations and ssm:GetCommandInvocation have no
		// resource-level permissions: AWS requires "*".
		// cloudwatch:DescribeAlarms: see ReadAlarms above;
		// cloudwatch:GetMetricData: metrics have no resource type.
		// elasticloadbalancing:DescribeTargetHealth and
		// DescribeTargetGroupAttributes have no resource-level
		// permissions either.
		sort.Strings(noResourceLevel)
		add("NoResourceLevel", noResourceLevel, str("*"), nil)
	}
	return out
}
