package outcome

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

func TestDeployment(t *testing.T) {
	tests := []struct {
		name     string
		d        ledger.Deployment
		wantCode int
	}{
		{"succeeded", ledger.Deployment{Kind: "deploy", Status: contract.StatusSucceeded}, factory.ExitOK},
		{"a rollback that rolled back", ledger.Deployment{Kind: "rollback", Status: contract.StatusRolledBack}, factory.ExitOK},
		{"rolled back", ledger.Deployment{Kind: "deploy", Status: contract.StatusRolledBack, Error: "HealthCheckFailed"}, factory.ExitFailed},
		{"rollback failed", ledger.Deployment{Kind: "deploy", Status: contract.StatusRollbackFailed}, factory.ExitFailed},
		{"a rollback that failed", ledger.Deployment{Kind: "rollback", Status: contract.StatusRollbackFailed}, factory.ExitFailed},
		{"failed in preflight", ledger.Deployment{Kind: "deploy", Status: contract.StatusFailed, Error: "PreflightFailed", Cause: "release v9 of shop is not published"}, factory.ExitFailed},
		{"the migration gate", ledger.Deployment{Kind: "deploy", Status: contract.StatusFailed, Error: "MigrationBlocked", Cause: "the migration policy blocks 1 pending migration(s) of this release"}, factory.ExitRefused},
		{"a manual lock", ledger.Deployment{Kind: "deploy", Status: contract.StatusFailed, Error: "LockHeld"}, factory.ExitRefused},
		{"another deployment kept the lease", ledger.Deployment{Kind: "deploy", Status: contract.StatusFailed, Error: "DeploymentInProgress"}, factory.ExitRefused},
		{"superseded", ledger.Deployment{Kind: "deploy", Status: contract.StatusFailed, Error: "Superseded"}, factory.ExitRefused},
		{"frozen", ledger.Deployment{Kind: "deploy", Status: contract.StatusFailed, Error: "Frozen"}, factory.ExitRefused},
		{"rejected", ledger.Deployment{Kind: "deploy", Status: contract.StatusFailed, Error: "Rejected"}, factory.ExitRefused},
		{"a rollback stopped by a lock", ledger.Deployment{Kind: "rollback", Status: contract.StatusFailed, Error: "LockHeld"}, factory.ExitRefused},
		{"still running", ledger.Deployment{Kind: "deploy", Status: contract.StatusRunning}, factory.ExitFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hint := Deployment(tt.d)
			if code != tt.wantCode {
				t.Errorf("Deployment(%s %s) = %d, want %d", tt.d.Status, tt.d.Error, code, tt.wantCode)
			}
			if code != factory.ExitOK && hint == "" {
				t.Errorf("Deployment(%s %s) has no suggestion", tt.d.Status, tt.d.Error)
			}
		})
	}
}

func TestError(t *testing.T) {
	accessDenied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:iam::1:user/ada is not authorized to perform: dynamodb:Query"}
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantHint bool
	}{
		{"nil", nil, factory.ExitOK, false},
		{"a missing setting", &backend.MissingSettingError{Name: "SLIPWAY_TABLE", What: "the table", Where: "the stack's output"}, factory.ExitUsage, true},
		{"no embedded environment", fmt.Errorf("%w in /x: run init", localenv.ErrNotInitialized), factory.ExitUsage, true},
		{"access denied", fmt.Errorf("list deployments: %w", accessDenied), factory.ExitAuth, true},
		{"expired token", &smithy.GenericAPIError{Code: "ExpiredTokenException"}, factory.ExitAuth, true},
		{"no credentials", errors.New("operation error DynamoDB: Query, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found"), factory.ExitAuth, true},
		{"throttled is not auth", &smithy.GenericAPIError{Code: "ThrottlingException"}, factory.ExitFailed, false},
		{"a manual lock", &ledger.HeldError{Lock: ledger.Lock{Kind: ledger.LockManual}}, factory.ExitRefused, false},
		{"a decided approval", &ledger.DecidedError{}, factory.ExitRefused, true},
		{"an execution that exists", fmt.Errorf("start x: %w", trigger.ErrAlreadyStarted), factory.ExitRefused, true},
		{"an unknown environment", &config.UnknownEnvironmentError{App: "shop", Name: "qa"}, factory.ExitUsage, false},
		{"an unpublished release is refused", &artifact.NotFoundError{App: "shop", Version: "v9"}, factory.ExitRefused, true},
		{"AWS unreachable", fmt.Errorf("query: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), factory.ExitFailed, true},
		{"no region", errors.New("failed to resolve service endpoint, an AWS region is required, but was not found"), factory.ExitFailed, true},
		{"an unknown deployment", fmt.Errorf("deployment x: %w", ledger.ErrNotFound), factory.ExitUsage, true},
		{"a cobra flag error", errors.New("unknown flag: --nope"), factory.ExitUsage, false},
		{"an exit error keeps its code", factory.WithHint(factory.ExitRefused, errors.New("x"), "y"), factory.ExitRefused, true},
		{"anything else fails", errors.New("disk full"), factory.ExitFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Error(tt.err)
			if code := factory.ExitCode(err); code != tt.wantCode {
				t.Errorf("Error(%v) = exit %d, want %d", tt.err, code, tt.wantCode)
			}
			var ee *factory.ExitError
			if got := errors.As(err, &ee) && ee.Hint != ""; got != tt.wantHint {
				t.Errorf("Error(%v) has a hint = %v, want %v", tt.err, got, tt.wantHint)
			}
		})
	}
}
