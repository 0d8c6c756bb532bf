// Package execution talks to AWS Step Functions for Slipway: it starts the
// deploy and rollback state machines (idempotently, by name), describes an
// execution, pages through its history, and completes the task token an
// approval step waits on. The triggers and the CLI use it; the embedded
// environment has its own starter (localenv.Starter).
package execution

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

// SFNAPI is the part of *sfn.Client that SFN uses.
type SFNAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

var _ SFNAPI = (*sfn.Client)(nil)

// SFN starts and follows Slipway's executions on Step Functions.
type SFN struct {
	Client SFNAPI
	// Machines maps "deploy" and "rollback" to their state machine ARNs.
	Machines map[string]string
}

var _ trigger.Starter = (*SFN)(nil)

// Start starts machine as execution name. An execution of that name that
// already exists is trigger.ErrAlreadyStarted.
func (s *SFN) Start(ctx context.Context, machine, name string, input []byte) (string, error) {
	arn, ok := s.Machines[machine]
	if !ok || arn == "" {
		return "", fmt.Errorf("start %s: no state machine ARN for %q (set SLIPWAY_%s_STATE_MACHINE)", name, machine, strings.ToUpper(machine))
	}
	out, err := s.Client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String(name), Input: aws.String(string(input))})
	var exists *sfntypes.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return s.ExecutionARN(machine, name), trigger.ErrAlreadyStarted
	}
	if err != nil {
		return "", fmt.Errorf("start execution %s of %s: %w", name, arn, explain(err))
	}
	return aws.ToString(out.ExecutionArn), nil
}

// ExecutionARN is the ARN of execution name of machine.
func (s *SFN) ExecutionARN(machine, name string) string {
	arn := s.Machines[machine]
	return strings.Replace(arn, ":stateMachine:", ":execution:", 1) + ":" + name
}

// Status is what DescribeExecution says of an execution.
type Status struct {
	ARN, Name, Status   string // RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE
	Input, Output       string
	Error, Cause        string
	StartDate, StopDate time.Time
}

// Describe returns an execution's status.
func (s *SFN) Describe(ctx context.Context, executionARN string) (Status, error) {
	out, err := s.Client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
	if err != nil {
		return Status{}, fmt.Errorf("describe execution %s: %w", executionARN, explain(err))
	}
	return Status{
		ARN: aws.ToString(out.ExecutionArn), Name: aws.ToString(out.Name), Status: string(out.Status),
		Input: aws.ToString(out.Input), Output: aws.ToString(out.Output), Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause),
		StartDate: aws.ToTime(out.StartDate), StopDate: aws.ToTime(out.StopDate),
	}, nil
}

// Alive reports whether deployment d's execution still runs (Step
// Functions says RUNNING): the lease of an execution that does not is
// taken over, and its record closed. An execution Step Functions does not
// know is not running.
func (s *SFN) Alive(ctx context.Context, d ledger.Deployment) (bool, error) {
	if d.ExecutionID == "" {
		return false, nil
	}
	out, err := s.Client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(d.ExecutionID)})
	var missing *sfntypes.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe execution %s: %w", d.ExecutionID, explain(err))
	}
	return out.Status == sfntypes.ExecutionStatusRunning || out.Status == sfntypes.ExecutionStatusPendingRedrive, nil
}

// History returns the execution's events after afterID (0 for all), oldest
// first, following every page.
func (s *SFN) History(ctx context.Context, executionARN string, afterID int64) ([]sfntypes.HistoryEvent, error) {
	var out []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(s.Client, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(executionARN), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the history of %s: %w", executionARN, explain(err))
		}
		for _, ev := range page.Events {
			if ev.Id > afterID {
				out = append(out, ev)
			}
		}
	}
	return out, nil
}

// Approve completes an approval's task token: the execution goes on.
func (s *SFN) Approve(ctx context.Context, token, output string) error {
	_, err := s.Client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(output)})
	if err != nil {
		return fmt.Errorf("approve: %w", explainToken(err))
	}
	return nil
}

// Reject fails an approval's task token with errorName and cause.
func (s *SFN) Reject(ctx context.Context, token, errorName, cause string) error {
	_, err := s.Client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(errorName), Cause: aws.String(cause)})
	if err != nil {
		return fmt.Errorf("reject: %w", explainToken(err))
	}
	return nil
}

func explain(err error) error {
	var nf *sfntypes.ExecutionDoesNotExist
	var smnf *sfntypes.StateMachineDoesNotExist
	switch {
	case errors.As(err, &nf):
		return fmt.Errorf("no such execution (check the deployment id): %w", err)
	case errors.As(err, &smnf):
		return fmt.Errorf("the state machine does not exist: deploy the Slipway stack, or check the configured ARN: %w", err)
	}
	return err
}

func explainToken(err error) error {
	var to *sfntypes.TaskTimedOut
	var inv *sfntypes.InvalidToken
	var tdne *sfntypes.TaskDoesNotExist
	switch {
	case errors.As(err, &to), errors.As(err, &tdne):
		return fmt.Errorf("the approval is no longer waiting (it timed out, or was already decided): %w", err)
	case errors.As(err, &inv):
		return fmt.Errorf("the approval's task token is not valid: %w", err)
	}
	return err
}
