package stack

import (
	"fmt"
	"regexp"
	"sort"
)

// Capability is an AWS capability a function uses beyond its ledger.
type Capability int

// Capabilities. Each one maps to the IAM statements in permissions.go.
const (
	// ReadArtifacts: s3:GetObject on the app's release bundles (and
	// s3:ListBucket under its prefix, so a missing bundle is a 404).
	ReadArtifacts Capability = iota
	// DescribeInstances: ssm:DescribeInstanceInformation.
	DescribeInstances
	// RunCommands: ssm:SendCommand with the Slipway document on instances
	// carrying an environment's tags, and reading the command's results
	// (ListCommands, ListCommandInvocations, GetCommandInvocation).
	RunCommands
	// ReadDatabaseSecrets: secretsmanager:GetSecretValue on the
	// environments' database secrets.
	ReadDatabaseSecrets
	// ResolveConfig: ssm:GetParameter on the app's parameters
	// (parameter/<app>/*) and secretsmanager:GetSecretValue on its secrets
	// (secret:<app>/*) and its configuration fingerprint key
	// (slipway/<app>/config-key): Preflight resolves a release's
	// configuration to check it and fingerprint it, as the instances do.
	ResolveConfig
	// TakeSnapshots: RDS snapshots of the environments' databases, named
	// slipway-<app>-<env>-*: create (with tags), describe, and delete the
	// older ones (migrations.keep_snapshots).
	TakeSnapshots
	// ReadAlarms: cloudwatch:DescribeAlarms.
	ReadAlarms
	// StartDeploys: states:StartExecution of the deploy state machine.
	StartDeploys
	// StartRollbacks: the same for the rollback state machine.
	StartRollbacks
	// Notify: sns:Publish on the notification topic (and its KMS key).
	Notify
	// DescribeExecutions: states:DescribeExecution of the deploy and
	// rollback state machines' executions (is a lease's owner still
	// running?).
	DescribeExecutions
	// ReadTargetHealth: elasticloadbalancing:DescribeTargetHealth (the
	// targets of the environments' target groups and their states).
	ReadTargetHealth
	// ManageTargets: elasticloadbalancing:RegisterTargets and
	// DeregisterTargets on the environments' target groups, and
	// DescribeTargetGroupAttributes (their deregistration delay).
	ManageTargets
	// CompleteLifecycleActions: autoscaling:CompleteLifecycleAction and
	// RecordLifecycleActionHeartbeat on the environments' Auto Scaling
	// groups (auto_scaling_groups).
	CompleteLifecycleActions
	// SwitchTraffic: for environments with blue_green,
	// elasticloadbalancing:ModifyListener (or ModifyRule) on the configured
	// listener (or rule) only, DescribeListeners (or DescribeRules), and
	// RegisterTargets on the sides' target groups.
	SwitchTraffic
	// ReadWebhookSecret: secretsmanager:GetSecretValue on the GitHub
	// webhook secret the stack creates (WebhookSecretName).
	ReadWebhookSecret
	// PutPushEvents: events:PutEvents on the default event bus, where the
	// push rule takes slipway.git events to the push router.
	PutPushEvents
	// ReadListenerWeights: for environments with blue_green,
	// elasticloadbalancing:DescribeListeners (or DescribeRules): which
	// side the listener sends the traffic to (a rollback's switch back to
	// the side kept warm).
	ReadListenerWeights
	// ReattachTargets: elasticloadbalancing:RegisterTargets on the
	// environments' target groups, to put back into service what an
	// unfinished deployment took out (never DeregisterTargets).
	ReattachTargets
	// ReadSideListenerWeights: ReadListenerWeights for the environments
	// whose blue/green sides are given by Auto Scaling groups only (an
	// instance launched in a side's group gets that side's release).
	ReadSideListenerWeights
	// ReadSecretConfig: ssm:GetParameter on the app's parameters
	// (parameter/<app>/*) and secretsmanager:GetSecretValue on its secrets
	// (secret:<app>/*), not the fingerprint key: the health function reads
	// the values of a release's secret configuration to redact them from
	// what the smoke checks record.
	ReadSecretConfig
	// ReadMetrics: cloudwatch:GetMetricData, on "*" (CloudWatch metrics
	// have no resource type): the health function reads the canary
	// analysis's metrics per instance (rollout.canary.metrics).
	ReadMetrics
)

