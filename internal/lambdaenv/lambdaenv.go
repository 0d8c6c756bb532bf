// Package lambdaenv reads what a Slipway Lambda runs on from its
// environment: the AWS SDK configuration, the Slipway configuration, a JSON
// logger for CloudWatch, and the settings the CDK stack gives every
// function. The functions' mains call it once, outside the handler, and
// build from it the SDK clients their handler calls, and only those.
//
// It imports no AWS service package and no adapter: a package linked into
// a Lambda runs its init at every cold start, and the SDK's service
// packages cost milliseconds each, so each main imports the clients it
// uses itself (see scripts/coldstart.sh). For the same reason it does not
// use the SDK's config loader, which links the STS, SSO and sign-in
// clients for credential sources a Lambda never has: Lambda gives a
// function its region and its role's credentials as environment
// variables, and that is all Load reads.
//
// Environment variables (set by the CDK stack in infra/):
//
//	SLIPWAY_CONFIG           the app's environments (JSON, see config)
//	SLIPWAY_TABLE            the DynamoDB ledger table
//	SLIPWAY_ARTIFACT_BUCKET  the S3 bucket holding release bundles
//	SLIPWAY_SSM_DOCUMENT     the SSM Command document running the host script
//	SLIPWAY_OUTPUT_BUCKET    optional: S3 bucket for full command output
//	SLIPWAY_OUTPUT_LOG_GROUP optional: CloudWatch Logs group for command output
//	SLIPWAY_HEALTH_PORT      the port the app's health check answers on (default 80)
//	SLIPWAY_COMMAND_TIMEOUT  seconds an activation may take on a host (default 600)
//	SLIPWAY_TOPIC_ARN        the SNS topic for reports and approval requests
//	SLIPWAY_DEPLOY_STATE_MACHINE, SLIPWAY_ROLLBACK_STATE_MACHINE
//	                         the state machines' ARNs (trigger functions)
//
// and, from Lambda itself, AWS_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_EXECUTION_ENV.
// AWS_ENDPOINT_URL, when set, sends every client to one endpoint (tests
// point it at their fakes; the stack never sets it).
package lambdaenv

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/slipway-deploy/slipway/internal/config"
)

// Settings the stack gives the functions, by environment variable.
const (
	Table                = "SLIPWAY_TABLE"
	ArtifactBucket       = "SLIPWAY_ARTIFACT_BUCKET"
	SSMDocument          = "SLIPWAY_SSM_DOCUMENT"
	OutputBucket         = "SLIPWAY_OUTPUT_BUCKET"
	OutputLogGroup       = "SLIPWAY_OUTPUT_LOG_GROUP"
	HealthPort           = "SLIPWAY_HEALTH_PORT"
	CommandTimeout       = "SLIPWAY_COMMAND_TIMEOUT"
	TopicARN             = "SLIPWAY_TOPIC_ARN"
	DeployStateMachine   = "SLIPWAY_DEPLOY_STATE_MACHINE"
	RollbackStateMachine = "SLIPWAY_ROLLBACK_STATE_MACHINE"
)

// OutputPrefix is the key prefix of full command output in OutputBucket.
const OutputPrefix = "command-output/"

// Env is a Lambda's environment.
type Env struct {
	// AWS is the SDK configuration every client of the function is built
	// from (NewFromConfig), so that what is set here (tests add a
	// middleware to APIOptions) reaches every client.
	AWS    aws.Config
	Config *config.Config
	Log    *slog.Logger
	Getenv func(string) string
}

// Load reads the process environment and makes its JSON logger the
// default. An error names the missing setting.
func Load() (*Env, error) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	slog.SetDefault(log)
	return New(os.Getenv, log)
}

// New reads the environment getenv gives.
func New(getenv func(string) string, log *slog.Logger) (*Env, error) {
	raw := getenv(config.EnvVar)
	if raw == "" {
		return nil, fmt.Errorf("%s is not set: the function needs its configuration (the CDK stack sets it)", config.EnvVar)
	}
	cfg, err := config.Parse([]byte(raw))
	if err != nil {
		return nil, err
	}
	awsCfg, err := AWSConfig(getenv)
	if err != nil {
		return nil, err
	}
	return &Env{AWS: awsCfg, Config: cfg, Log: log, Getenv: getenv}, nil
}

// AWSConfig is the SDK configuration of a Lambda: its region and its
// role's credentials, from the variables Lambda sets. The credentials are
// those of the execution environment's whole life, as the SDK's own
// loader would read them (environment credentials come first there too).
func AWSConfig(getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	var missing []string
	for name, v := range map[string]string{"AWS_REGION": region, "AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return aws.Config{}, fmt.Errorf("load AWS configuration: %s not set: Lambda sets them for a function (this code runs only as a Slipway Lambda)", strings.Join(missing, " and "))
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))),
		RuntimeEnvironment: aws.RuntimeEnvironment{
			EnvironmentIdentifier: aws.ExecutionEnvironmentID(getenv("AWS_EXECUTION_ENV")),
			Region:                region,
		},
	}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" {
		cfg.BaseEndpoint = aws.String(u)
	}
	return cfg, nil
}

// Require returns an error naming every setting among names that is not
// set.
func (e *Env) Require(names ...string) error {
	var missing []string
	for _, n := range names {
		if e.Getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return errors.New(strings.Join(missing, ", ") + " not set: the function's configuration is incomplete (redeploy the Slipway stack)")
}

// Get returns a setting, "" when it is not set.
func (e *Env) Get(name string) string { return e.Getenv(name) }

func (e *Env) intVar(name string, def int) int {
	if n, err := strconv.Atoi(e.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// HasTargetGroups reports whether any environment sits behind a load
// balancer: it names target groups (config.Environment.TargetGroups) or
// is blue/green (a listener and a target group per side). Only then does
// a function that moves instances or traffic build an ELBv2 client
// (pipeline.Deps.Traffic stays nil otherwise).
func (e *Env) HasTargetGroups() bool {
	for _, env := range e.Config.Environments {
		if len(env.TargetGroups) > 0 || env.BlueGreen != nil {
			return true
		}
	}
	return false
}

// HealthPort is the app's health check port on EC2 instances.
func (e *Env) HealthPort() int { return e.intVar(HealthPort, 80) }

// CommandTimeout is how many seconds one activation may take on a host.
func (e *Env) CommandTimeout() int32 { return int32(e.intVar(CommandTimeout, 600)) }

// Must returns v, or logs err and exits: for a main's configuration step,
// where a Lambda cannot start without the value.
func Must[T any](v T, err error) T {
	if err != nil {
		slog.Error("configure the function", "err", err)
		os.Exit(1)
	}
	return v
}
