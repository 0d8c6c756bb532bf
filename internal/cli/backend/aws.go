package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/execution"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/report"
	"github.com/slipway-deploy/slipway/internal/schema"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/internal/snapshot"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

// STSAPI is the part of *sts.Client the AWS backend uses.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// EventsAPI is the part of *eventbridge.Client the AWS backend uses.
type EventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// SQSAPI is the part of *sqs.Client the AWS backend uses.
type SQSAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

var (
	_ STSAPI    = (*sts.Client)(nil)
	_ EventsAPI = (*eventbridge.Client)(nil)
	_ SQSAPI    = (*sqs.Client)(nil)
)

// AWSClients are the SDK clients the AWS backend calls; tests point them
// at httptest servers.
type AWSClients struct {
	SFN        execution.SFNAPI
	Dynamo     ledger.DynamoAPI
	S3         artifact.S3API
	SSM        fleet.SSMAPI
	CloudWatch health.CloudWatchAPI
	Secrets    secret.ManagerAPI
	STS        STSAPI
	Events     EventsAPI
	SQS        SQSAPI
	// Parameters reads SSM parameters (config check and diff); the SSM
	// client, when nil, if it has GetParameter.
	Parameters appconfig.SSMAPI
}

// AWSSettings are the AWS backend's settings, with the names the Lambdas
// give them.
type AWSSettings struct {
	Config          *config.Config
	Region          string
	Table           string // SLIPWAY_TABLE
	ArtifactBucket  string // SLIPWAY_ARTIFACT_BUCKET
	DeployMachine   string // SLIPWAY_DEPLOY_STATE_MACHINE
	RollbackMachine string // SLIPWAY_ROLLBACK_STATE_MACHINE
	OutputBucket    string // SLIPWAY_OUTPUT_BUCKET
	OutputLogGroup  string // SLIPWAY_OUTPUT_LOG_GROUP
	HealthPort      int    // SLIPWAY_HEALTH_PORT
	DeadLetterQueue string // SLIPWAY_DEAD_LETTER_QUEUE: the queue's URL
}

// AWS is the backend on AWS: Step Functions runs the executions, DynamoDB
// holds the ledger, S3 the releases.
type AWS struct {
	settings AWSSettings
	clients  AWSClients
	ledger   *ledger.Dynamo
}

var _ Backend = (*AWS)(nil)

// NewAWS returns the AWS backend over clients. settings.Config and
// settings.Table are required.
func NewAWS(settings AWSSettings, clients AWSClients) (*AWS, error) {
	if settings.Config == nil {
		return nil, missingConfig()
	}
	if settings.Table == "" {
		return nil, missing(EnvTable, "--table", "the DynamoDB ledger table", "LedgerTableName", settings.Config.App)
	}
	return &AWS{settings: settings, clients: clients, ledger: &ledger.Dynamo{Client: clients.Dynamo, Table: settings.Table}}, nil
}

