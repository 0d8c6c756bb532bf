package ledger

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
)

// Event is something that happened to an environment outside a deployment's
// own steps: a push received or coalesced, an alarm acted on or ignored, a
// forced unlock. The triggers record one for every decision they make.
type Event struct {
	App          string          `json:"app"`
	Environment  string          `json:"environment"`
	At           time.Time       `json:"at"`
	Source       string          `json:"source"` // push, alarm, cli
	Kind         string          `json:"kind"`
	Message      string          `json:"message"`
	DeploymentID string          `json:"deployment_id,omitempty"`
	Detail       json.RawMessage `json:"detail,omitempty"`
}

// Pending is the environment's one queued push: the latest wins, and
// nothing waits forever (the execution that carries it ends one way or the
// other, and clears it).
type Pending struct {
	App         string           `json:"app"`
	Environment string           `json:"environment"`
	Version     string           `json:"version"`
	Trigger     contract.Trigger `json:"trigger"`
	At          time.Time        `json:"at"`
}

// Approval decisions.
const (
	ApprovalPending  = ""
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
)

// Approval is a deployment's request for a person's go-ahead, with the
// callback token that resumes its execution.
type Approval struct {
	App          string    `json:"app"`
	Environment  string    `json:"environment"`
	DeploymentID string    `json:"deployment_id"`
	ExecutionID  string    `json:"execution_id"`
	Version      string    `json:"version"`
	Token        string    `json:"token"`
	Summary      string    `json:"summary"`
	RequestedAt  time.Time `json:"requested_at"`
	Decision     string    `json:"decision,omitempty"`
	DecidedBy    string    `json:"decided_by,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	DecidedAt    time.Time `json:"decided_at,omitzero"`
}

// DecidedError reports an approval that was already decided.
type DecidedError struct {
	Approval Approval
}

func (e *DecidedError) Error() string {
	a := e.Approval
	return fmt.Sprintf("deployment %s was already %s by %s at %s", a.DeploymentID, a.Decision, a.DecidedBy, a.DecidedAt.Format(time.RFC3339))
}
