package stack

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	arnEC2 = "arn:aws:ec2:eu-west-1:111111111111:"
	arnRDS = "arn:aws:rds:eu-west-1:111111111111:"
)

var xrayStatement = statement{Effect: "Allow", Actions: []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}, Resources: []string{"*"}}

func logsStatement(f string) statement {
	return statement{Sid: "WriteLogs", Effect: "Allow", Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"}, Resources: []string{"<" + pascal(f) + "Logs.Arn>"}}
}

func sortStatements(s []statement) []statement {
	out := append([]statement{}, s...)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

func TestDeployFunctionPermissions(t *testing.T) {
	s := synth(t)
	tags := func(env string) map[string]any {
		return map[string]any{"StringEquals": map[string]any{"ssm:resourceTag/app": "demo", "ssm:resourceTag/env": env}}
	}
	want := []statement{
		logsStatement("deploy"),
		{Sid: "Ledger", Effect: "Allow", Actions: []string{"dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: []string{"<Ledger.Arn>"}},
		{Sid: "SendCommandDocument", Effect: "Allow", Actions: []string{"ssm:SendCommand"}, Resources: []string{"arn:aws:ssm:eu-west-1:111111111111:document/slipway-demo-host"}},
		{Sid: "SendCommandInstancesProduction", Effect: "Allow", Actions: []string{"ssm:SendCommand"}, Resources: []string{arnEC2 + "instance/*"}, Conditions: tags("production")},
		{Sid: "SendCommandInstancesStaging", Effect: "Allow", Actions: []string{"ssm:SendCommand"}, Resources: []string{arnEC2 + "instance/*"}, Conditions: tags("staging")},
		{Sid: "ManageTargets", Effect: "Allow", Actions: []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"}, Resources: []string{
			"arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-production/fedcba9876543210",
			"arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-staging/0123456789abcdef"}},
		{Sid: "SwitchListeners", Effect: "Allow", Actions: []string{"elasticloadbalancing:ModifyListener"}, Resources: []string{testListener}},
		{Sid: "RegisterSideTargets", Effect: "Allow", Actions: []string{"elasticloadbalancing:RegisterTargets"}, Resources: []string{testBlueTG, testGreenTG}},
		{Sid: "NoResourceLevel", Effect: "Allow", Actions: []string{"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetHealth",
			"ssm:DescribeInstanceInformation", "ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:ListCommands"}, Resources: []string{"*"}},
		xrayStatement,
	}
	if diff := cmp.Diff(sortStatements(want), sortStatements(s.roleStatements(t, "DeployRole"))); diff != "" {
		t.Errorf("deploy role statements (-want +got):\n%s", diff)
	}
}

// TestBlueGreenPermissions synthesizes the fixture with blue_green on
// production (a listener) and staging (a listener rule): only the deploy
// role may modify them, each only the configured one, and manage the
// sides' targets; DescribeListeners/DescribeRules go on "*"; the
// configuration reaches the functions; cdk-nag stays quiet.
func TestBlueGreenPermissions(t *testing.T) {
	m := fixture(t)
	env(m, "production")["blue_green"] = blueGreen(testListener)
	staging := blueGreen(testRule)
	staging["blue"].(map[string]any)["target_group"] = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-staging-blue/00000000000000aa"
	staging["green"].(map[string]any)["target_group"] = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-staging-green/00000000000000bb"
	staging["green"].(map[string]any)["auto_scaling_groups"] = []any{"demo-staging-green"}
	env(m, "staging")["blue_green"] = staging
	b, _ := json.Marshal(m)
	cfg, err := ParseConfig("blue-green.json", b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := synthConfig(cfg)
	if err != nil {
		t.Fatalf("synth: %v", err)
	}
	got := map[string]statement{}
	for _, st := range s.roleStatements(t, "DeployRole") {
		got[st.Sid] = st
	}
	elb := "arn:aws:elasticloadbalancing:eu-west-1:111111111111:"
	want := map[string]statement{
		"SwitchListeners": {Sid: "SwitchListeners", Effect: "Allow", Actions: []string{"elasticloadbalancing:ModifyListener"}, Resources: []string{testListener}},
		"SwitchRules":     {Sid: "SwitchRules", Effect: "Allow", Actions: []string{"elasticloadbalancing:ModifyRule"}, Resources: []string{testRule}},
		"RegisterSideTargets": {Sid: "RegisterSideTargets", Effect: "Allow", Actions: []string{"elasticloadbalancing:RegisterTargets"}, Resources: []string{
			testBlueTG, testGreenTG, elb + "targetgroup/demo-staging-blue/00000000000000aa", elb + "targetgroup/demo-staging-green/00000000000000bb"}},
		"NoResourceLevel": {Sid: "NoResourceLevel", Effect: "Allow", Actions: []string{"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
			"elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetHealth",
			"ssm:DescribeInstanceInformation", "ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:ListCommands"}, Resources: []string{"*"}},
	}
	for sid, w := range want {
		if diff := cmp.Diff(w, got[sid]); diff != "" {
			t.Errorf("deploy role statement %s (-want +got):\n%s", sid, diff)
		}
	}
	for id, r := range s.resources() {
		if r.typ() != "AWS::IAM::Role" || s.name(id) == "DeployRole" {
			continue
		}
		for _, st := range s.roleStatements(t, s.name(id)) {
			for _, a := range st.Actions {
				if a == "elasticloadbalancing:ModifyListener" || a == "elasticloadbalancing:ModifyRule" {
					t.Errorf("role %s may %s; only the deploy role may switch traffic", s.name(id), a)
				}
			}
		}
	}
	// The green sides are Auto Scaling groups: each gets the launch hook,
	// the launch rules take their actions, the lifecycle function may
	// complete them and read the listeners (which side serves).
	hooks := map[string]bool{}
	for _, r := range s.resources() {
		if r.typ() == "AWS::AutoScaling::LifecycleHook" {
			hooks[fmt.Sprint(r.props()["AutoScalingGroupName"])] = true
		}
	}
	for _, g := range []string{"demo-staging", "demo-production", "demo-production-green", "demo-staging-green"} {
		if !hooks[g] {
			t.Errorf("no launch lifecycle hook on %s (hooks on %v)", g, hooks)
		}
	}
	lc := map[string]statement{}
	for _, st := range s.roleStatements(t, "LifecycleRole") {
		lc[st.Sid] = st
	}
	if got := lc["CompleteLifecycleActions"].Resources; len(got) != 4 {
		t.Errorf("lifecycle may complete the actions of %v, want the 4 groups", got)
	}
	if got := lc["NoResourceLevel"].Actions; !slices.Contains(got, "elasticloadbalancing:DescribeListeners") || !slices.Contains(got, "elasticloadbalancing:DescribeRules") {
		t.Errorf("lifecycle's no-resource-level actions = %v, want DescribeListeners and DescribeRules", got)
	}
	for _, f := range s.findings {
		t.Errorf("cdk-nag: %s", f)
	}
	if out, _ := cfg.SlipwayConfig(); !strings.Contains(string(out), `"blue_green":{"listener":"`+testListener+`"`) {
		t.Errorf("SLIPWAY_CONFIG = %s, want production's blue_green", out)
	}
}

func TestSnapshotFunctionPermissions(t *testing.T) {
	s := synth(t)
	want := []statement{
		logsStatement("snapshot"),
		{Sid: "Ledger", Effect: "Allow", Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: []string{"<Ledger.Arn>"}},
		// production is an Aurora cluster, staging an RDS instance.
		{Sid: "CreateSnapshotProduction", Effect: "Allow", Actions: []string{"rds:CreateDBClusterSnapshot"},
			Resources: []string{arnRDS + "cluster-snapshot:slipway-demo-production-*", arnRDS + "cluster:demo-production"}},
		{Sid: "TagSnapshotProduction", Effect: "Allow", Actions: []string{"rds:AddTagsToResource"},
			Resources: []string{arnRDS + "cluster-snapshot:slipway-demo-production-*"}},
		{Sid: "DescribeSnapshotProduction", Effect: "Allow", Actions: []string{"rds:DescribeDBClusterSnapshots"},
			Resources: []string{arnRDS + "cluster-snapshot:slipway-demo-production-*", arnRDS + "cluster:demo-production"}},
		{Sid: "DeleteSnapshotProduction", Effect: "Allow", Actions: []string{"rds:DeleteDBClusterSnapshot"},
			Resources: []string{arnRDS + "cluster-snapshot:slipway-demo-production-*"}},
		{Sid: "CreateSnapshotStaging", Effect: "Allow", Actions: []string{"rds:CreateDBSnapshot"},
			Resources: []string{arnRDS + "db:demo-staging", arnRDS + "snapshot:slipway-demo-staging-*"}},
		{Sid: "TagSnapshotStaging", Effect: "Allow", Actions: []string{"rds:AddTagsToResource"},
			Resources: []string{arnRDS + "snapshot:slipway-demo-staging-*"}},
		{Sid: "DescribeSnapshotStaging", Effect: "Allow", Actions: []string{"rds:DescribeDBSnapshots"},
			Resources: []string{arnRDS + "db:demo-staging", arnRDS + "snapshot:slipway-demo-staging-*"}},
		{Sid: "DeleteSnapshotStaging", Effect: "Allow", Actions: []string{"rds:DeleteDBSnapshot"},
			Resources: []string{arnRDS + "snapshot:slipway-demo-staging-*"}},
		// The release's manifest: migrations.keep_snapshots.
		{Sid: "ReadArtifacts", Effect: "Allow", Actions: []string{"s3:GetObject"}, Resources: []string{"<Artifacts.Arn>/demo/*"}},
		{Sid: "ListArtifacts", Effect: "Allow", Actions: []string{"s3:ListBucket"}, Resources: []string{"<Artifacts.Arn>"},
			Conditions: map[string]any{"StringLike": map[string]any{"s3:prefix": "demo/*"}}},
		xrayStatement,
	}
	if diff := cmp.Diff(sortStatements(want), sortStatements(s.roleStatements(t, "SnapshotRole"))); diff != "" {
		t.Errorf("snapshot role statements (-want +got):\n%s", diff)
	}
}

func TestPreflightFunctionPermissions(t *testing.T) {
	s := synth(t)
	want := []statement{
		logsStatement("preflight"),
		{Sid: "Ledger", Effect: "Allow", Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, Resources: []string{"<Ledger.Arn>"}},
		{Sid: "LedgerIndexes", Effect: "Allow", Actions: []string{"dynamodb:Query"}, Resources: []string{"<Ledger.Arn>/index/by_env"}},
		{Sid: "VpcCreateInterfaces", Effect: "Allow", Actions: []string{"ec2:CreateNetworkInterface"}, Resources: []string{
			arnEC2 + "network-interface/*", arnEC2 + "security-group/sg-0a1b2c3d4e5f60733",
			arnEC2 + "subnet/subnet-0a1b2c3d4e5f60711", arnEC2 + "subnet/subnet-0a1b2c3d4e5f60722"}},
		{Sid: "VpcManageInterfaces", Effect: "Allow", Actions: []string{"ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"}, Resources: []string{arnEC2 + "network-interface/*"}},
		{Sid: "VpcDescribe", Effect: "Allow", Actions: []string{"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}, Resources: []string{"*"}},
		{Sid: "ReadArtifacts", Effect: "Allow", Actions: []string{"s3:GetObject"}, Resources: []string{"<Artifacts.Arn>/demo/*"}},
		{Sid: "ListArtifacts", Effect: "Allow", Actions: []string{"s3:ListBucket"}, Resources: []string{"<Artifacts.Arn>"},
			Conditions: map[string]any{"StringLike": map[string]any{"s3:prefix": "demo/*"}}},
		// The database secrets are under demo/: ResolveConfigSecrets
		// allows them, so there is no ReadDatabaseSecrets statement.
		{Sid: "ResolveConfigParameters", Effect: "Allow", Actions: []string{"ssm:GetParameter"}, Resources: []string{"arn:aws:ssm:eu-west-1:111111111111:parameter/demo/*"}},
		{Sid: "ResolveConfigSecrets", Effect: "Allow", Actions: []string{"secretsmanager:GetSecretValue"}, Resources: []string{
			"arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/*",
			"arn:aws:secretsmanager:eu-west-1:111111111111:secret:slipway/demo/config-key-*"}},
		{Sid: "DecryptDatabaseSecrets", Effect: "Allow", Actions: []string{"kms:Decrypt"},
			Resources:  []string{"arn:aws:kms:eu-west-1:111111111111:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"},
			Conditions: map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}},
		// DescribeListeners: a rollback reads where a blue/green
		// listener sends the traffic (the side kept warm).
		{Sid: "NoResourceLevel", Effect: "Allow", Actions: []string{"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetHealth", "ssm:DescribeInstanceInformation"}, Resources: []string{"*"}},
		xrayStatement,
	}
	if diff := cmp.Diff(sortStatements(want), sortStatements(s.roleStatements(t, "PreflightRole"))); diff != "" {
		t.Errorf("preflight role statements (-want +got):\n%s", diff)
	}
}

// TestStateMachinesInvokeOnlyTheirFunctions: a state machine's role may
// invoke the functions its definition calls (the ${XxxFunctionArn}
// placeholders of statemachine/<name>.asl.json, written down here),
// unqualified, and nothing else.
func TestStateMachinesInvokeOnlyTheirFunctions(t *testing.T) {
	s := synth(t)
	invokes := map[string][]string{
		"deploy": {"<ApprovalFunction.Arn>", "<DeployFunction.Arn>", "<HealthFunction.Arn>", "<LockFunction.Arn>", "<MigrateFunction.Arn>",
			"<PreflightFunction.Arn>", "<RecordFunction.Arn>", "<RollbackFunction.Arn>", "<SnapshotFunction.Arn>"},
		"rollback": {"<DeployFunction.Arn>", "<HealthFunction.Arn>", "<LockFunction.Arn>", "<MigrateFunction.Arn>",
			"<PreflightFunction.Arn>", "<RecordFunction.Arn>", "<RollbackFunction.Arn>"},
	}
	if diff := cmp.Diff(sortedKeys(invokes), sortedKeys(s.stack.Repo.Definitions)); diff != "" {
		t.Errorf("state machines (-want +got):\n%s", diff)
	}
	for _, name := range sortedKeys(s.stack.Repo.Definitions) {
		want := invokes[name]
		var got []string
		for _, st := range s.roleStatements(t, pascal(name)+"StateMachine/Role") {
			for _, a := range st.Actions {
				if strings.HasPrefix(a, "lambda:") {
					if a != "lambda:InvokeFunction" {
						t.Errorf("%s: action %s, want only lambda:InvokeFunction", name, a)
					}
					got = append(got, st.Resources...)
				}
			}
		}
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s state machine invokes (-want +got):\n%s", name, diff)
		}
	}
}

// noResourceLevelActions are the actions AWS authorizes on no resource type
// (or, for cloudwatch:DescribeAlarms, only on "*" for composite alarms):
// the only ones allowed on Resource "*".
var noResourceLevelActions = map[string]bool{
	"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true, "xray:GetSamplingRules": true, "xray:GetSamplingTargets": true,
	"logs:CreateLogDelivery": true, "logs:GetLogDelivery": true, "logs:UpdateLogDelivery": true, "logs:DeleteLogDelivery": true,
	"logs:ListLogDeliveries": true, "logs:PutResourcePolicy": true, "logs:DescribeResourcePolicies": true, "logs:DescribeLogGroups": true,
	"ec2:DescribeNetworkInterfaces": true, "ec2:DescribeSubnets": true,
	"ssm:DescribeInstanceInformation": true, "ssm:ListCommands": true, "ssm:ListCommandInvocations": true, "ssm:GetCommandInvocation": true,
	"cloudwatch:DescribeAlarms":                          true,
	"cloudwatch:GetMetricData":                           true,
	"elasticloadbalancing:DescribeTargetHealth":          true,
	"elasticloadbalancing:DescribeTargetGroupAttributes": true,
	"elasticloadbalancing:DescribeListeners":             true,
	"elasticloadbalancing:DescribeRules":                 true,
}

// TestNoWildcards: no Allow statement anywhere has a "*" in an action, and
// "*" is a resource only for actions without resource-level permissions.
// Key policies are the exception for resources: their Resource is always
// "*", meaning the key itself. Deny statements (TLS, TLS 1.2 or later)
// may name every action: they take permissions away.
func TestNoWildcards(t *testing.T) {
	s := synth(t)
	docs := map[string]any{}
	for id, r := range s.resources() {
		p := r.props()
		switch r.typ() {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy":
			docs[s.name(id)] = p["PolicyDocument"]
		case "AWS::KMS::Key":
			docs[s.name(id)] = p["KeyPolicy"]
		case "AWS::IAM::Role":
			docs[s.name(id)+" (trust)"] = p["AssumeRolePolicyDocument"]
			for i, pol := range asSlice(p["Policies"]) {
				docs[fmt.Sprintf("%s (inline %d)", s.name(id), i)] = pol.(map[string]any)["PolicyDocument"]
			}
		}
	}
	if len(docs) < 20 {
		t.Fatalf("found %d policy documents, want the stack's (20 or more)", len(docs))
	}
	for name, doc := range docs {
		for _, st := range s.statements(doc) {
			if st.Effect != "Allow" {
				if c := fmt.Sprint(st.Conditions); c != "map[Bool:map[aws:SecureTransport:false]]" && c != "map[NumericLessThan:map[s3:TlsVersion:1.2]]" {
					t.Errorf("%s: Deny statement other than TLS-only: %+v", name, st)
				}
				continue
			}
			for _, a := range st.Actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %q", name, a)
				}
			}
			for _, r := range st.Resources {
				if r != "*" || strings.HasPrefix(name, "NotificationKey") {
					continue
				}
				for _, a := range st.Actions {
					if !noResourceLevelActions[a] {
						t.Errorf("%s: %s on resource \"*\", but it has resource-level permissions", name, a)
					}
				}
			}
		}
	}
}

func TestInstancePolicy(t *testing.T) {
	s := synth(t)
	_, p := s.byPath(t, "InstancePolicy")
	// The resolver's two assets, by their content hash.
	var resolvers []string
	for _, arch := range ResolverArches {
		key := fmt.Sprint(s.stack.Stack.Resolve(s.stack.Resolvers[arch].S3ObjectKey()))
		if !strings.Contains(key, *s.stack.Resolvers[arch].AssetHash()) {
			t.Errorf("resolver %s: key %s does not hold the asset's hash", arch, key)
		}
		resolvers = append(resolvers, "arn:aws:s3:::cdk-hnb659fds-assets-111111111111-eu-west-1/"+key)
	}
	// The policy lists a statement's resources in CDK's order, not ours.
	sort.Strings(resolvers)
	want := []statement{
		{Sid: "DownloadReleases", Effect: "Allow", Actions: []string{"s3:GetObject"}, Resources: []string{"<Artifacts.Arn>/demo/*"}},
		{Sid: "ListReleases", Effect: "Allow", Actions: []string{"s3:ListBucket"}, Resources: []string{"<Artifacts.Arn>"},
			Conditions: map[string]any{"StringLike": map[string]any{"s3:prefix": "demo/*"}}},
		{Sid: "DownloadConfigResolver", Effect: "Allow", Actions: []string{"s3:GetObject"}, Resources: resolvers},
		{Sid: "ResolveConfigParameters", Effect: "Allow", Actions: []string{"ssm:GetParameter"}, Resources: []string{"arn:aws:ssm:eu-west-1:111111111111:parameter/demo/*"}},
		{Sid: "ResolveConfigSecrets", Effect: "Allow", Actions: []string{"secretsmanager:GetSecretValue"},
			Resources: []string{"arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/*", "arn:aws:secretsmanager:eu-west-1:111111111111:secret:slipway/demo/config-key-*"}},
		{Sid: "WriteCommandOutput", Effect: "Allow", Actions: []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}, Resources: []string{"<CommandLogs.Arn>"}},
		{Sid: "FindCommandOutputGroup", Effect: "Allow", Actions: []string{"logs:DescribeLogGroups"}, Resources: []string{"arn:aws:logs:eu-west-1:111111111111:log-group:*"}},
	}
	if diff := cmp.Diff(want, s.statements(p.props()["PolicyDocument"])); diff != "" {
		t.Errorf("instance policy (-want +got):\n%s", diff)
	}
	if got := fmt.Sprint(p.props()["Roles"]); got != "[demo-instance]" {
		t.Errorf("instance policy roles = %s, want [demo-instance]", got)
	}
}