// OpenAWS reads the settings from opts and the environment, loads the
// SDK's configuration (region, credentials, profile) and returns the
// backend with real clients.
func OpenAWS(ctx context.Context, opts Options) (*AWS, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var cfg *config.Config
	var err error
	switch {
	case opts.ConfigFile != "":
		cfg, err = config.Load(opts.ConfigFile)
	case getenv(EnvConfig) != "":
		cfg, err = config.Parse([]byte(getenv(EnvConfig)))
	default:
		return nil, missingConfig()
	}
	if err != nil {
		return nil, err
	}
	s := AWSSettings{
		Config: cfg, Table: getenv(EnvTable), ArtifactBucket: getenv(EnvArtifactBucket),
		DeployMachine: getenv(EnvDeployMachine), RollbackMachine: getenv(EnvRollbackMachine),
		OutputBucket: getenv(EnvOutputBucket), OutputLogGroup: getenv(EnvOutputLogGroup),
		DeadLetterQueue: getenv(EnvDeadLetterQueue),
	}
	s.HealthPort, _ = strconv.Atoi(getenv(EnvHealthPort))
	if s.Table == "" {
		return nil, missing(EnvTable, "", "the DynamoDB ledger table", "LedgerTableName", cfg.App)
	}
	var loadOpts []func(*awsconfig.LoadOptions) error
	if opts.Region != "" {
		loadOpts = append(loadOpts, awsconfig.WithRegion(opts.Region))
	}
	if opts.Profile != "" {
		loadOpts = append(loadOpts, awsconfig.WithSharedConfigProfile(opts.Profile))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load the AWS configuration: %w", err)
	}
	if ac.Region == "" {
		return nil, &MissingSettingError{Name: "AWS_REGION", Flag: "--region", What: "the AWS region of the Slipway stack",
			Where: "set AWS_REGION, pass --region, or set region in your AWS profile"}
	}
	s.Region = ac.Region
	return NewAWS(s, AWSClients{
		SFN: sfn.NewFromConfig(ac), Dynamo: dynamodb.NewFromConfig(ac), S3: s3.NewFromConfig(ac), SSM: ssm.NewFromConfig(ac),
		CloudWatch: cloudwatch.NewFromConfig(ac), Secrets: secretsmanager.NewFromConfig(ac), STS: sts.NewFromConfig(ac),
		Events: eventbridge.NewFromConfig(ac), SQS: sqs.NewFromConfig(ac),
	})
}

func missingConfig() error {
	return &MissingSettingError{Name: EnvConfig, Flag: "--config FILE", What: "the Slipway configuration (the app and its environments, JSON)",
		Where: "save the one the stack gives its functions: aws lambda get-function-configuration --function-name slipway-<app>-preflight " +
			"--query Environment.Variables.SLIPWAY_CONFIG --output text > slipway.json, then pass --config slipway.json; " +
			"or add --local to work on the embedded environment"}
}

func missing(name, flag, what, output, app string) error {
	return &MissingSettingError{Name: name, Flag: flag, What: what,
		Where: fmt.Sprintf("it is the stack's %s output: aws cloudformation describe-stacks --stack-name slipway-%s --query \"Stacks[0].Outputs[?OutputKey=='%s'].OutputValue\" --output text",
			output, app, output)}
}

// Local reports false.
func (a *AWS) Local() bool { return false }

// Describe names the region and table.
func (a *AWS) Describe() string {
	return fmt.Sprintf("AWS (%s, ledger table %s)", a.settings.Region, a.settings.Table)
}

// Config is the Slipway configuration.
func (a *AWS) Config() *config.Config { return a.settings.Config }

// Ledger is the DynamoDB ledger.
func (a *AWS) Ledger() Ledger { return a.ledger }

// Artifacts is the artifact bucket.
func (a *AWS) Artifacts() (Artifacts, error) { return a.s3() }

func (a *AWS) s3() (*artifact.S3, error) {
	if a.settings.ArtifactBucket == "" {
		return nil, missing(EnvArtifactBucket, "", "the S3 bucket of the release bundles", "ArtifactBucketName", a.settings.Config.App)
	}
	return &artifact.S3{Client: a.clients.S3, Bucket: a.settings.ArtifactBucket}, nil
}

func (a *AWS) sfn() *execution.SFN {
	return &execution.SFN{Client: a.clients.SFN, Machines: map[string]string{
		MachineDeploy: a.settings.DeployMachine, MachineRollback: a.settings.RollbackMachine}}
}

