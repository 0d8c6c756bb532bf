// Package approve is `slipway approve`: let a deployment that waits for a
// person's approval go on. Decide, which reject uses too, records the
// decision in the ledger and completes the execution's task token.
package approve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Options are the approve command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)
	Now     func() time.Time

	DeploymentID string
	Reason       string
	As           string
}

// NewCmdApprove returns the approve command. runF, when not nil, replaces
// the run.
func NewCmdApprove(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "approve DEPLOYMENT [--reason TEXT]",
		Short: "Approve a deployment that waits for a person",
		Long: `Record who approved the deployment, and why, in the ledger, and let its execution go on: on AWS
with SendTaskSuccess on the approval's task token; locally, the ` + "`slipway deploy --local`" + ` process
that runs the deployment sees the decision and goes on.

` + "`slipway status`" + ` lists the deployments that wait; ` + "`slipway plan`" + ` shows what one would do.`,
		Example: `  slipway approve production-v2-20261126T011500Z-3f9a --reason "plan checked, low risk"`,
		Args:    oneDeployment,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DeploymentID = args[0]
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why: recorded with the decision")
	cmd.Flags().StringVar(&opts.As, "as", "", "who approves, for the record (default: the AWS caller or $USER)")
	return cmd
}

func oneDeployment(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return factory.WithHint(factory.ExitUsage, fmt.Errorf("want one deployment id, got %d arguments", len(args)), "`slipway status` lists the deployments that wait for a decision")
	}
	return nil
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	return Decide(ctx, opts.IO.Out, b, opts.DeploymentID, ledger.ApprovalApproved, opts.As, opts.Reason, opts.Now)
}

// Decide records decision (approved or rejected) on a deployment's
// approval request and resumes its execution.
func Decide(ctx context.Context, out io.Writer, b backend.Backend, id, decision, as, reason string, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	l := b.Ledger()
	d, err := l.GetDeployment(ctx, id)
	if err != nil {
		return outcome.Error(err)
	}
	_, err = l.GetApproval(ctx, d.App, d.Environment, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return factory.WithHint(factory.ExitUsage, fmt.Errorf("deployment %s (%s %s to %s, %s) has no approval request", id, d.Kind, d.Version, d.Environment, d.Status),
			"only deployments that wait for a person can be approved or rejected; `slipway status` lists them")
	}
	if err != nil {
		return outcome.Error(err)
	}
	if d.Final() {
		return factory.WithHint(factory.ExitRefused, fmt.Errorf("deployment %s already ended %s", id, d.Status), "start a new deployment to ask again")
	}
	who := backend.Who(ctx, b, as)
	a, err := l.DecideApproval(ctx, d.App, d.Environment, id, decision, who, reason, now())
	if err != nil {
		return outcome.Error(err)
	}
	status, verb := "ok", "approved"
	if decision == ledger.ApprovalRejected {
		status, verb = "failed", "rejected"
	}
	msg := fmt.Sprintf("%s by %s", verb, who)
	if reason != "" {
		msg += ": " + reason
	}
	// The decision is in the ledger; the step is its note in the report.
	_ = l.AddStep(ctx, ledger.Step{DeploymentID: id, Stage: "approval", Status: status, Message: msg, At: now()})
	if err := b.Resume(ctx, a); err != nil {
		return factory.WithHint(outcome.Code(err), fmt.Errorf("%s is recorded, but the execution could not be told: %w", msg, err),
			"if it timed out waiting, start the deployment again")
	}
	fmt.Fprintf(out, "%s deployment %s (%s to %s) as %s\n", capital(verb), id, d.Version, d.Environment, who)
	if b.Local() {
		fmt.Fprintf(out, "the `slipway deploy --local` process that runs it sees the decision and goes on\n")
	} else if decision == ledger.ApprovalApproved {
		fmt.Fprintf(out, "it takes the lock and goes on; `slipway status --env %s` follows it\n", d.Environment)
	} else {
		fmt.Fprintf(out, "it ends FAILED (Rejected) and changes nothing\n")
	}
	return nil
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