// FunctionSpec is what the stack needs to know about one function that the
// repository does not say: its size, its network and the AWS calls it makes.
type FunctionSpec struct {
	// Description is the function's description in the console.
	Description string
	// TimeoutSeconds is the Lambda timeout; it must be shorter than the
	// TimeoutSeconds of every Task state that calls the function, so that
	// a slow invocation fails inside Lambda, where it is logged, first.
	TimeoutSeconds int
	// MemoryMB is the Lambda memory size.
	MemoryMB int
	// VPC puts the function in the app's VPC: it talks to the database or
	// to the instances directly.
	VPC bool
	// Ledger lists the ledger methods (internal/ledger.Dynamo) the
	// function's handler calls; ledgerActions maps them to DynamoDB actions.
	Ledger []string
	// Capabilities are its other AWS calls.
	Capabilities []Capability
	// Trigger marks a function that EventBridge invokes rather than a state
	// machine: it needs no placeholder in a definition.
	Trigger bool
	// URL marks a function that its Function URL invokes (with no IAM
	// auth: the function authenticates each request itself), rather
	// than a state machine or EventBridge.
	URL bool
}

// Specs has one entry per directory under functions/. The ledger methods
// are those internal/pipeline's handler for the function calls (AddStep is
// the step log every handler writes); keep them in step with the handlers.
var Specs = map[string]FunctionSpec{
	"preflight": {
		Description:    "Slipway preflight: validate the request, verify the release and its checksum, check the database and the targets, plan the waves",
		TimeoutSeconds: 100, MemoryMB: 1024, VPC: true,
		// Steps: a rollback reads the side a blue/green deployment kept warm.
		Ledger:       []string{"PutDeployment", "UpdateDeployment", "ListDeployments", "AddStep", "Steps"},
		Capabilities: []Capability{ReadArtifacts, DescribeInstances, ReadDatabaseSecrets, ReadTargetHealth, ResolveConfig, ReadListenerWeights},
	},
	"approval": {
		Description:    "Slipway approval: record a production deployment's approval request with its task token and send it to the notification topic",
		TimeoutSeconds: 20, MemoryMB: 256,
		Ledger:       []string{"PutApproval", "AddStep"},
		Capabilities: []Capability{Notify},
	},
	"lock": {
		Description: "Slipway lock: take and release the environment's lease; take over one whose execution is gone, closing its record from observation",
		// A takeover waits for the orphan's running commands, for an
		// observation and for what it puts back into its target groups
		// (100s each at most, functions/lock); the waits end
		// pipeline.CloseReserve before the timeout, whatever their sum.
		TimeoutSeconds: 270, MemoryMB: 256,
		Ledger: []string{"AcquireLease", "GetPending", "ClearPending", "GetDeployment", "ReleaseLease", "AddStep", "Steps", "AddEvent",
			"InstanceResults", "PutInstanceResults", "UpdateDeployment", "PutDeployment"},
		Capabilities: []Capability{DescribeExecutions, DescribeInstances, RunCommands, Notify, ReadTargetHealth, ReattachTargets},
	},
	"snapshot": {
		Description:    "Slipway snapshot: snapshot the RDS database before migrations and report the snapshot's status",
		TimeoutSeconds: 50, MemoryMB: 256,
		Ledger: []string{"UpdateDeployment", "AddStep"},
		// ReadArtifacts: the release's manifest says how many snapshots
		// to keep (migrations.keep_snapshots).
		Capabilities: []Capability{TakeSnapshots, ReadArtifacts},
	},
	"migrate": {
		Description:    "Slipway migrate: apply the release's migrations under a lock; revert reversible ones on rollback",
		TimeoutSeconds: 870, MemoryMB: 1024, VPC: true,
		Ledger:       []string{"GetDeployment", "UpdateDeployment", "AddStep"},
		Capabilities: []Capability{ReadArtifacts, ReadDatabaseSecrets},
	},
	"deploy": {
		Description:    "Slipway deploy: activate the release on a wave of instances through SSM Run Command and poll the result",
		TimeoutSeconds: 50, MemoryMB: 256,
		Ledger:       []string{"PutInstanceResults", "AddStep"},
		Capabilities: []Capability{DescribeInstances, RunCommands, ReadTargetHealth, ManageTargets, SwitchTraffic},
	},
	"health": {
		Description:    "Slipway health: probe a wave's instances for the expected version, check the CloudWatch alarms, run the smoke checks and the canary analysis",
		TimeoutSeconds: 50, MemoryMB: 256, VPC: true,
		Ledger:       []string{"AddStep"},
		Capabilities: []Capability{DescribeInstances, ReadAlarms, ReadSecretConfig, ReadMetrics},
	},
	"rollback": {
		Description:    "Slipway rollback: switch the instances a deployment moved back to the previous release through SSM",
		TimeoutSeconds: 50, MemoryMB: 256,
		Ledger:       []string{"InstanceResults", "PutInstanceResults", "AddStep"},
		Capabilities: []Capability{RunCommands},
	},
	// The triggers: EventBridge invokes them, not a state machine (see
	// events.go).
	"push-router": {
		Description:    "Slipway push router: start the deployment of a pushed commit's release, once per push event",
		TimeoutSeconds: 30, MemoryMB: 256, Trigger: true,
		Ledger:       []string{"AddEvent", "GetPending", "SetPending", "ClearPending"},
		Capabilities: []Capability{ReadArtifacts, StartDeploys},
	},
	"alarm-router": {
		Description:    "Slipway alarm router: start one rollback per deployment for an alarm in ALARM within its watch window",
		TimeoutSeconds: 30, MemoryMB: 256, Trigger: true,
		Ledger:       []string{"AddEvent", "ListDeployments"},
		Capabilities: []Capability{StartRollbacks},
	},
	"closer": {
		Description: "Slipway closer: close the record of an execution that timed out, was stopped or failed outside a Catch, from what it observes of the fleet",
		// It waits for the execution's running commands, for an
		// observation and for what it puts back into its target groups (4
		// minutes each at most, functions/closer); the waits end
		// pipeline.CloseReserve before the timeout, whatever their sum.
		TimeoutSeconds: 600, MemoryMB: 256, Trigger: true,
		Ledger: []string{"GetDeployment", "Steps", "AddStep", "AddEvent", "InstanceResults", "PutInstanceResults", "UpdateDeployment", "PutDeployment",
			"ReleaseLease", "ClearPending"},
		Capabilities: []Capability{DescribeInstances, RunCommands, Notify, ReadTargetHealth, ReattachTargets},
	},
	"lifecycle": {
		Description: "Slipway lifecycle: put an instance an Auto Scaling group launches into service only once it runs the environment's release and is healthy",
		// It waits up to 10 minutes for the instance's agent, the
		// activation and the health check (functions/lifecycle),
		// heartbeating the action meanwhile. VPC: it probes the instance.
		TimeoutSeconds: 720, MemoryMB: 256, VPC: true, Trigger: true,
		// Steps: the release a blue/green side was kept warm on.
		Ledger:       []string{"ListDeployments", "InstanceResults", "PutInstanceResults", "AddEvent", "Steps"},
		Capabilities: []Capability{ReadArtifacts, DescribeInstances, RunCommands, CompleteLifecycleActions, ReadSideListenerWeights},
	},
	// Behind a Function URL: GitHub posts its webhook deliveries there.
	"github-webhook": {
		Description:    "Slipway GitHub webhook: verify a delivery's signature and put a mapped branch's push on EventBridge for the push router, once per delivery",
		TimeoutSeconds: 10, MemoryMB: 256, URL: true,
		Ledger:       []string{"ClaimDelivery", "ReleaseDelivery"},
		Capabilities: []Capability{ReadWebhookSecret, PutPushEvents},
	},
	"record": {
		Description:    "Slipway record: write the deployment's final status and report to the ledger",
		TimeoutSeconds: 50, MemoryMB: 256,
		Ledger:       []string{"InstanceResults", "UpdateDeployment", "PutDeployment", "AddStep", "Steps"},
		Capabilities: []Capability{Notify, ReadArtifacts},
	},
}