// Start starts the execution on Step Functions and, with opts.Wait,
// follows it: DescribeExecution, then GetExecutionHistory from the last
// event seen, then the ledger's steps, every opts.Poll.
func (a *AWS) Start(ctx context.Context, machine, name string, input []byte, opts StartOptions) (Execution, error) {
	switch {
	case machine == MachineDeploy && a.settings.DeployMachine == "":
		return Execution{}, missing(EnvDeployMachine, "", "the deploy state machine's ARN", "DeployStateMachineArn", a.settings.Config.App)
	case machine == MachineRollback && a.settings.RollbackMachine == "":
		return Execution{}, missing(EnvRollbackMachine, "", "the rollback state machine's ARN", "RollbackStateMachineArn", a.settings.Config.App)
	}
	s := a.sfn()
	arn, err := s.Start(ctx, machine, name, input)
	if err != nil {
		return Execution{}, err
	}
	ex := Execution{Name: name, ARN: arn, Status: "RUNNING", StartDate: time.Now()}
	if !opts.Wait {
		return ex, nil
	}
	return a.follow(ctx, s, ex, opts)
}

func (a *AWS) follow(ctx context.Context, s *execution.SFN, ex Execution, opts StartOptions) (Execution, error) {
	poll := opts.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	tr := newTracker(opts.Progress)
	var last int64
	for {
		// Describe first: a history read after a final status is complete.
		st, err := s.Describe(ctx, ex.ARN)
		if err != nil {
			return ex, err
		}
		events, err := s.History(ctx, ex.ARN, last)
		if err != nil {
			return ex, err
		}
		steps, err := a.ledger.Steps(ctx, ex.Name)
		if err != nil {
			return ex, err
		}
		// Steps and events in time order: a stage's steps before the event
		// that ends it.
		k := min(tr.seen, len(steps))
		for _, ev := range events {
			at := aws.ToTime(ev.Timestamp)
			for k < len(steps) && !steps[k].At.After(at) {
				k++
			}
			tr.steps(steps[:k])
			name := ""
			if ev.StateEnteredEventDetails != nil {
				name = aws.ToString(ev.StateEnteredEventDetails.Name)
			}
			tr.state(string(ev.Type), name, at)
			last = max(last, ev.Id)
		}
		tr.steps(steps)
		if opts.Waves && (tr.wantsResults() || st.Status != "RUNNING") {
			// Progress only: a read that fails is tried at the next poll.
			if rs, err := a.ledger.InstanceResults(ctx, ex.Name); err == nil {
				tr.results(rs)
			}
		}
		if st.Status != "RUNNING" {
			tr.end(st.StopDate)
			ex.Status, ex.Error, ex.Cause, ex.StartDate, ex.StopDate = st.Status, st.Error, st.Cause, st.StartDate, st.StopDate
			return ex, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ex, ctx.Err()
		case <-t.C:
		}
	}
}

// Resume completes the approval's task token with SendTaskSuccess or
// SendTaskFailure (error Rejected).
func (a *AWS) Resume(ctx context.Context, ap ledger.Approval) error {
	s := a.sfn()
	switch ap.Decision {
	case ledger.ApprovalApproved:
		out, _ := json.Marshal(contract.ApprovalOutput{ApprovedBy: ap.DecidedBy, Reason: ap.Reason})
		return s.Approve(ctx, ap.Token, string(out))
	case ledger.ApprovalRejected:
		return s.Reject(ctx, ap.Token, "Rejected", fmt.Sprintf("rejected by %s: %s", ap.DecidedBy, ap.Reason))
	}
	return fmt.Errorf("resume deployment %s: it is not decided", ap.DeploymentID)
}

// Identity is the caller's ARN (STS GetCallerIdentity).
func (a *AWS) Identity(ctx context.Context) (string, error) {
	out, err := a.clients.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("who am I (sts get-caller-identity): %w", err)
	}
	return aws.ToString(out.Arn), nil
}

