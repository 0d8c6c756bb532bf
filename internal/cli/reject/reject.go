// Package reject is `slipway reject`: stop a deployment that waits for a
// person's approval. It changes nothing and ends FAILED (Rejected).
package reject

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/approve"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Options are the reject command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)
	Now     func() time.Time

	DeploymentID string
	Reason       string
	As           string
}

// NewCmdReject returns the reject command. runF, when not nil, replaces
// the run.
func NewCmdReject(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "reject DEPLOYMENT --reason TEXT",
		Short: "Reject a deployment that waits for a person",
		Long: `Record who rejected the deployment, and why, in the ledger, and end its execution with the error
Rejected: on AWS with SendTaskFailure on the approval's task token; locally, the process that runs it
sees the decision. Nothing was locked or changed, so nothing needs undoing. --reason is required.`,
		Example: `  slipway reject production-v2-20261126T011500Z-3f9a --reason "not during the sale"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("want one deployment id, got %d arguments", len(args)), "`slipway status` lists the deployments that wait for a decision")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DeploymentID = args[0]
			if strings.TrimSpace(opts.Reason) == "" {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("reject needs --reason"), "say why, for the person who started the deployment")
			}
			if runF != nil {
				return runF(opts)
			}
			b, err := opts.Backend(cmd.Context())
			if err != nil {
				return outcome.Error(err)
			}
			defer b.Close()
			return approve.Decide(cmd.Context(), opts.IO.Out, b, opts.DeploymentID, ledger.ApprovalRejected, opts.As, opts.Reason, opts.Now)
		},
	}
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why (required): recorded with the decision and sent to the deployment's author")
	cmd.Flags().StringVar(&opts.As, "as", "", "who rejects, for the record (default: the AWS caller or $USER)")
	return cmd
}
