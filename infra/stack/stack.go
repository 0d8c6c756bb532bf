// Package stack defines the AWS CloudFormation stack that runs Slipway: the
// functions, the deploy and rollback state machines, the ledger table, the
// artifact bucket, the SSM document that runs the host script, the
// EventBridge rules that start deployments and rollbacks, and the
// notification topic. Everything is built from the repository's own files
// (functions/, statemachine/, scripts/) and a configuration (Config).
//
// It is not the deployment tool: the CDK CLI (or `make synth`) synthesizes
// and deploys it. Nothing in it calls AWS at synth time.
package stack

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Ledger table design: internal/ledger/dynamo.go in the root module defines
// it (its exported Dynamo* constants); these are their values, and a test
// reads dynamo.go to check they still agree.
const (
	TablePartitionKey  = "pk"
	TableSortKey       = "sk"
	IndexByEnv         = "by_env"
	IndexByEnvPartKey  = "gsi1pk"
	IndexByEnvSortKey  = "gsi1sk"
	IndexByApp         = "by_app"
	IndexByAppPartKey  = "gsi2pk"
	IndexByAppSortKey  = "gsi2sk"
	TableTTLAttribute  = "ttl"
	artifactNoncurrent = 30 // days a replaced or deleted artifact version is kept
	accessLogDays      = 90 // days access logs are kept
)

// Stack is the Slipway stack and the constructs its tests look at.
type Stack struct {
	Stack          awscdk.Stack
	Config         *Config
	Repo           *Repo
	Table          awsdynamodb.Table
	Artifacts      awss3.Bucket
	AccessLogs     awss3.Bucket
	Topic          awssns.Topic
	DeadLetters    awssqs.Queue
	TopicKey       awskms.Key
	CommandLogs    awslogs.LogGroup
	Document       awsssm.CfnDocument
	Functions      map[string]awslambda.Function
	Roles          map[string]awsiam.Role
	StateMachines  map[string]awsstepfunctions.StateMachine
	InstancePolicy awsiam.ManagedPolicy
	// Resolvers are the hosts' configuration resolver, an asset per
	// instance architecture (ResolverArches).
	Resolvers map[string]awss3assets.Asset
	// WebhookSecret and WebhookURL let GitHub reach the github-webhook
	// function (webhook).
	WebhookSecret awssecretsmanager.Secret
	WebhookURL    awslambda.FunctionUrl
	// GitHubActionsRole is the role of github_actions, when configured.
	GitHubActionsRole awsiam.Role
	// GitHubPullRequestRole is the pull_request workflows' role, when
	// github_actions.pull_requests is set.
	GitHubPullRequestRole awsiam.Role
	subnets               []awsec2.ISubnet
}

// Name is the stack's name, and the prefix of named resources.
func Name(cfg *Config) string { return "slipway-" + cfg.App }

// DocumentName is the SSM document's name.
func DocumentName(cfg *Config) string { return Name(cfg) + "-host" }

// StateMachineName is the name of the state machine of a definition.
func StateMachineName(cfg *Config, definition string) string { return Name(cfg) + "-" + definition }

// StateMachineARN is the ARN of the state machine of a definition. Names
// are fixed, so the ARN is known at synth time and event patterns can hold
// it literally.
func StateMachineARN(cfg *Config, definition string) string {
	return fmt.Sprintf("arn:%s:states:%s:%s:stateMachine:%s", cfg.Partition(), cfg.Region, cfg.Account, StateMachineName(cfg, definition))
}

