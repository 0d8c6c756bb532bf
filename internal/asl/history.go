package asl

import "time"

// Event types, as Step Functions names them in an execution history.
const (
	EventExecutionStarted   = "ExecutionStarted"
	EventExecutionSucceeded = "ExecutionSucceeded"
	EventExecutionFailed    = "ExecutionFailed"
	EventExecutionAborted   = "ExecutionAborted"
	EventExecutionTimedOut  = "ExecutionTimedOut"

	EventLambdaFunctionScheduled = "LambdaFunctionScheduled"
	EventLambdaFunctionStarted   = "LambdaFunctionStarted"
	EventLambdaFunctionSucceeded = "LambdaFunctionSucceeded"
	EventLambdaFunctionFailed    = "LambdaFunctionFailed"
	EventLambdaFunctionTimedOut  = "LambdaFunctionTimedOut"

	EventActivityScheduled = "ActivityScheduled"
	EventActivityStarted   = "ActivityStarted"
	EventActivitySucceeded = "ActivitySucceeded"
	EventActivityFailed    = "ActivityFailed"
	EventActivityTimedOut  = "ActivityTimedOut"

	EventTaskScheduled = "TaskScheduled"
	EventTaskStarted   = "TaskStarted"
	EventTaskSucceeded = "TaskSucceeded"
	EventTaskFailed    = "TaskFailed"
	EventTaskTimedOut  = "TaskTimedOut"
	EventTaskSubmitted = "TaskSubmitted"
	// EventTaskStateAborted ends a Task state in a Parallel branch or Map
	// iteration that failed, or that a failing sibling stopped.
	EventTaskStateAborted = "TaskStateAborted"

	EventEvaluationFailed = "EvaluationFailed"

	EventParallelStateStarted   = "ParallelStateStarted"
	EventParallelStateSucceeded = "ParallelStateSucceeded"
	EventParallelStateFailed    = "ParallelStateFailed"

	EventMapStateStarted       = "MapStateStarted"
	EventMapStateSucceeded     = "MapStateSucceeded"
	EventMapStateFailed        = "MapStateFailed"
	EventMapIterationStarted   = "MapIterationStarted"
	EventMapIterationSucceeded = "MapIterationSucceeded"
	EventMapIterationFailed    = "MapIterationFailed"
	EventMapIterationAborted   = "MapIterationAborted"
	EventMapRunStarted         = "MapRunStarted"
	EventMapRunSucceeded       = "MapRunSucceeded"
	EventMapRunFailed          = "MapRunFailed"
)

