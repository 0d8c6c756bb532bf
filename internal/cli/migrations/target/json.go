package target

import (
	"time"

	"github.com/slipway-deploy/slipway/internal/migrate"
)

// AppliedJSON is an applied migration in --json output.
type AppliedJSON struct {
	Version           int64     `json:"version"`
	Name              string    `json:"name"`
	AppliedAt         time.Time `json:"applied_at"`
	Seconds           float64   `json:"seconds"`
	StatementsApplied int       `json:"statements_applied"`
	StatementsTotal   int       `json:"statements_total"`
	Dirty             bool      `json:"dirty"`
	LastError         string    `json:"last_error,omitempty"`
	Reversible        bool      `json:"reversible"`
	DeploymentID      string    `json:"deployment_id,omitempty"`
}

// MigrationJSON names a migration in --json output.
type MigrationJSON struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
}

// AppliedOf returns as for --json output (never nil).
func AppliedOf(as []migrate.Applied) []AppliedJSON {
	out := make([]AppliedJSON, 0, len(as))
	for _, a := range as {
		out = append(out, AppliedJSON{Version: a.Version, Name: a.Name, AppliedAt: a.AppliedAt.UTC(), Seconds: float64(a.Duration.Milliseconds()) / 1000,
			StatementsApplied: a.StatementsApplied, StatementsTotal: a.StatementsTotal, Dirty: a.Dirty, LastError: a.LastError, Reversible: a.Reversible, DeploymentID: a.DeploymentID})
	}
	return out
}

// NamesOf returns the applied migrations' names for --json output.
func NamesOf(as []migrate.Applied) []MigrationJSON {
	out := make([]MigrationJSON, 0, len(as))
	for _, a := range as {
		out = append(out, MigrationJSON{Version: a.Version, Name: a.Name})
	}
	return out
}