// New adds the Slipway stack for cfg to scope (an App). It fails, before
// anything is created, when the repository and the specs disagree.
func New(scope constructs.Construct, cfg *Config, repo *Repo) (*Stack, error) {
	if err := checkSpecs(repo); err != nil {
		return nil, err
	}
	for _, name := range []string{"deploy", "rollback"} {
		if repo.Definitions[name] == nil {
			return nil, fmt.Errorf("statemachine/%s.asl.json is missing: the stack runs the deploy and rollback state machines", name)
		}
	}
	slipwayConfig, err := cfg.SlipwayConfig()
	if err != nil {
		return nil, err
	}
	// Lambda allows 4 KB of environment in all; leave room for the rest.
	if len(slipwayConfig) > 3000 {
		return nil, fmt.Errorf("SLIPWAY_CONFIG would be %d bytes, over the 3000 this stack allows (Lambda's environment is 4 KB in all): fewer environments, tags or alarms", len(slipwayConfig))
	}
	if err := checkHostScript(repo.HostScript); err != nil {
		return nil, err
	}

	s := &Stack{
		Stack: awscdk.NewStack(scope, jsii.String(Name(cfg)), &awscdk.StackProps{
			Env:         &awscdk.Environment{Account: jsii.String(cfg.Account), Region: jsii.String(cfg.Region)},
			Description: jsii.String(fmt.Sprintf("Slipway for %s: deploys to EC2 and RDS through Step Functions (no servers of its own)", cfg.App)),
		}),
		Config: cfg, Repo: repo,
		Functions:     map[string]awslambda.Function{},
		Roles:         map[string]awsiam.Role{},
		StateMachines: map[string]awsstepfunctions.StateMachine{},
	}
	// Deliver S3 access logs under a bucket policy, not the
	// LogDeliveryWrite ACL (ACLs stay disabled on both buckets). Set here
	// rather than in cdk.json so that every way of synthesizing agrees.
	s.Stack.Node().SetContext(jsii.String("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"), true)
	awscdk.Tags_Of(s.Stack).Add(jsii.String("slipway:app"), jsii.String(cfg.App), nil)

	s.storage()
	s.notifications()
	s.deadLetters()
	s.document()
	if err := s.functions(string(slipwayConfig)); err != nil {
		return nil, err
	}
	s.webhook()
	s.githubActions()
	s.stateMachines()
	s.dashboard()
	s.rules()
	s.instancePolicy()
	s.configKey()
	s.outputs()
	s.suppressions()
	return s, nil
}

func (s *Stack) retention() awslogs.RetentionDays {
	return retentionDays[s.Config.LogRetentionDays]
}

// retentionDays maps the retentions CloudWatch Logs accepts (logRetentions)
// to the CDK's names for them.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// storage is the ledger table and the artifact bucket with its access logs.
func (s *Stack) storage() {
	s.Table = awsdynamodb.NewTable(s.Stack, jsii.String("Ledger"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(TablePartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(TableSortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		// Encrypted with the AWS managed key (aws/dynamodb): no key to pay for.
		Encryption: awsdynamodb.TableEncryption_AWS_MANAGED,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		TimeToLiveAttribute: jsii.String(TableTTLAttribute),
		DeletionProtection:  jsii.Bool(true),
		RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
	})
	for _, gsi := range [][3]string{
		{IndexByEnv, IndexByEnvPartKey, IndexByEnvSortKey},
		{IndexByApp, IndexByAppPartKey, IndexByAppSortKey},
	} {
		s.Table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(gsi[0]),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(gsi[1]), Type: awsdynamodb.AttributeType_STRING},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(gsi[2]), Type: awsdynamodb.AttributeType_STRING},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}

	s.AccessLogs = awss3.NewBucket(s.Stack, jsii.String("AccessLogs"), &awss3.BucketProps{
		// Server access logs can only be delivered to an SSE-S3 bucket.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(accessLogDays)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	rule := &awss3.LifecycleRule{
		Id:                                  jsii.String("old-artifacts"),
		NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(artifactNoncurrent)),
		AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
	}
	if d := *s.Config.ArtifactRetentionDays; d > 0 {
		rule.Expiration = awscdk.Duration_Days(jsii.Number(float64(d)))
	}
	s.Artifacts = awss3.NewBucket(s.Stack, jsii.String("Artifacts"), &awss3.BucketProps{
		Versioned:              jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		MinimumTLSVersion:      jsii.Number(1.2),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: s.AccessLogs,
		ServerAccessLogsPrefix: jsii.String("artifacts/"),
		LifecycleRules:         &[]*awss3.LifecycleRule{rule},
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
	})
}

