// Package asl is Slipway's embedded Step Functions engine: it parses,
// validates and runs Amazon States Language definitions in process, so the
// state machine that deploys on AWS runs unchanged on a laptop or in CI.
//
// Parse validates a definition the way Step Functions does, naming the
// state and field of every problem. Substitute fills the ${Name}
// placeholders CDK fills with DefinitionSubstitutions. Run executes a
// machine: Task states call Go handlers found through a Resolver (the same
// lambda.Handler a Lambda function runs, JSON round-tripped), Wait states
// and Retry intervals sleep on an injectable Clock, and the result carries
// an execution history shaped like GetExecutionHistory's.
//
// The engine covers the JSONPath query language: every state type, the
// InputPath/Parameters/ResultSelector/ResultPath/OutputPath data flow,
// intrinsic functions, the context object, Retry and Catch. Where it parts
// from AWS it says so in its docs; the main differences are that objects
// come out with their keys sorted, previousEventId inside Parallel and Map
// states is an approximation, and a Distributed Map runs as an inline one.
//
// Everything a state reads or writes goes through one seam, the flow
// interface (flow.go), implemented once for JSONPath. JSONata, with
// Arguments, Output, Assign and variables, is meant to be a second flow
// chosen per state; Step Functions Local mock configurations fit behind
// Resolver.
//
// It is not an AWS client and has no service integrations of its own: a
// Task resource is whatever the Resolver maps it to. It does not (yet)
// support JSONata, variables (Assign), activities, callbacks
// (.waitForTaskToken), Distributed Map readers and writers, or Step
// Functions Local mock configurations; a definition that needs one of these
// fails validation, or its Task fails, with a message saying so.
package asl