// Plan runs Preflight's checks read-only on AWS: it reads the ledger,
// the bucket, SSM's instance list, CloudWatch alarms and the database
// secret, and connects to the database only to read its migration table.
func (a *AWS) Plan(ctx context.Context, req contract.DeployRequest) (*report.Report, error) {
	store, err := a.s3()
	if err != nil {
		return nil, err
	}
	d := &pipeline.Deps{
		Config: a.settings.Config, Ledger: a.ledger, Artifacts: store,
		Fleet:   &fleet.SSM{Client: a.clients.SSM, HealthPort: a.settings.HealthPort},
		Secrets: &secret.Manager{Client: a.clients.Secrets}, OpenDB: migrate.OpenDB,
		Snapshots: func(env string, c config.Environment) (pipeline.Snapshotter, error) {
			if c.DBInstance == "" && c.DBCluster == "" {
				return nil, fmt.Errorf("environment %s has neither db_instance nor db_cluster", env)
			}
			return snapshot.RDSDatabase{DBInstance: c.DBInstance, DBCluster: c.DBCluster}, nil
		},
		Alarms:        &health.CloudWatch{Client: a.clients.CloudWatch},
		MigrationPlan: schema.Plan,
		CanaryMetrics: &health.CloudWatchCanary{},
	}
	if cs, err := a.ConfigStore(); err == nil {
		d.ConfigStore = cs
	}
	return pipeline.Plan(ctx, d, req, pipeline.PlanOptions{Hints: a.Hints(req.Environment)})
}

// Instances lists the environment's managed instances by the tags the
// configuration gives it. What each serves is not read: that takes a
// command on every host.
func (a *AWS) Instances(ctx context.Context, env string) ([]Instance, error) {
	e, err := a.settings.Config.Env(env)
	if err != nil {
		return nil, err
	}
	if len(e.Tags) == 0 {
		return nil, fmt.Errorf("list the instances of %s: the configuration gives it no tags (they are in the release's manifest): %w", env, ErrNotSupported)
	}
	f := &fleet.SSM{Client: a.clients.SSM, HealthPort: a.settings.HealthPort}
	insts, err := f.Instances(ctx, env, e.Tags)
	if err != nil {
		return nil, err
	}
	out := make([]Instance, 0, len(insts))
	for _, i := range insts {
		out = append(out, Instance{ID: i.ID, Online: i.Online})
	}
	return out, nil
}

// Hints name the consoles and log groups of the stack.
func (a *AWS) Hints(env string) report.Hints {
	app, region := a.settings.Config.App, a.settings.Region
	h := report.Hints{
		Dashboards: []string{fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#alarmsV2:", region, region)},
		LogGroups: []string{
			"/aws/lambda/slipway-" + app + "-<function> (preflight, lock, snapshot, migrate, deploy, health, rollback, record, approval)",
			"/aws/vendedlogs/states/slipway-" + app + "-deploy",
		},
	}
	if m := a.settings.DeployMachine; m != "" {
		h.Dashboards = append(h.Dashboards, fmt.Sprintf("https://%s.console.aws.amazon.com/states/home?region=%s#/statemachines/view/%s", region, region, m))
	}
	group := a.settings.OutputLogGroup
	if group == "" {
		group = "/slipway/" + app + "/commands"
	}
	h.CommandOutput = "full command output: CloudWatch Logs group " + group
	if a.settings.OutputBucket != "" {
		h.CommandOutput += fmt.Sprintf(" and s3://%s/command-output/", a.settings.OutputBucket)
	}
	return h
}

// Timings reads the execution's history.
func (a *AWS) Timings(ctx context.Context, d ledger.Deployment) ([]report.StageTiming, error) {
	if d.ExecutionID == "" {
		return nil, nil
	}
	evs, err := a.sfn().History(ctx, d.ExecutionID, 0)
	if err != nil {
		return nil, err
	}
	hs := make([]historyEvent, 0, len(evs))
	for _, ev := range evs {
		name := ""
		if ev.StateEnteredEventDetails != nil {
			name = aws.ToString(ev.StateEnteredEventDetails.Name)
		}
		hs = append(hs, historyEvent{typ: string(ev.Type), name: name, at: aws.ToTime(ev.Timestamp)})
	}
	return timingsOf(hs), nil
}

// ConfigStore reads SSM parameters and Secrets Manager secrets with the
// caller's credentials.
func (a *AWS) ConfigStore() (appconfig.Store, error) {
	params := a.clients.Parameters
	if params == nil {
		params, _ = a.clients.SSM.(appconfig.SSMAPI)
	}
	if params == nil || a.clients.Secrets == nil {
		return nil, fmt.Errorf("read configuration: no SSM or Secrets Manager client: %w", ErrNotSupported)
	}
	return &appconfig.AWS{SSM: params, Secrets: a.clients.Secrets}, nil
}

// PutPushEvent puts a slipway.git "Git Push" event on the default bus.
// Reconcile closes nothing on AWS: the execution-status rule's closer
// function closes the record of an execution that timed out, was stopped
// or failed outside a Catch, from what it observes of the fleet.
func (a *AWS) Reconcile(context.Context, string) ([]string, error) { return nil, nil }

func (a *AWS) PutPushEvent(ctx context.Context, p trigger.GitPush) error {
	detail, _ := json.Marshal(p)
	out, err := a.clients.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("slipway.git"), DetailType: aws.String("Git Push"), Detail: aws.String(string(detail)), EventBusName: aws.String("default"),
	}}})
	if err != nil {
		return fmt.Errorf("put the push event of %s: %w", p.Commit, err)
	}
	if out.FailedEntryCount > 0 {
		msg := "unknown error"
		if len(out.Entries) > 0 {
			msg = aws.ToString(out.Entries[0].ErrorCode) + ": " + aws.ToString(out.Entries[0].ErrorMessage)
		}
		return fmt.Errorf("put the push event of %s: %s", p.Commit, msg)
	}
	return nil
}