// notifications is the SNS topic that execution status changes go to,
// encrypted with a customer managed key: EventBridge can publish to an
// encrypted topic only if the key's policy lets it use the key, and the AWS
// managed aws/sns key's policy cannot be changed.
func (s *Stack) notifications() {
	// A key policy's Resource is always "*": it means this key. The account
	// gets the key's administration, action by action (no kms:*), so IAM
	// policies in the account can manage it; EventBridge gets what SNS needs
	// to encrypt the messages it publishes.
	policy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("AccountAdministersKey"),
				Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
				Actions: jsii.Strings(
					"kms:CancelKeyDeletion", "kms:CreateGrant", "kms:DescribeKey", "kms:DisableKey",
					"kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
					"kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListResourceTags",
					"kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant", "kms:ScheduleKeyDeletion",
					"kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
					"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo",
				),
				Resources: jsii.Strings("*"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("EventBridgePublishesToTopic"),
				Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
				Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
				Resources:  jsii.Strings("*"),
			}),
			// The dead-letter alarm publishes to the topic too.
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("CloudWatchPublishesToTopic"),
				Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
				Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
				Resources:  jsii.Strings("*"),
			}),
		},
	})
	key := awskms.NewKey(s.Stack, jsii.String("NotificationKey"), &awskms.KeyProps{
		Description:       jsii.String(fmt.Sprintf("Slipway %s: encrypts the notification topic", s.Config.App)),
		EnableKeyRotation: jsii.Bool(true),
		Policy:            policy,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	s.TopicKey = key
	s.Topic = awssns.NewTopic(s.Stack, jsii.String("Notifications"), &awssns.TopicProps{
		TopicName:   jsii.String(Name(s.Config) + "-notifications"),
		DisplayName: jsii.String("Slipway " + s.Config.App),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	for _, email := range s.Config.NotificationEmails {
		s.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
}

// functions creates one Lambda per directory under functions/, each with
// its own role, log group and only the permissions its spec names.
func (s *Stack) functions(slipwayConfig string) error {
	var vpc awsec2.IVpc
	var subnets []awsec2.ISubnet
	var sg awsec2.ISecurityGroup
	needVPC := false
	for _, f := range s.Repo.Functions {
		needVPC = needVPC || Specs[f].VPC
	}
	if needVPC {
		// The functions name their subnets and security group; the VPC
		// object only carries the id (a function's VpcConfig has no AZs).
		// The CDK wants at least one availability zone: any name will do.
		vpc = awsec2.Vpc_FromVpcAttributes(s.Stack, jsii.String("AppVpc"), &awsec2.VpcAttributes{
			VpcId:             jsii.String(s.Config.VPC.ID),
			AvailabilityZones: jsii.Strings(s.Config.Region + "a"),
		})
		for i, id := range s.Config.VPC.SubnetIDs {
			subnets = append(subnets, awsec2.Subnet_FromSubnetId(s.Stack, jsii.String("AppSubnet"+strconv.Itoa(i)), jsii.String(id)))
		}
		s.subnets = subnets
		sg = awsec2.SecurityGroup_FromSecurityGroupId(s.Stack, jsii.String("FunctionSecurityGroup"), jsii.String(s.Config.VPC.SecurityGroupID),
			&awsec2.SecurityGroupImportOptions{Mutable: jsii.Bool(false)})
	}
	// Run Command's API returns the first 2,500 characters of a command's
	// output; the instances send all of it here (SendCommand's
	// CloudWatchOutputConfig), where `slipway logs` points.
	s.CommandLogs = awslogs.NewLogGroup(s.Stack, jsii.String("CommandLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/slipway/" + s.Config.App + "/commands"),
		Retention:     s.retention(),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	env := map[string]*string{
		"SLIPWAY_OUTPUT_LOG_GROUP": s.CommandLogs.LogGroupName(),
		"SLIPWAY_CONFIG":           jsii.String(slipwayConfig),
		"SLIPWAY_TABLE":            s.Table.TableName(),
		"SLIPWAY_ARTIFACT_BUCKET":  s.Artifacts.BucketName(),
		"SLIPWAY_SSM_DOCUMENT":     jsii.String(DocumentName(s.Config)),
		"SLIPWAY_HEALTH_PORT":      jsii.String(strconv.Itoa(s.Config.HealthPort)),
		"SLIPWAY_COMMAND_TIMEOUT":  jsii.String(strconv.Itoa(s.Config.CommandTimeoutSeconds)),
		// Literal ARNs (the names are fixed): a reference would make the
		// state machines, which reference the functions, a cycle.
		"SLIPWAY_TOPIC_ARN":              s.Topic.TopicArn(),
		"SLIPWAY_DEPLOY_STATE_MACHINE":   jsii.String(StateMachineARN(s.Config, "deploy")),
		"SLIPWAY_ROLLBACK_STATE_MACHINE": jsii.String(StateMachineARN(s.Config, "rollback")),
	}
	for _, f := range s.Repo.Functions {
		spec := Specs[f]
		id := pascal(f)
		name := Name(s.Config) + "-" + f
		logGroup := awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
			LogGroupName:  jsii.String("/aws/lambda/" + name),
			Retention:     s.retention(),
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		// An explicit role: without one, CDK would attach the AWS managed
		// AWSLambdaBasicExecutionRole (logs on every log group).
		role := awsiam.NewRole(s.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("Slipway " + f + " function"),
		})
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("WriteLogs"),
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: &[]*string{logGroup.LogGroupArn()},
		}))
		for _, st := range s.permissions(f, spec) {
			role.AddToPrincipalPolicy(st)
		}
		props := &awslambda.FunctionProps{
			FunctionName: jsii.String(name),
			Description:  jsii.String(spec.Description),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(s.Repo.Dist, f)), nil),
			Timeout:      awscdk.Duration_Seconds(jsii.Number(float64(spec.TimeoutSeconds))),
			MemorySize:   jsii.Number(float64(spec.MemoryMB)),
			Environment:  &env,
			LogGroup:     logGroup,
			Tracing:      awslambda.Tracing_ACTIVE,
			Role:         role,
		}
		if spec.Trigger {
			// EventBridge invokes it asynchronously: an event it fails on
			// goes to the dead-letter queue after Lambda's retries.
			props.OnFailure = &failureQueue{queue: s.DeadLetters}
			props.RetryAttempts = jsii.Number(asyncRetries)
			props.MaxEventAge = awscdk.Duration_Hours(jsii.Number(asyncEventHour))
		}
		if spec.VPC {
			props.Vpc = vpc
			props.VpcSubnets = &awsec2.SubnetSelection{Subnets: &subnets}
			props.SecurityGroups = &[]awsec2.ISecurityGroup{sg}
		}
		fn := awslambda.NewFunction(s.Stack, jsii.String(id+"Function"), props)
		s.Functions[f] = fn
		s.Roles[f] = role
	}
	return nil
}