// ledgerActions are the DynamoDB actions behind each method of
// internal/ledger.Dynamo (dynamo.go, dynamo_lease.go and dynamo_control.go).
// TransactWriteItems has no IAM action of its own: DynamoDB authorizes each
// item operation in the transaction (ConditionCheckItem, PutItem).
var ledgerActions = map[string][]string{
	"PutDeployment":      {"dynamodb:PutItem"},
	"GetDeployment":      {"dynamodb:GetItem"},
	"UpdateDeployment":   {"dynamodb:GetItem", "dynamodb:PutItem"},
	"ListDeployments":    {"dynamodb:Query"}, // on the by_env index (by_app only without an environment)
	"AddStep":            {"dynamodb:UpdateItem", "dynamodb:PutItem"},
	"Steps":              {"dynamodb:Query"},
	"PutInstanceResults": {"dynamodb:UpdateItem", "dynamodb:BatchWriteItem"},
	"InstanceResults":    {"dynamodb:Query"},
	"AcquireLease":       {"dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:Query"},
	"ReleaseLease":       {"dynamodb:DeleteItem"},
	"Locks":              {"dynamodb:Query"},
	// dynamo_control.go
	"GetPending":   {"dynamodb:GetItem"},
	"SetPending":   {"dynamodb:PutItem"},
	"ClearPending": {"dynamodb:DeleteItem"},
	"AddEvent":     {"dynamodb:PutItem"},
	// ClaimDelivery is a conditional PutItem; ReleaseDelivery a DeleteItem.
	"ClaimDelivery":   {"dynamodb:PutItem"},
	"ReleaseDelivery": {"dynamodb:DeleteItem"},
	"Events":          {"dynamodb:Query"},
	"PutApproval":     {"dynamodb:PutItem"},
	"GetApproval":     {"dynamodb:GetItem"},
	"Approvals":       {"dynamodb:Query"},
	// DecideApproval is a conditional UpdateItem, read back on a conflict.
	"DecideApproval": {"dynamodb:UpdateItem", "dynamodb:GetItem"},
}

