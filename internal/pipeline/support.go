package pipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/smithy-go"

	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Step statuses written to the ledger (contract.Step*).
const (
	StepOK      = contract.StepOK
	StepFailed  = contract.StepFailed
	StepSkipped = contract.StepSkipped
	StepInfo    = contract.StepInfo
)

// step writes one ledger step. A ledger failure is logged, not returned:
// the step's own outcome matters more than its note, and Record writes the
// final word.
func (d *Deps) Step(ctx context.Context, deploymentID, stage, status, msg string, detail any) {
	st := ledger.Step{DeploymentID: deploymentID, Stage: stage, Status: status, Message: msg, At: d.Time()}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err == nil {
			st.Detail = b
		}
	}
	if err := d.Ledger.AddStep(ctx, st); err != nil {
		d.Logger().Error("ledger step not written", "deployment", deploymentID, "stage", stage, "err", err)
	}
	d.Logger().Info(msg, "deployment", deploymentID, "stage", stage, "status", status)
}

// bundleCache keeps opened bundles per container, by checksum.
type bundleCache struct {
	mu sync.Mutex
	m  map[string]*bundle.Bundle
}

// openBundle fetches a release and verifies its checksum before anything in
// it is trusted.
func (d *Deps) OpenBundle(ctx context.Context, a contract.Artifact) (*bundle.Bundle, error) {
	d.bundles.mu.Lock()
	b, ok := d.bundles.m[a.SHA256]
	d.bundles.mu.Unlock()
	if ok {
		return b, nil
	}
	data, err := d.Artifacts.Fetch(ctx, a)
	if err != nil {
		return nil, err
	}
	b, err = bundle.Open(a.URI, data, a.SHA256)
	if err != nil {
		return nil, err
	}
	d.bundles.mu.Lock()
	if d.bundles.m == nil {
		d.bundles.m = map[string]*bundle.Bundle{}
	}
	d.bundles.m[a.SHA256] = b
	d.bundles.mu.Unlock()
	return b, nil
}

// openDatabase opens the environment's database from its secret.
func (d *Deps) OpenDatabase(ctx context.Context, env string) (*sql.DB, secret.Database, error) {
	e, err := d.Config.Env(env)
	if err != nil {
		return nil, secret.Database{}, err
	}
	if e.DatabaseSecret == "" {
		return nil, secret.Database{}, fmt.Errorf("environment %s has no database_secret in the Slipway configuration", env)
	}
	v, err := d.Secrets.Get(ctx, e.DatabaseSecret)
	if err != nil {
		return nil, secret.Database{}, err
	}
	dbs, err := secret.ParseDatabase(e.DatabaseSecret, v)
	if err != nil {
		return nil, secret.Database{}, err
	}
	db, err := d.OpenDB(ctx, dbs)
	if err != nil {
		return nil, dbs, errors.New(secret.Scrub(fmt.Sprintf("connect to the database of %s (%s, from secret %q): %v; check the secret and that the database accepts connections from here",
			env, dbs, e.DatabaseSecret, err), dbs.Password))
	}
	return db, dbs, nil
}

// transient reports whether err is worth retrying as is: an AWS error
// that says so, a deadline, or a port's own TransientError.
func transient(err error) bool {
	var te *contract.TransientError
	if errors.As(err, &te) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
			"ProvisionedThroughputExceededException", "InternalServerError", "InternalFailure", "ServiceUnavailable":
			return true
		}
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// classify turns an infrastructure error into TransientError where a retry
// may help, or into the stage's own error type.
func Classify(err error, permanent func(string) error) error {
	if transient(err) {
		return &contract.TransientError{Message: err.Error()}
	}
	return permanent(err.Error())
}

// lambdaMessage extracts errorMessage from the Cause text Step Functions
// records for a Lambda error; other causes are returned as they are.
func lambdaMessage(cause string) string {
	var c struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if strings.HasPrefix(strings.TrimSpace(cause), "{") && json.Unmarshal([]byte(cause), &c) == nil && c.ErrorMessage != "" {
		return c.ErrorMessage
	}
	return cause
}

// listShown is how many ids a message names before it counts the rest.
const listShown = 5

// List names up to a few ids and counts the rest, so a message about a
// thousand instances stays one readable line; the ledger keeps every id.
func List(ids []string) string {
	if len(ids) <= listShown+1 {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:listShown], ", "), len(ids)-listShown)
}

// Count says "1 instance", "3 instances", "no instances".
func Count(n int, what string) string {
	if n == 0 {
		return "no " + what + "s"
	}
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
