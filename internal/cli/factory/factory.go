// Package factory holds what every slipway command is built from: the
// terminal streams, the exit-code conventions and the lazily built
// dependencies (the embedded environment, AWS clients) that commands ask for.
//
// It is the seam that lets each command package take an Options struct of
// injected dependencies, as the GitHub CLI does, and be tested without a
// terminal or an AWS account.
package factory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
)

// Exit codes shared by every command.
const (
	ExitOK      = 0 // the command did what was asked
	ExitFailed  = 1 // the deployment or execution ran and failed (or lint found errors)
	ExitUsage   = 2 // bad flags, bad input, an invalid definition
	ExitRefused = 3 // refused by a gate: a lock, a freeze window, a policy
	ExitAuth    = 4 // credentials are missing or not allowed
)

// IOStreams are the streams a command writes to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// System returns the process's own streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// Factory builds the dependencies that commands need. Fields are functions
// so that a command only pays for what it uses, and tests replace them.
type Factory struct {
	IO *IOStreams

	// Resolver returns the Task resolver for the embedded engine: the
	// placeholders of statemachine/*.asl.json mapped to in-process handlers
	// over the embedded environment. close releases what it opened.
	Resolver func(ctx context.Context) (r asl.Resolver, subs map[string]string, close func() error, err error)

	// Backend opens where deployment commands act: the embedded
	// environment (--local) or AWS. The caller closes it.
	Backend func(ctx context.Context) (backend.Backend, error)

	// TargetFlags renders the flags given that select the target (such as
	// --local-dir DIR), which a printed command must carry to act on the
	// same one; "" when there are none. Nil outside the root command.
	TargetFlags func() string
}

// Command returns "slipway " + args with the flags that select the target
// this command acts on, so that the command runs as printed.
func (f *Factory) Command(args string) string { return Command(f.TargetFlags, args) }

// Command returns "slipway " + args with the flags targetFlags renders
// (none when it is nil).
func Command(targetFlags func() string, args string) string {
	s := "slipway " + args
	if targetFlags != nil {
		if fl := targetFlags(); fl != "" {
			s += " " + fl
		}
	}
	return s
}

// ExitError is an error that carries the process exit code and, where there
// is one, a suggestion of what to do next.
type ExitError struct {
	Code int
	Err  error
	Hint string
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// UsageError reports bad flags or bad input (exit code 2).
func UsageError(format string, a ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

// WithHint wraps err with an exit code and a suggestion.
func WithHint(code int, err error, hint string) error {
	return &ExitError{Code: code, Err: err, Hint: hint}
}

// SilentError signals a failure whose explanation the command has already
// printed; only the exit code is left to set.
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitCode returns the exit code that err asks for.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var s *SilentError
	if errors.As(err, &s) {
		return s.Code
	}
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitFailed
}
