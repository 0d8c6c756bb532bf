// Package outcome decides what a command's result means for the person who
// ran it: the exit code (factory.ExitOK, ExitFailed, ExitUsage,
// ExitRefused, ExitAuth) and the suggestion of what to do next.
//
// Deployment reads a finished deployment's ledger record; Error classifies
// any other error (a missing setting, AWS credentials, a lock, a record
// that does not exist). It prints nothing.
package outcome

import (
	"errors"
	"fmt"
	"net"
	"strings"

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

// Refused reports whether a failed deployment's error (and cause) is a
// refusal (contract.Refusals).
func Refused(errName, cause string) bool { return contract.Refusal(errName) }

// Deployment returns the exit code of a finished deployment and what to do
// next. A rollback execution that ends ROLLED_BACK succeeded.
func Deployment(d ledger.Deployment) (int, string) {
	env, id := d.Environment, d.ID
	switch {
	case d.Status == contract.StatusSucceeded, d.Kind == contract.KindRollback && d.Status == contract.StatusRolledBack:
		return factory.ExitOK, ""
	case d.Status == contract.StatusFailed && Refused(d.Error, d.Cause):
		return factory.ExitRefused, refusalHint(d)
	case d.Status == contract.StatusFailed && d.Kind == contract.KindRollback:
		return factory.ExitFailed, fmt.Sprintf("nothing was changed; `slipway status --env %s` shows what serves and `slipway history --env %s` what ran; `slipway rollback --env %s --to VERSION` names the release to return to", env, env, env)
	case d.Status == contract.StatusFailed:
		return factory.ExitFailed, fmt.Sprintf("nothing was changed; `slipway plan --env %s --version %s` runs the same checks without starting anything", env, d.Version)
	case d.Status == contract.StatusRollbackFailed:
		return factory.ExitFailed, fmt.Sprintf("look now: `slipway show %s` says what stays on %s, `slipway logs %s` has the instances' output", id, d.Version, id)
	case d.Status == contract.StatusRolledBack:
		return factory.ExitFailed, fmt.Sprintf("`slipway show %s` has the full report, `slipway logs %s` the instances' output", id, id)
	case d.Status == contract.StatusRolledBackSchemaKept:
		return factory.ExitFailed, fmt.Sprintf("every instance is back, but the schema is not: `slipway show %s` gives the snapshot and the exact restore procedure", id)
	case d.Status == contract.StatusStopped, d.Status == contract.StatusAbandoned:
		return factory.ExitFailed, fmt.Sprintf("it did not roll back: `slipway show %s` says what every instance serves; `slipway rollback --env %s` returns to the release before it", id, env)
	}
	return factory.ExitFailed, fmt.Sprintf("the deployment has not finished: `slipway status --env %s`", env)
}

func refusalHint(d ledger.Deployment) string {
	env := d.Environment
	switch d.Error {
	case "LockHeld":
		return fmt.Sprintf("a person froze %s: `slipway lock status --env %s` says who and why; they release it with `slipway lock release --env %s`", env, env, env)
	case "DeploymentInProgress":
		return fmt.Sprintf("another deployment kept the lease: `slipway status --env %s`; if it is stuck, `slipway unlock --env %s --force`", env, env)
	case "Superseded":
		return fmt.Sprintf("a newer push was deployed instead: `slipway history --env %s`", env)
	case "Frozen":
		return "deploy after the freeze, or add --override-freeze --reason \"why this cannot wait\""
	case "Rejected":
		return fmt.Sprintf("`slipway show %s` has who rejected it and why", d.ID)
	case "Untested":
		return fmt.Sprintf("publish %s from the build that tested it with its result (`slipway release publish FILE --version %s --tests-passed`, or --test-report FILE), or say require: none in the manifest", d.Version, d.Version)
	}
	return fmt.Sprintf("fix the migration, or allow it by name in the manifest's migrations.allow; `slipway plan --env %s --version %s` shows the findings", env, d.Version)
}

// authCodes are the AWS error codes of missing or refused credentials.
var authCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true, "UnrecognizedClientException": true,
	"InvalidClientTokenId": true, "ExpiredToken": true, "ExpiredTokenException": true, "InvalidSignatureException": true,
	"SignatureDoesNotMatch": true, "MissingAuthenticationToken": true, "AuthFailure": true, "NotAuthorized": true,
	"RequestExpired": true,
}

