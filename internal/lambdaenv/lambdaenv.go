// Package lambdaenv builds what a Slipway Lambda runs on from its
// environment: the AWS SDK configuration, the Slipway configuration, a JSON
// logger for CloudWatch, and the AWS adapter for each port. The functions'
// mains call it once, outside the handler, so clients are reused across
// invocations.
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
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/execution"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/notify"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/internal/snapshot"
)

// Env is a Lambda's environment.
type Env struct {
	AWS    aws.Config
	Config *config.Config
	Log    *slog.Logger
	Getenv func(string) string
}

// Load reads the environment. An error names the missing setting.
func Load(ctx context.Context) (*Env, error) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	slog.SetDefault(log)
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return &Env{AWS: awsCfg, Config: cfg, Log: log, Getenv: os.Getenv}, nil
}

// Require returns an environment variable or an error naming it.
func (e *Env) Require(name string) (string, error) {
	v := e.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s is not set: the function's configuration is incomplete (redeploy the Slipway stack)", name)
	}
	return v, nil
}

func (e *Env) intVar(name string, def int) int {
	if n, err := strconv.Atoi(e.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// Deps returns the dependencies every handler shares (configuration and
// logger); a main adds the adapters its handler uses, and only those, so a
// function links only the SDK clients it calls.
func (e *Env) Deps() *pipeline.Deps {
	return &pipeline.Deps{Config: e.Config, Log: e.Log}
}

// Must returns v, or logs err and exits: for a main's configuration step,
// where a Lambda cannot start without the value.
func Must[T any](v T, err error) T {
	if err != nil {
		slog.Error("configure the function", "err", err)
		os.Exit(1)
	}
	return v
}

// Ledger is the DynamoDB ledger.
func (e *Env) Ledger() (*ledger.Dynamo, error) {
	table, err := e.Require("SLIPWAY_TABLE")
	if err != nil {
		return nil, err
	}
	return &ledger.Dynamo{Client: dynamodb.NewFromConfig(e.AWS), Table: table}, nil
}

// Artifacts is the S3 artifact store.
func (e *Env) Artifacts() (*artifact.S3, error) {
	bucket, err := e.Require("SLIPWAY_ARTIFACT_BUCKET")
	if err != nil {
		return nil, err
	}
	return &artifact.S3{Client: s3.NewFromConfig(e.AWS), Bucket: bucket}, nil
}

// Fleet is the SSM Run Command fleet.
func (e *Env) Fleet() (*fleet.SSM, error) {
	doc, err := e.Require("SLIPWAY_SSM_DOCUMENT")
	if err != nil {
		return nil, err
	}
	return &fleet.SSM{
		Client: ssm.NewFromConfig(e.AWS), DocumentName: doc,
		OutputBucket: e.Getenv("SLIPWAY_OUTPUT_BUCKET"), OutputPrefix: "command-output/",
		LogGroup:       e.Getenv("SLIPWAY_OUTPUT_LOG_GROUP"),
		TimeoutSeconds: int32(e.intVar("SLIPWAY_COMMAND_TIMEOUT", 600)),
		HealthPort:     e.HealthPort(),
	}, nil
}

// HealthPort is the app's health check port on EC2 instances.
func (e *Env) HealthPort() int { return e.intVar("SLIPWAY_HEALTH_PORT", 80) }

// Prober probes instances over HTTP.
func (e *Env) Prober() *health.Prober { return health.NewProber(3 * time.Second) }

// Secrets is Secrets Manager, cached per container.
func (e *Env) Secrets() *secret.Manager {
	return &secret.Manager{Client: secretsmanager.NewFromConfig(e.AWS)}
}

// Snapshots snapshots an environment's RDS instance or Aurora cluster.
func (e *Env) Snapshots() func(string, config.Environment) (pipeline.Snapshotter, error) {
	client := rds.NewFromConfig(e.AWS)
	return func(env string, c config.Environment) (pipeline.Snapshotter, error) {
		if c.DBInstance == "" && c.DBCluster == "" {
			return nil, fmt.Errorf("environment %s has neither db_instance nor db_cluster in the Slipway configuration: Slipway will not migrate without a snapshot", env)
		}
		return &snapshot.RDS{Client: client, DBInstance: c.DBInstance, DBCluster: c.DBCluster,
			Tags: map[string]string{"slipway:app": e.Config.App, "slipway:env": env}}, nil
	}
}

// Starter starts the deploy and rollback state machines on Step Functions.
func (e *Env) Starter() (*execution.SFN, error) {
	deploy, err := e.Require("SLIPWAY_DEPLOY_STATE_MACHINE")
	if err != nil {
		return nil, err
	}
	rollback, err := e.Require("SLIPWAY_ROLLBACK_STATE_MACHINE")
	if err != nil {
		return nil, err
	}
	return &execution.SFN{Client: sfn.NewFromConfig(e.AWS), Machines: map[string]string{"deploy": deploy, "rollback": rollback}}, nil
}

// Notifier publishes to the SNS topic.
func (e *Env) Notifier() (*notify.SNS, error) {
	topic, err := e.Require("SLIPWAY_TOPIC_ARN")
	if err != nil {
		return nil, err
	}
	return &notify.SNS{Client: sns.NewFromConfig(e.AWS), TopicARN: topic}, nil
}

// Alarms is CloudWatch.
func (e *Env) Alarms() *health.CloudWatch {
	return &health.CloudWatch{Client: cloudwatch.NewFromConfig(e.AWS)}
}
