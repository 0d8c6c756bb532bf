// Package execute starts a deploy or rollback execution for a command
// (deploy, promote, rollback, and the demo), prints its progress as it
// runs, one line per ledger step and one per stage with its duration, and
// turns the deployment's outcome into the command's exit code.
package execute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/report"
)

// Request is an execution to start.
type Request struct {
	// Machine is backend.MachineDeploy or backend.MachineRollback.
	Machine string
	// Name is the execution's name and the deployment's id.
	Name  string
	Input []byte
	// What says what it does, for people: "deploy v2 to staging".
	What string
	// Wait follows the execution to its end (always, locally).
	Wait bool
	// Poll is how often AWS is asked while following; default 2s.
	Poll time.Duration
	// TargetFlags renders the flags the printed commands carry
	// (factory.Factory.TargetFlags); nil for none.
	TargetFlags func() string
}

// Result is what happened.
type Result struct {
	Execution backend.Execution
	// Deployment is the ledger's record once the execution has ended;
	// Recorded is false when there is none (it has not ended, or it
	// failed before Record wrote it).
	Deployment ledger.Deployment
	Recorded   bool
}

// Run starts req on b, prints its progress to out, and returns the result
// and, when the deployment did not succeed, an error with the exit code and
// a suggestion. Without Wait on AWS it prints how to follow the execution
// and returns at once.
//
// On a terminal (unless NO_COLOR is set) the progress is live: the same
// step lines, coloured, above a block redrawn in place with each stage's
// elapsed time and the running wave's progress bar. Anywhere else it is
// the Printer's plain lines.
func Run(ctx context.Context, out io.Writer, b backend.Backend, req Request) (Result, error) {
	if !req.Wait && b.Local() {
		req.Wait = true
	}
	if !req.Wait {
		return run(ctx, out, &plain{w: out}, b, req)
	}
	p := newSink(out)
	defer p.close()
	return run(ctx, out, p, b, req)
}

func run(ctx context.Context, out io.Writer, p sink, b backend.Backend, req Request) (Result, error) {
	if req.Wait {
		p.line(fmt.Sprintf("%s  %s on %s: deployment %s", stamp(time.Now()), req.What, b.Describe(), req.Name))
	}
	ex, err := b.Start(ctx, req.Machine, req.Name, req.Input, backend.StartOptions{Wait: req.Wait, Progress: p.event, Waves: p.waves(), Poll: req.Poll})
	p.close()
	res := Result{Execution: ex}
	if err != nil && ex.ARN != "" && !b.Local() && errors.Is(err, context.Canceled) {
		return res, factory.WithHint(factory.ExitFailed, fmt.Errorf("stopped following deployment %s; its execution goes on", req.Name),
			"`slipway status` follows it; `slipway show "+req.Name+"` has the report when it ends")
	}
	if err != nil {
		return res, outcome.Error(err)
	}
	if !req.Wait {
		fmt.Fprintf(out, "started %s: deployment %s\nexecution %s\n", req.What, req.Name, ex.ARN)
		fmt.Fprintf(out, "follow it with `%s`; when it ends, `%s` has the report\n", factory.Command(req.TargetFlags, "status"), factory.Command(req.TargetFlags, "show "+req.Name))
		return res, nil
	}
	d, err := b.Ledger().GetDeployment(context.WithoutCancel(ctx), req.Name)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		msg := fmt.Sprintf("execution %s ended %s without a ledger record", req.Name, ex.Status)
		if ex.Error != "" {
			msg += fmt.Sprintf(": %s: %s", ex.Error, report.CauseMessage(ex.Cause))
		}
		return res, factory.WithHint(factory.ExitFailed, errors.New(msg), "the execution's history has what happened")
	case err != nil:
		return res, outcome.Error(err)
	}
	res.Deployment, res.Recorded = d, d.Final()
	if !d.Final() {
		return res, factory.WithHint(factory.ExitFailed, fmt.Errorf("execution %s ended %s, but the ledger still says %s", req.Name, ex.Status, d.Status),
			"`slipway show "+req.Name+"` has what was recorded")
	}
	p.line(Line(d))
	code, hint := outcome.Deployment(d)
	if code == factory.ExitOK {
		return res, nil
	}
	return res, factory.WithHint(code, fmt.Errorf("deployment %s ended %s", d.ID, describeEnd(d)), hint)
}

func describeEnd(d ledger.Deployment) string {
	if d.Error != "" {
		return d.Status + " (" + d.Error + ")"
	}
	return d.Status
}

// JSON is a started deployment's outcome as `deploy --json` prints it:
// the ledger's record once it ended, the execution alone while it runs.
type JSON struct {
	// ID is the deployment's id, which is also its execution's name.
	ID           string    `json:"id"`
	Environment  string    `json:"environment,omitempty"`
	Kind         string    `json:"kind,omitempty"`
	Version      string    `json:"version,omitempty"`
	Status       string    `json:"status"`
	Error        string    `json:"error,omitempty"`
	Summary      string    `json:"summary,omitempty"`
	ExecutionARN string    `json:"execution_arn,omitempty"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	Seconds      float64   `json:"seconds,omitempty"`
}

// WriteJSON writes res as JSON.
func WriteJSON(w io.Writer, res Result) error {
	out := JSON{ID: res.Execution.Name, Status: res.Execution.Status, ExecutionARN: res.Execution.ARN, StartedAt: res.Execution.StartDate}
	if d := res.Deployment; d.ID != "" {
		out = JSON{ID: d.ID, Environment: d.Environment, Kind: d.Kind, Version: d.Version, Status: d.Status, Error: d.Error, Summary: d.Summary,
			ExecutionARN: res.Execution.ARN, StartedAt: d.StartedAt.UTC(), FinishedAt: d.FinishedAt.UTC()}
		if !d.FinishedAt.IsZero() {
			out.Seconds = d.FinishedAt.Sub(d.StartedAt).Seconds()
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// Line is a finished deployment's one-line outcome.
func Line(d ledger.Deployment) string {
	took := ""
	if !d.FinishedAt.IsZero() {
		took = " in " + report.FormatSeconds(d.FinishedAt.Sub(d.StartedAt))
	}
	return fmt.Sprintf("%s  %s %s %s%s: %s", stamp(time.Now()), d.ID, d.Version, d.Status, took, d.Summary)
}

// rollbackStage reports whether steps of stage belong to the rollback.
func rollbackStage(stage string) bool {
	switch stage {
	case "rollback", "revert-schema", "verify-rollback":
		return true
	}
	return false
}