// IsAuth reports whether err comes from missing, expired or refused AWS
// credentials.
func IsAuth(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && authCodes[ae.ErrorCode()] {
		return true
	}
	m := err.Error()
	for _, s := range []string{"get credentials:", "failed to refresh cached credentials", "no EC2 IMDS role found", "failed to retrieve credentials", "the SSO session has expired"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// IsConnection reports whether err is a failure to reach AWS at all: a
// name that does not resolve, a refused or timed-out connection, or no
// region to find the endpoint with.
func IsConnection(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || errors.As(err, &op) {
		return true
	}
	m := err.Error()
	for _, s := range []string{"an AWS region is required", "Invalid region", "failed to resolve service endpoint", "dial tcp", "no such host", "connection refused", "i/o timeout"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// ConnectionHint says what to check when AWS cannot be reached.
const ConnectionHint = "AWS could not be reached: check the network, the region (--region or AWS_REGION) and AWS_ENDPOINT_URL if set; " +
	"for the embedded environment, run where .slipway/local is or give --local-dir DIR"

// Error returns err as an *factory.ExitError with the exit code and the
// suggestion that go with it. Errors that already carry a code keep it.
func Error(err error) error {
	if err == nil {
		return nil
	}
	var ee *factory.ExitError
	var se *factory.SilentError
	if errors.As(err, &ee) || errors.As(err, &se) {
		return err
	}
	if IsUsage(err) {
		return &factory.ExitError{Code: factory.ExitUsage, Err: err}
	}
	var (
		missing *backend.MissingSettingError
		held    *ledger.HeldError
		decided *ledger.DecidedError
		unknown *config.UnknownEnvironmentError
		notPub  *artifact.NotFoundError
		lockH   *contract.LockHeld
		frozen  *contract.Frozen
	)
	switch {
	case errors.As(err, &missing):
		return factory.WithHint(factory.ExitUsage, err, missing.Hint())
	case errors.Is(err, localenv.ErrNotInitialized):
		return factory.WithHint(factory.ExitUsage, err, "create one with `slipway local init`, or run `make demo`")
	case IsAuth(err):
		return factory.WithHint(factory.ExitAuth, err, "check the AWS credentials (`aws sts get-caller-identity`) and that they may call this; AWS_PROFILE or --profile picks a profile")
	case errors.As(err, &held), errors.As(err, &lockH), errors.As(err, &frozen):
		return &factory.ExitError{Code: factory.ExitRefused, Err: err}
	case errors.As(err, &decided):
		return factory.WithHint(factory.ExitRefused, err, "a decision is final; start a new deployment to ask again")
	case errors.Is(err, trigger.ErrAlreadyStarted):
		return factory.WithHint(factory.ExitRefused, err, "an execution of that name exists: `slipway history` lists it")
	case errors.As(err, &unknown):
		return &factory.ExitError{Code: factory.ExitUsage, Err: err}
	case errors.As(err, &notPub):
		return factory.WithHint(factory.ExitRefused, err, fmt.Sprintf("`slipway release publish FILE --version %s` publishes it", notPub.Version))
	case errors.Is(err, ledger.ErrNotFound):
		return factory.WithHint(factory.ExitUsage, err, "`slipway history` lists the deployments and their ids")
	case errors.Is(err, backend.ErrNotSupported):
		return &factory.ExitError{Code: factory.ExitUsage, Err: err}
	case IsConnection(err):
		return factory.WithHint(factory.ExitFailed, err, ConnectionHint)
	}
	return &factory.ExitError{Code: factory.ExitFailed, Err: err}
}

// Code is the exit code Error gives err.
func Code(err error) int { return factory.ExitCode(Error(err)) }

// IsUsage recognises cobra's own argument and flag errors.
func IsUsage(err error) bool {
	m := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires ", "required flag", "invalid argument", "flag needs an argument", "bad flag syntax"} {
		if strings.HasPrefix(m, p) || strings.Contains(m, "flag needs an argument") {
			return true
		}
	}
	return false
}