// stateMachines creates one state machine per definition, from the file,
// with every placeholder substituted by its function's ARN.
func (s *Stack) stateMachines() {
	for _, name := range sortedKeys(s.Repo.Definitions) {
		d := s.Repo.Definitions[name]
		subs := map[string]*string{}
		var arns []*string
		for _, f := range d.Functions {
			subs[PlaceholderFor(f)] = s.Functions[f].FunctionArn()
			arns = append(arns, s.Functions[f].FunctionArn())
		}
		logGroup := awslogs.NewLogGroup(s.Stack, jsii.String(pascal(name)+"StateMachineLogs"), &awslogs.LogGroupProps{
			// /aws/vendedlogs/ keeps the account's log resource policy small.
			LogGroupName:  jsii.String("/aws/vendedlogs/states/" + StateMachineName(s.Config, name)),
			Retention:     s.retention(),
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		sm := awsstepfunctions.NewStateMachine(s.Stack, jsii.String(pascal(name)+"StateMachine"), &awsstepfunctions.StateMachineProps{
			StateMachineName:        jsii.String(StateMachineName(s.Config, name)),
			DefinitionBody:          awsstepfunctions.DefinitionBody_FromFile(jsii.String(d.Path), nil),
			DefinitionSubstitutions: &subs,
			Logs: &awsstepfunctions.LogOptions{
				Destination:          logGroup,
				Level:                awsstepfunctions.LogLevel_ALL,
				IncludeExecutionData: jsii.Bool(true),
			},
			TracingEnabled: jsii.Bool(true),
		})
		// The state machine may invoke its own functions, unqualified, and
		// nothing else.
		sm.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("InvokeOwnFunctions"),
			Actions:   jsii.Strings("lambda:InvokeFunction"),
			Resources: &arns,
		}))
		s.StateMachines[name] = sm
	}
}

