package stack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestNoUnsuppressedFindings(t *testing.T) {
	s := synth(t)
	for _, f := range s.findings {
		t.Errorf("%s", f)
	}
	// Every suppression states its reason in words.
	for _, sup := range s.stack.Suppressions() {
		if len(strings.Fields(sup.Reason)) < 8 {
			t.Errorf("suppression of %s on %s (%s): reason %q is too short to explain anything", sup.Rule, sup.Path, sup.AppliesTo, sup.Reason)
		}
	}
}

func TestResourceCounts(t *testing.T) {
	s := synth(t)
	fns := len(s.stack.Repo.Functions)
	counts := map[string]int{
		"AWS::Lambda::Function":            fns,
		"AWS::StepFunctions::StateMachine": 2,
		// CodeCommit push, Git push, one alarm rule per environment with
		// alarms (staging, production), execution status, and the
		// closer's (executions that timed out, were stopped or failed),
		// and one launch rule per environment with Auto Scaling groups.
		"AWS::Events::Rule":           8,
		"AWS::DynamoDB::Table":        1,
		"AWS::S3::Bucket":             2,
		"AWS::S3::BucketPolicy":       2,
		"AWS::SNS::Topic":             1,
		"AWS::SNS::TopicPolicy":       1,
		"AWS::SNS::Subscription":      1,
		"AWS::KMS::Key":               1,
		"AWS::SSM::Document":          1,
		"AWS::SecretsManager::Secret": 2,       // the configuration fingerprint key, the GitHub webhook's
		"AWS::Logs::LogGroup":         fns + 3, // the functions', the state machines', the command output
		"AWS::IAM::ManagedPolicy":     1,
		// One per function and one per state machine. EventBridge invokes
		// the routers through resource policies, with no role.
		"AWS::IAM::Role": fns + 2,
		// EventBridge may invoke the push router from the two push rules,
		// the alarm router from the two alarm rules, the closer from its,
		// the lifecycle function from the two launch rules; anyone may
		// invoke the GitHub webhook through its URL (two: the CDK grants
		// lambda:InvokeFunctionUrl and lambda:InvokeFunction via the URL).
		"AWS::Lambda::Permission": 9,
		// The GitHub webhook's URL.
		"AWS::Lambda::Url": 1,
		// One launch hook per configured Auto Scaling group.
		"AWS::AutoScaling::LifecycleHook": 2,
		// Dead letters: the queue, its policy (EventBridge sends from the
		// rules), the alarm on its depth, and the failure destination of
		// each function EventBridge invokes (the two routers, the closer,
		// the lifecycle function).
		"AWS::SQS::Queue":                1,
		"AWS::SQS::QueuePolicy":          1,
		"AWS::CloudWatch::Alarm":         2,
		"AWS::Lambda::EventInvokeConfig": 4,
		// The delivery dashboard and the failed-rollback alarm (a second
		// alarm).
		"AWS::CloudWatch::Dashboard": 1,
	}
	for typ, n := range counts {
		must(t, typ, func() { s.assertion.ResourceCountIs(jsii.String(typ), jsii.Number(float64(n))) })
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	total += fns + 2 // AWS::IAM::Policy, one per role
	if got := len(s.resources()); got != total {
		t.Errorf("resources = %d, want %d (a resource type the test does not know about?)", got, total)
	}
}

func TestFunctions(t *testing.T) {
	s := synth(t)
	// Every function: arm64, provided.al2023, traced, logging to its own
	// group.
	must(t, "every function", func() {
		s.assertion.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Architectures": []any{"arm64"},
			"Runtime":       "provided.al2023",
			"Handler":       "bootstrap",
			"TracingConfig": map[string]any{"Mode": "Active"},
			"LoggingConfig": map[string]any{"LogGroup": assertions.Match_AnyValue()},
			"Timeout":       assertions.Match_AnyValue(),
			"MemorySize":    assertions.Match_AnyValue(),
			"Environment":   map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{"SLIPWAY_CONFIG": assertions.Match_AnyValue(), "SLIPWAY_TABLE": assertions.Match_AnyValue(), "SLIPWAY_ARTIFACT_BUCKET": assertions.Match_AnyValue(), "SLIPWAY_SSM_DOCUMENT": "slipway-demo-host", "SLIPWAY_HEALTH_PORT": "80", "SLIPWAY_COMMAND_TIMEOUT": "600"})},
		})
	})
	for _, f := range s.stack.Repo.Functions {
		spec := Specs[f]
		_, fn := s.byPath(t, pascal(f)+"Function")
		p := fn.props()
		if got := p["FunctionName"]; got != "slipway-demo-"+f {
			t.Errorf("%s: FunctionName = %v", f, got)
		}
		if got := p["Timeout"]; got != float64(spec.TimeoutSeconds) {
			t.Errorf("%s: Timeout = %v, want %d", f, got, spec.TimeoutSeconds)
		}
		if got := p["MemorySize"]; got != float64(spec.MemoryMB) {
			t.Errorf("%s: MemorySize = %v, want %d", f, got, spec.MemoryMB)
		}
		vpc, inVPC := p["VpcConfig"].(map[string]any)
		if inVPC != spec.VPC {
			t.Errorf("%s: in the VPC = %v, want %v", f, inVPC, spec.VPC)
		}
		if inVPC {
			got := fmt.Sprint(s.resolve(vpc))
			want := fmt.Sprint(map[string]any{
				"SecurityGroupIds": []any{"sg-0a1b2c3d4e5f60733"},
				"SubnetIds":        []any{"subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722"},
			})
			if got != want {
				t.Errorf("%s: VpcConfig = %s, want %s", f, got, want)
			}
		}
		if got, want := fmt.Sprint(s.resolve(p["LoggingConfig"])), fmt.Sprintf("map[LogGroup:<%sLogs>]", pascal(f)); got != want {
			t.Errorf("%s: LoggingConfig = %s, want %s", f, got, want)
		}
		_, lg := s.byPath(t, pascal(f)+"Logs")
		if got := lg.props()["RetentionInDays"]; got != float64(30) {
			t.Errorf("%s: log retention = %v, want 30", f, got)
		}
	}
	// The configuration the functions read (internal/config).
	_, fn := s.byPath(t, "PreflightFunction")
	got := fn.props()["Environment"].(map[string]any)["Variables"].(map[string]any)["SLIPWAY_CONFIG"]
	want := `{"app":"demo","environments":{"production":{"production":true,"database_secret":"arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/production/db-GhIjKl","db_cluster":"demo-production","alarms":["demo-production-5xx"],"target_groups":["arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-production/fedcba9876543210"],"auto_scaling_groups":["demo-production"],"blue_green":{"listener":"arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/demo-production/0123456789abcdef/fedcba9876543210","blue":{"target_group":"arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-blue/0123456789abcdef","tags":{"slipway:side":"blue"}},"green":{"target_group":"arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-green/fedcba9876543210","tags":{"slipway:side":"green"}}},"tags":{"app":"demo","env":"production"}},"staging":{"database_secret":"arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/staging/db-AbCdEf","db_instance":"demo-staging","alarms":["demo-staging-5xx","demo-staging-latency"],"target_groups":["arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-staging/0123456789abcdef"],"auto_scaling_groups":["demo-staging"],"tags":{"app":"demo","env":"staging"}}},"triggers":{"repositories":["demo"],"branches":{"main":"staging"}}}`
	if got != want {
		t.Errorf("SLIPWAY_CONFIG =\n%s\nwant\n%s", got, want)
	}
}