// HistoryEvent is one event of an execution history, shaped as AWS
// GetExecutionHistory returns it: the JSON field names are AWS's, inputs
// and outputs are JSON text, and exactly one <type>EventDetails field is set
// for the event types that have details. The state Entered and Exited events
// of every state type ("PassStateEntered", "TaskStateExited", ...) carry
// stateEnteredEventDetails and stateExitedEventDetails.
type HistoryEvent struct {
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId"`
	Timestamp       time.Time `json:"timestamp"`
	Type            string    `json:"type"`

	ExecutionStartedEventDetails   *ExecutionStartedEventDetails   `json:"executionStartedEventDetails,omitempty"`
	ExecutionSucceededEventDetails *ExecutionSucceededEventDetails `json:"executionSucceededEventDetails,omitempty"`
	ExecutionFailedEventDetails    *FailureEventDetails            `json:"executionFailedEventDetails,omitempty"`
	ExecutionAbortedEventDetails   *FailureEventDetails            `json:"executionAbortedEventDetails,omitempty"`
	ExecutionTimedOutEventDetails  *FailureEventDetails            `json:"executionTimedOutEventDetails,omitempty"`

	StateEnteredEventDetails *StateEnteredEventDetails `json:"stateEnteredEventDetails,omitempty"`
	StateExitedEventDetails  *StateExitedEventDetails  `json:"stateExitedEventDetails,omitempty"`

	LambdaFunctionScheduledEventDetails *LambdaFunctionScheduledEventDetails `json:"lambdaFunctionScheduledEventDetails,omitempty"`
	LambdaFunctionSucceededEventDetails *OutputEventDetails                  `json:"lambdaFunctionSucceededEventDetails,omitempty"`
	LambdaFunctionFailedEventDetails    *FailureEventDetails                 `json:"lambdaFunctionFailedEventDetails,omitempty"`
	LambdaFunctionTimedOutEventDetails  *FailureEventDetails                 `json:"lambdaFunctionTimedOutEventDetails,omitempty"`

	ActivityScheduledEventDetails *ActivityScheduledEventDetails `json:"activityScheduledEventDetails,omitempty"`
	ActivityStartedEventDetails   *ActivityStartedEventDetails   `json:"activityStartedEventDetails,omitempty"`
	ActivitySucceededEventDetails *OutputEventDetails            `json:"activitySucceededEventDetails,omitempty"`
	ActivityFailedEventDetails    *FailureEventDetails           `json:"activityFailedEventDetails,omitempty"`
	ActivityTimedOutEventDetails  *FailureEventDetails           `json:"activityTimedOutEventDetails,omitempty"`

	TaskScheduledEventDetails *TaskScheduledEventDetails `json:"taskScheduledEventDetails,omitempty"`
	TaskStartedEventDetails   *TaskEventDetails          `json:"taskStartedEventDetails,omitempty"`
	TaskSubmittedEventDetails *TaskEventDetails          `json:"taskSubmittedEventDetails,omitempty"`
	TaskSucceededEventDetails *TaskEventDetails          `json:"taskSucceededEventDetails,omitempty"`
	TaskFailedEventDetails    *TaskEventDetails          `json:"taskFailedEventDetails,omitempty"`
	TaskTimedOutEventDetails  *TaskEventDetails          `json:"taskTimedOutEventDetails,omitempty"`

	EvaluationFailedEventDetails *EvaluationFailedEventDetails `json:"evaluationFailedEventDetails,omitempty"`

	MapStateStartedEventDetails       *MapStateStartedEventDetails `json:"mapStateStartedEventDetails,omitempty"`
	MapIterationStartedEventDetails   *MapIterationEventDetails    `json:"mapIterationStartedEventDetails,omitempty"`
	MapIterationSucceededEventDetails *MapIterationEventDetails    `json:"mapIterationSucceededEventDetails,omitempty"`
	MapIterationFailedEventDetails    *MapIterationEventDetails    `json:"mapIterationFailedEventDetails,omitempty"`
	MapIterationAbortedEventDetails   *MapIterationEventDetails    `json:"mapIterationAbortedEventDetails,omitempty"`
	MapRunStartedEventDetails         *MapRunStartedEventDetails   `json:"mapRunStartedEventDetails,omitempty"`
	MapRunFailedEventDetails          *FailureEventDetails         `json:"mapRunFailedEventDetails,omitempty"`
}

// DataDetails says whether a payload in an event was truncated. The engine
// never truncates; the field is there because AWS always sends it.
type DataDetails struct {
	Truncated bool `json:"truncated"`
}

// ExecutionStartedEventDetails are the details of ExecutionStarted.
type ExecutionStartedEventDetails struct {
	Input        string       `json:"input"`
	InputDetails *DataDetails `json:"inputDetails,omitempty"`
	RoleARN      string       `json:"roleArn"`
}

// ExecutionSucceededEventDetails are the details of ExecutionSucceeded.
type ExecutionSucceededEventDetails struct {
	Output        string       `json:"output"`
	OutputDetails *DataDetails `json:"outputDetails,omitempty"`
}

// FailureEventDetails carry an error name and cause. They are the details of
// ExecutionFailed, ExecutionAborted, ExecutionTimedOut, LambdaFunctionFailed
// and LambdaFunctionTimedOut; either field may be empty.
type FailureEventDetails struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