// configKey is the app's configuration fingerprint key,
// slipway/<app>/config-key: a random string Secrets Manager generates at
// the first deployment of the stack. Preflight and the hosts fingerprint
// the resolved configuration with it (HMAC-SHA256), so that a print can be
// recorded and compared without telling anything of the value. It is kept
// when the stack is deleted and never rotated: a new key changes every
// fingerprint, and a host would refuse (exit 10) to activate a release
// with values whose print no longer matches the recorded one.
func (s *Stack) configKey() {
	awssecretsmanager.NewSecret(s.Stack, jsii.String("ConfigKey"), &awssecretsmanager.SecretProps{
		SecretName:  jsii.String("slipway/" + s.Config.App + "/config-key"),
		Description: jsii.String("Slipway " + s.Config.App + ": the key of the configuration fingerprints (HMAC-SHA256); never rotate it"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
			IncludeSpace:       jsii.Bool(false),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// instancePolicy is what the app's instances need from Slipway: read the
// release bundles (the document's download step runs with the instance's
// role; it lists the key before it downloads it), read the configuration
// resolver, and resolve the app's configuration: SSM parameters under
// /<app>/, secrets under <app>/ and the fingerprint key
// slipway/<app>/config-key. References elsewhere need the role to allow
// them too (docs/aws.md).
func (s *Stack) instancePolicy() {
	var resolvers []*string
	for _, arch := range ResolverArches {
		a := s.Resolvers[arch]
		resolvers = append(resolvers, a.Bucket().ArnForObjects(a.S3ObjectKey()))
	}
	arn := func(service, resource string) *string {
		return jsii.String(fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, s.Config.Region, s.Config.Account, resource))
	}
	app := s.Config.App
	props := &awsiam.ManagedPolicyProps{
		ManagedPolicyName: jsii.String(Name(s.Config) + "-instance"),
		Description:       jsii.String("Slipway " + s.Config.App + ": lets the app's instances download release bundles; attach it to their role"),
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("DownloadReleases"),
				Actions:   jsii.Strings("s3:GetObject"),
				Resources: jsii.Strings(*s.Artifacts.ArnForObjects(jsii.String(s.Config.App + "/*"))),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("ListReleases"),
				Actions:    jsii.Strings("s3:ListBucket"),
				Resources:  &[]*string{s.Artifacts.BucketArn()},
				Conditions: &map[string]interface{}{"StringLike": map[string]interface{}{"s3:prefix": s.Config.App + "/*"}},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("DownloadConfigResolver"),
				Actions:   jsii.Strings("s3:GetObject"),
				Resources: &resolvers,
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ResolveConfigParameters"),
				Actions:   jsii.Strings("ssm:GetParameter"),
				Resources: &[]*string{arn("ssm", "parameter/"+app+"/*")},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ResolveConfigSecrets"),
				Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
				Resources: &[]*string{arn("secretsmanager", "secret:"+app+"/*"), arn("secretsmanager", "secret:slipway/"+app+"/config-key-*")},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("WriteCommandOutput"),
				Actions:   jsii.Strings("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
				Resources: &[]*string{s.CommandLogs.LogGroupArn()},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("FindCommandOutputGroup"),
				Actions:   jsii.Strings("logs:DescribeLogGroups"),
				Resources: jsii.Strings(commandLogGroupsARN(s.Config)),
			}),
		},
	}
	if s.Config.InstanceRoleName != "" {
		props.Roles = &[]awsiam.IRole{awsiam.Role_FromRoleName(s.Stack, jsii.String("InstanceRole"), jsii.String(s.Config.InstanceRoleName), nil)}
	}
	p := awsiam.NewManagedPolicy(s.Stack, jsii.String("InstancePolicy"), props)
	s.InstancePolicy = p
	awscdk.NewCfnOutput(s.Stack, jsii.String("InstancePolicyArn"), &awscdk.CfnOutputProps{
		Value:       p.ManagedPolicyArn(),
		Description: jsii.String("Attach to the IAM role of the app's instances (with AmazonSSMManagedInstanceCore)"),
	})
}

// commandLogGroupsARN is what DescribeLogGroups authorizes on: the SSM
// agent calls it to find the output group before it writes.
func commandLogGroupsARN(cfg *Config) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:*", cfg.Region, cfg.Account)
}

