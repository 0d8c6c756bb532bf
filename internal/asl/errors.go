package asl

import (
	"fmt"
	"slices"
	"strings"
)

// Error names that Step Functions itself raises or matches. Retry and
// Catch refer to them in ErrorEquals.
const (
	StatesALL                             = "States.ALL"
	StatesTaskFailed                      = "States.TaskFailed"
	StatesTimeout                         = "States.Timeout"
	StatesHeartbeatTimeout                = "States.HeartbeatTimeout"
	StatesRuntime                         = "States.Runtime"
	StatesPermissions                     = "States.Permissions"
	StatesResultPathMatchFailure          = "States.ResultPathMatchFailure"
	StatesParameterPathFailure            = "States.ParameterPathFailure"
	StatesIntrinsicFailure                = "States.IntrinsicFailure"
	StatesBranchFailed                    = "States.BranchFailed"
	StatesNoChoiceMatched                 = "States.NoChoiceMatched"
	StatesDataLimitExceeded               = "States.DataLimitExceeded"
	StatesExceedToleratedFailureThreshold = "States.ExceedToleratedFailureThreshold"
	StatesItemReaderFailed                = "States.ItemReaderFailed"
	StatesResultWriterFailed              = "States.ResultWriterFailed"
	StatesQueryEvaluationError            = "States.QueryEvaluationError"
)

// The final status of an execution.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// ValidationError is one problem found in a state machine definition. State
// is the name of the state at fault (empty for the top level) and Field the
// field within it, such as "Next" or "Retry[0].ErrorEquals".
type ValidationError struct {
	State   string
	Field   string
	Message string
}

// Error renders the problem as `state "S": field "F": message`.
func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.State != "" {
		fmt.Fprintf(&b, "state %q: ", e.State)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Message)
	return b.String()
}

// ValidationErrors is every problem found in a definition, sorted by state,
// field and message.
type ValidationErrors []*ValidationError

// Error renders every problem, one a line.
func (errs ValidationErrors) Error() string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (errs ValidationErrors) sort() {
	slices.SortStableFunc(errs, func(a, b *ValidationError) int {
		if c := strings.Compare(a.State, b.State); c != 0 {
			return c
		}
		if c := strings.Compare(a.Field, b.Field); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
}

// failureKind tells an ordinary error, which Retry and Catch may handle,
// from the ways an execution stops without one.
type failureKind uint8

const (
	failError    failureKind = iota
	failAborted              // the context was cancelled, or a sibling branch failed
	failTimedOut             // the execution's TimeoutSeconds ran out
)

// failure is an error raised inside an execution: a state's Error and Cause.
type failure struct {
	kind  failureKind
	err   string
	cause string
	// absent: the failure carries no error name or cause at all (a task
	// token failed without them); only States.ALL matches it, and its
	// error output holds nulls.
	absent bool
}

func (f *failure) output() map[string]any {
	if f.absent {
		return map[string]any{"Error": nil, "Cause": nil}
	}
	return map[string]any{"Error": f.err, "Cause": f.cause}
}

// matches reports whether an ErrorEquals list matches the failure.
func (f *failure) matches(names []string) bool {
	if f.absent {
		return slices.Contains(names, StatesALL)
	}
	return errorMatches(names, f.err)
}

var aborted = &failure{kind: failAborted}

// errorMatches reports whether an ErrorEquals list matches the error name.
// States.Runtime is never matched: Step Functions does not let an execution
// retry or catch it. An empty name (a Fail state without Error) is never
// matched either.
func errorMatches(names []string, name string) bool {
	if name == "" || name == StatesRuntime {
		return false
	}
	for _, n := range names {
		switch n {
		case StatesALL:
			return true
		case StatesTaskFailed:
			if name != StatesTimeout {
				return true
			}
		case name:
			return true
		}
	}
	return false
}