func TestStorage(t *testing.T) {
	s := synth(t)
	must(t, "ledger table", func() {
		s.assertion.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"KeySchema": []any{
				map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
				map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
			},
			"BillingMode":                      "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
			"SSESpecification":                 map[string]any{"SSEEnabled": true},
			"DeletionProtectionEnabled":        true,
			"GlobalSecondaryIndexes": []any{
				map[string]any{"IndexName": "by_env", "KeySchema": []any{
					map[string]any{"AttributeName": "gsi1pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "gsi1sk", "KeyType": "RANGE"},
				}, "Projection": map[string]any{"ProjectionType": "ALL"}},
				map[string]any{"IndexName": "by_app", "KeySchema": []any{
					map[string]any{"AttributeName": "gsi2pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "gsi2sk", "KeyType": "RANGE"},
				}, "Projection": map[string]any{"ProjectionType": "ALL"}},
			},
		})
	})
	must(t, "artifact bucket", func() {
		s.assertion.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"VersioningConfiguration": map[string]any{"Status": "Enabled"},
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
			}},
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"LoggingConfiguration": map[string]any{"DestinationBucketName": assertions.Match_AnyValue(), "LogFilePrefix": "artifacts/"},
			"LifecycleConfiguration": map[string]any{"Rules": []any{map[string]any{
				"Id": "old-artifacts", "Status": "Enabled", "ExpirationInDays": 365,
				"NoncurrentVersionExpiration":    map[string]any{"NoncurrentDays": 30},
				"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 7},
			}}},
		})
	})
	// Both buckets refuse plain HTTP.
	for id, p := range s.ofType("AWS::S3::BucketPolicy") {
		found := false
		for _, st := range s.statements(p.props()["PolicyDocument"]) {
			if st.Effect == "Deny" && fmt.Sprint(st.Conditions) == "map[Bool:map[aws:SecureTransport:false]]" {
				found = true
			}
		}
		if !found {
			t.Errorf("bucket policy %s does not deny requests without TLS", s.name(id))
		}
	}
}