// WebhookSecretName is the Secrets Manager secret holding the GitHub
// webhook secret (internal/github.SecretName: the function reads it by
// this name).
func WebhookSecretName(cfg *Config) string { return "slipway/" + cfg.App + "/github-webhook" }

// webhook is what GitHub needs to reach the github-webhook function: the
// secret it signs deliveries with (generated; paste it into the webhook's
// settings) and the function's URL. The URL takes no IAM auth: GitHub
// cannot sign a request with SigV4, and the function verifies each
// delivery's HMAC signature before it reads anything else of it.
func (s *Stack) webhook() {
	fn, ok := s.Functions["github-webhook"]
	if !ok {
		return
	}
	s.WebhookSecret = awssecretsmanager.NewSecret(s.Stack, jsii.String("GitHubWebhookSecret"), &awssecretsmanager.SecretProps{
		SecretName:  jsii.String(WebhookSecretName(s.Config)),
		Description: jsii.String("Slipway " + s.Config.App + ": the secret GitHub signs webhook deliveries with (X-Hub-Signature-256)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: jsii.Number(40), ExcludePunctuation: jsii.Bool(true),
		},
	})
	s.WebhookURL = fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_NONE})
}

// GitHubOIDCHost is GitHub Actions' OIDC token issuer.
const GitHubOIDCHost = "token.actions.githubusercontent.com"

// githubActions is the role a GitHub Actions workflow of the configured
// repository and branch assumes with its OIDC token: it may publish the
// app's releases (read and write <app>/* in the artifact bucket, list
// that prefix) and put slipway.git events on the default bus, nothing
// else.
func (s *Stack) githubActions() {
	gh := s.Config.GitHubActions
	if gh == nil {
		return
	}
	provider := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", s.Config.Account, GitHubOIDCHost)
	if gh.CreateOIDCProvider {
		p := awsiam.NewCfnOIDCProvider(s.Stack, jsii.String("GitHubOIDCProvider"), &awsiam.CfnOIDCProviderProps{
			Url:          jsii.String("https://" + GitHubOIDCHost),
			ClientIdList: jsii.Strings("sts.amazonaws.com"),
		})
		provider = *p.AttrArn()
	}
	s.GitHubActionsRole = awsiam.NewRole(s.Stack, jsii.String("GitHubActionsRole"), &awsiam.RoleProps{
		Description: jsii.String(fmt.Sprintf("Slipway %s: GitHub Actions of %s on %s publish releases and send push events", s.Config.App, gh.Repository, gh.Branch)),
		AssumedBy: awsiam.NewWebIdentityPrincipal(jsii.String(provider), &map[string]interface{}{
			"StringEquals": map[string]interface{}{
				GitHubOIDCHost + ":aud": "sts.amazonaws.com",
				GitHubOIDCHost + ":sub": fmt.Sprintf("repo:%s:ref:refs/heads/%s", gh.Repository, gh.Branch),
			},
		}),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	role := s.GitHubActionsRole
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PublishReleases"),
		Actions:   jsii.Strings("s3:GetObject", "s3:PutObject"),
		Resources: &[]*string{s.Artifacts.ArnForObjects(jsii.String(s.Config.App + "/*"))},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("ListReleases"),
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  &[]*string{s.Artifacts.BucketArn()},
		Conditions: &map[string]interface{}{"StringLike": map[string]interface{}{"s3:prefix": s.Config.App + "/*"}},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("PutPushEvents"),
		Actions: jsii.Strings("events:PutEvents"),
		Resources: &[]*string{s.Stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("events"), Resource: jsii.String("event-bus/default"),
			ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME})},
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"events:source": "slipway.git"}},
	}))
	if gh.PullRequests {
		s.pullRequestRole(provider)
	}
}