// StateEnteredEventDetails are the details of every <Type>StateEntered.
type StateEnteredEventDetails struct {
	Name         string       `json:"name"`
	Input        string       `json:"input"`
	InputDetails *DataDetails `json:"inputDetails,omitempty"`
}

// StateExitedEventDetails are the details of every <Type>StateExited.
type StateExitedEventDetails struct {
	Name          string       `json:"name"`
	Output        string       `json:"output"`
	OutputDetails *DataDetails `json:"outputDetails,omitempty"`
	// AssignedVariables holds the variables the state assigned (Assign),
	// each as JSON text.
	AssignedVariables        map[string]string `json:"assignedVariables,omitempty"`
	AssignedVariablesDetails *DataDetails      `json:"assignedVariablesDetails,omitempty"`
}

// LambdaFunctionScheduledEventDetails are the details of
// LambdaFunctionScheduled.
type LambdaFunctionScheduledEventDetails struct {
	Resource         string       `json:"resource"`
	Input            string       `json:"input"`
	InputDetails     *DataDetails `json:"inputDetails,omitempty"`
	TimeoutInSeconds *int64       `json:"timeoutInSeconds,omitempty"`
}

// OutputEventDetails are the details of LambdaFunctionSucceeded.
type OutputEventDetails struct {
	Output        string       `json:"output"`
	OutputDetails *DataDetails `json:"outputDetails,omitempty"`
}

// TaskScheduledEventDetails are the details of TaskScheduled. Parameters
// is the JSON text of the effective input sent to the resource.
type TaskScheduledEventDetails struct {
	ResourceType       string `json:"resourceType"`
	Resource           string `json:"resource"`
	Region             string `json:"region"`
	Parameters         string `json:"parameters"`
	TimeoutInSeconds   *int64 `json:"timeoutInSeconds,omitempty"`
	HeartbeatInSeconds *int64 `json:"heartbeatInSeconds,omitempty"`
}

// TaskEventDetails are the details of TaskStarted, TaskSubmitted and
// TaskSucceeded (with Output), TaskFailed and TaskTimedOut (with Error and Cause).
type TaskEventDetails struct {
	ResourceType  string       `json:"resourceType"`
	Resource      string       `json:"resource"`
	Output        string       `json:"output,omitempty"`
	OutputDetails *DataDetails `json:"outputDetails,omitempty"`
	Error         string       `json:"error,omitempty"`
	Cause         string       `json:"cause,omitempty"`
}

// MapStateStartedEventDetails are the details of MapStateStarted: the
// number of items.
type MapStateStartedEventDetails struct {
	Length int `json:"length"`
}

// MapIterationEventDetails are the details of the MapIteration events: the
// Map state's name and the item's index.
type MapIterationEventDetails struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
}

// EvaluationFailedEventDetails are the details of EvaluationFailed: a
// JSONata expression (or another query) that failed, where, and in which
// state.
type EvaluationFailedEventDetails struct {
	Error    string `json:"error"`
	Cause    string `json:"cause"`
	Location string `json:"location,omitempty"`
	State    string `json:"state"`
}

// MapRunStartedEventDetails are the details of MapRunStarted: the ARN of
// the Map Run that a Distributed Map state starts.
type MapRunStartedEventDetails struct {
	MapRunARN string `json:"mapRunArn"`
}

// ActivityScheduledEventDetails are the details of ActivityScheduled.
type ActivityScheduledEventDetails struct {
	Resource           string       `json:"resource"`
	Input              string       `json:"input"`
	InputDetails       *DataDetails `json:"inputDetails,omitempty"`
	TimeoutInSeconds   *int64       `json:"timeoutInSeconds,omitempty"`
	HeartbeatInSeconds *int64       `json:"heartbeatInSeconds,omitempty"`
}

// ActivityStartedEventDetails are the details of ActivityStarted: the
// worker that took the task ("embedded": the activity's handler).
type ActivityStartedEventDetails struct {
	WorkerName string `json:"workerName,omitempty"`
}