// DeadLetters are the events waiting in the stack's dead-letter queue:
// events EventBridge could not deliver to Slipway, and events a trigger
// function failed on. The counts are SQS's approximate ones.
type DeadLetters struct {
	// Queue is the queue's URL.
	Queue string `json:"queue"`
	// Waiting is how many can be read now; InFlight how many someone is
	// reading.
	Waiting  int `json:"waiting"`
	InFlight int `json:"in_flight"`
}

// DeadLetters reads the depth of the dead-letter queue
// (SLIPWAY_DEAD_LETTER_QUEUE) with SQS GetQueueAttributes.
func (a *AWS) DeadLetters(ctx context.Context) (DeadLetters, error) {
	url := a.settings.DeadLetterQueue
	if url == "" {
		return DeadLetters{}, missing(EnvDeadLetterQueue, "", "the URL of the stack's dead-letter queue", "DeadLetterQueueUrl", a.settings.Config.App)
	}
	if a.clients.SQS == nil {
		return DeadLetters{}, fmt.Errorf("read the dead-letter queue %s: no SQS client", url)
	}
	out, err := a.clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	var gone *sqstypes.QueueDoesNotExist
	if errors.As(err, &gone) {
		return DeadLetters{}, fmt.Errorf("read the dead-letter queue %s: it does not exist; set %s to the stack's DeadLetterQueueUrl output: %w", url, EnvDeadLetterQueue, err)
	}
	if err != nil {
		return DeadLetters{}, fmt.Errorf("read the dead-letter queue %s: %w", url, err)
	}
	d := DeadLetters{Queue: url}
	for name, n := range map[sqstypes.QueueAttributeName]*int{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages:           &d.Waiting,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible: &d.InFlight,
	} {
		if v, ok := out.Attributes[string(name)]; ok {
			if *n, err = strconv.Atoi(v); err != nil {
				return DeadLetters{}, fmt.Errorf("read the dead-letter queue %s: %s is %q, not a number", url, name, v)
			}
		}
	}
	return d, nil
}

// Close does nothing.
func (a *AWS) Close() error { return nil }

// IsMissingSetting reports whether err names a missing setting.
func IsMissingSetting(err error) (*MissingSettingError, bool) {
	var m *MissingSettingError
	ok := errors.As(err, &m)
	return m, ok
}