// indexMethods are the ledger methods that query the secondary indexes.
var indexMethods = map[string]bool{"ListDeployments": true}

// ledgerPermissions returns the table actions and the index actions of a
// function's ledger methods, sorted and without duplicates.
func ledgerPermissions(methods []string) (table, index []string, err error) {
	t, i := map[string]bool{}, map[string]bool{}
	for _, m := range methods {
		actions, ok := ledgerActions[m]
		if !ok {
			return nil, nil, fmt.Errorf("ledger method %s has no DynamoDB actions in ledgerActions", m)
		}
		for _, a := range actions {
			if indexMethods[m] {
				i[a] = true
			} else {
				t[a] = true
			}
		}
	}
	return sortedKeys(t), sortedKeys(i), nil
}

// checkSpecs checks that every function has a spec whose timeout fits the
// state machines' Task timeouts.
func checkSpecs(r *Repo) error {
	var problems []string
	for _, f := range r.Functions {
		spec, ok := Specs[f]
		if !ok {
			problems = append(problems, fmt.Sprintf("functions/%s has no FunctionSpec in infra/stack/functions.go: give it a timeout, memory and its permissions", f))
			continue
		}
		called := false
		for _, d := range r.Definitions {
			for _, g := range d.Functions {
				called = called || g == f
			}
		}
		if !called && !spec.Trigger && !spec.URL {
			problems = append(problems, fmt.Sprintf("functions/%s: no state machine definition calls it (no ${%s} in statemachine/*.asl.json) and its spec is not a Trigger: remove the function or call it", f, PlaceholderFor(f)))
		}
		if spec.TimeoutSeconds < 1 || spec.TimeoutSeconds > 900 {
			problems = append(problems, fmt.Sprintf("functions/%s: timeout %ds is outside Lambda's 1..900s", f, spec.TimeoutSeconds))
		}
		if spec.MemoryMB < 128 || spec.MemoryMB > 10240 {
			problems = append(problems, fmt.Sprintf("functions/%s: memory %d MB is outside Lambda's 128..10240 MB", f, spec.MemoryMB))
		}
		if _, _, err := ledgerPermissions(spec.Ledger); err != nil {
			problems = append(problems, fmt.Sprintf("functions/%s: %v", f, err))
		}
		for _, name := range sortedKeys(r.Definitions) {
			d := r.Definitions[name]
			if t, ok := d.TaskTimeouts[f]; ok && t > 0 && spec.TimeoutSeconds >= t {
				problems = append(problems, fmt.Sprintf("functions/%s: Lambda timeout %ds is not shorter than the %ds TimeoutSeconds of a Task that calls it in statemachine/%s.asl.json", f, spec.TimeoutSeconds, t, name))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("function specs:\n  %s", joinLines(problems))
	}
	return nil
}

func joinLines(s []string) string {
	out := ""
	for i, l := range s {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}

var secretSuffix = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)

// secretResource is the IAM resource for a secret ARN. A partial ARN (the
// name without Secrets Manager's six-character suffix) matches the full
// one only with the suffix wildcard.
func secretResource(arn string) string {
	if secretSuffix.MatchString(arn) {
		return arn
	}
	return arn + "-??????"
}