// PullRequestPrefix is what the versions a pull request's workflow may
// publish start with.
const PullRequestPrefix = "pr-"

// pullRequestRole is the role of the repository's pull_request workflow
// runs: they read the app's releases (the base commit's, to compare) and
// publish the pull request's build as a pr- version, and nothing else. A
// pull request cannot put a push event, so it never deploys.
func (s *Stack) pullRequestRole(provider string) {
	gh := s.Config.GitHubActions
	s.GitHubPullRequestRole = awsiam.NewRole(s.Stack, jsii.String("GitHubPullRequestRole"), &awsiam.RoleProps{
		Description: jsii.String(fmt.Sprintf("Slipway %s: pull_request workflows of %s publish pr- builds and read releases, for the release notes they post", s.Config.App, gh.Repository)),
		AssumedBy: awsiam.NewWebIdentityPrincipal(jsii.String(provider), &map[string]interface{}{
			"StringEquals": map[string]interface{}{
				GitHubOIDCHost + ":aud": "sts.amazonaws.com",
				GitHubOIDCHost + ":sub": fmt.Sprintf("repo:%s:pull_request", gh.Repository),
			},
		}),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	role := s.GitHubPullRequestRole
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadReleases"),
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: &[]*string{s.Artifacts.ArnForObjects(jsii.String(s.Config.App + "/*"))},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PublishPullRequestBuilds"),
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: &[]*string{s.Artifacts.ArnForObjects(jsii.String(s.Config.App + "/" + PullRequestPrefix + "*"))},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("ListReleases"),
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  &[]*string{s.Artifacts.BucketArn()},
		Conditions: &map[string]interface{}{"StringLike": map[string]interface{}{"s3:prefix": s.Config.App + "/*"}},
	}))
}

func (s *Stack) outputs() {
	out := func(id string, v *string, desc string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v, Description: jsii.String(desc)})
	}
	out("DeployStateMachineArn", s.StateMachines["deploy"].StateMachineArn(), "Starts a deployment (input: internal/contract.DeployRequest)")
	out("RollbackStateMachineArn", s.StateMachines["rollback"].StateMachineArn(), "Starts a rollback (input: internal/contract.RollbackRequest)")
	out("LedgerTableName", s.Table.TableName(), "The ledger: locks and deployment history")
	out("ArtifactBucketName", s.Artifacts.BucketName(), "Release bundles: <app>/<version>.tar.gz")
	out("HostDocumentName", s.Document.Ref(), "The SSM Command document that runs the host script")
	out("NotificationTopicArn", s.Topic.TopicArn(), "Execution status changes; subscribe to it")
	if s.GitHubActionsRole != nil {
		out("GitHubActionsRoleArn", s.GitHubActionsRole.RoleArn(), "The role GitHub Actions assumes (aws-actions/configure-aws-credentials role-to-assume)")
	}
	if s.GitHubPullRequestRole != nil {
		out("GitHubPullRequestRoleArn", s.GitHubPullRequestRole.RoleArn(), "The role pull_request workflows assume to publish pr- builds and post release notes")
	}
	if s.WebhookURL != nil {
		out("GitHubWebhookUrl", s.WebhookURL.Url(), "GitHub webhook payload URL (content type application/json, push events)")
		out("GitHubWebhookSecretName", jsii.String(WebhookSecretName(s.Config)), "The webhook's secret, in Secrets Manager: paste its value into the GitHub webhook")
	}
}

// pascal turns "rollback" or "health-check" into "Rollback", "HealthCheck".
func pascal(s string) string {
	p := PlaceholderFor(s)
	return p[:len(p)-len("FunctionArn")]
}