func TestNotifications(t *testing.T) {
	s := synth(t)
	_, topic := s.byPath(t, "Notifications")
	if got := fmt.Sprint(s.resolve(topic.props()["KmsMasterKeyId"])); got != "<NotificationKey.Arn>" {
		t.Errorf("topic KmsMasterKeyId = %s, want the notification key", got)
	}
	_, key := s.byPath(t, "NotificationKey")
	if key.props()["EnableKeyRotation"] != true {
		t.Errorf("notification key rotation is off")
	}
	var publishers []string
	for _, p := range s.ofType("AWS::SNS::TopicPolicy") {
		for _, st := range s.statements(p.props()["PolicyDocument"]) {
			if st.Effect == "Allow" {
				publishers = append(publishers, fmt.Sprint(st.Actions, st.Resources, st.Conditions))
			}
		}
	}
	want := []string{
		"[sns:Publish] [<Notifications>] map[ArnEquals:map[aws:SourceArn:<DeadLettersAlarm.Arn>]]",
		"[sns:Publish] [<Notifications>] map[ArnEquals:map[aws:SourceArn:<RollbackFailedAlarm.Arn>]]",
		"[sns:Publish] [<Notifications>] map[ArnEquals:map[aws:SourceArn:<ExecutionStatus.Arn>]]",
	}
	if fmt.Sprint(publishers) != fmt.Sprint(want) {
		t.Errorf("topic policy allows %v, want %v", publishers, want)
	}
	// EventBridge may use the key to publish.
	var events []string
	for _, st := range s.statements(key.props()["KeyPolicy"]) {
		if st.Sid == "EventBridgePublishesToTopic" {
			events = st.Actions
		}
	}
	if fmt.Sprint(events) != "[kms:Decrypt kms:GenerateDataKey]" {
		t.Errorf("key policy lets EventBridge %v, want kms:Decrypt and kms:GenerateDataKey", events)
	}
}

func TestOutputs(t *testing.T) {
	s := synth(t)
	for _, o := range []string{"DeployStateMachineArn", "RollbackStateMachineArn", "LedgerTableName", "ArtifactBucketName", "HostDocumentName", "NotificationTopicArn", "InstancePolicyArn", "DeadLetterQueueUrl"} {
		must(t, "output "+o, func() { s.assertion.HasOutput(jsii.String(o), map[string]any{}) })
	}
}

// TestGitHubWebhook: the webhook function has a URL with no IAM auth (the
// function verifies each delivery's HMAC signature: GitHub cannot sign
// with SigV4), the secret GitHub signs with is generated under the name
// the function reads, and both are stack outputs.
func TestGitHubWebhook(t *testing.T) {
	s := synth(t)
	urls := s.ofType("AWS::Lambda::Url")
	if len(urls) != 1 {
		t.Fatalf("%d function URLs, want 1", len(urls))
	}
	for _, u := range urls {
		p := u.props()
		if p["AuthType"] != "NONE" || fmt.Sprint(s.resolve(p["TargetFunctionArn"])) != "<GithubWebhookFunction.Arn>" {
			t.Errorf("function URL %v, want AuthType NONE on the github-webhook function", p)
		}
	}
	found := false
	for _, sec := range s.ofType("AWS::SecretsManager::Secret") {
		p := sec.props()
		if p["Name"] != "slipway/demo/github-webhook" {
			continue
		}
		found = true
		gen, _ := p["GenerateSecretString"].(map[string]any)
		if gen["PasswordLength"] != float64(40) || gen["ExcludePunctuation"] != true {
			t.Errorf("webhook secret %v, want it generated, 40 characters without punctuation", p)
		}
	}
	if !found {
		t.Error("no secret slipway/demo/github-webhook")
	}
	outputs, _ := s.template["Outputs"].(map[string]any)
	for _, name := range []string{"GitHubWebhookUrl", "GitHubWebhookSecretName"} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("no output %s", name)
		}
	}
	// The URL's invocations come from anyone, only through the URL.
	n := 0
	for _, p := range s.ofType("AWS::Lambda::Permission") {
		props := p.props()
		if fmt.Sprint(s.resolve(props["FunctionName"])) != "<GithubWebhookFunction.Arn>" {
			continue
		}
		n++
		if props["Principal"] != "*" {
			t.Errorf("webhook permission %v, want principal *", props)
		}
		if props["Action"] == "lambda:InvokeFunctionUrl" && props["FunctionUrlAuthType"] != "NONE" {
			t.Errorf("webhook permission %v, want FunctionUrlAuthType NONE", props)
		}
		if props["Action"] == "lambda:InvokeFunction" && props["InvokedViaFunctionUrl"] != true {
			t.Errorf("webhook permission %v, want InvokedViaFunctionUrl", props)
		}
	}
	if n != 2 {
		t.Errorf("%d permissions on the webhook function, want 2", n)
	}
}
