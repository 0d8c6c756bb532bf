// Package contract is the contract between the states of Slipway's state
// machines: the execution input, the accumulated execution state, every
// Task's input and output as named structs with explicit JSON tags, and the
// error types that the state machine routes on with Retry and Catch.
//
// The error types' Go names equal the ErrorEquals strings in
// statemachine/*.asl.json. Handlers return them unwrapped, because
// aws-lambda-go reports the outermost error type's name as the Lambda
// errorType, which is what Step Functions matches.
//
// This package holds data shapes only; it has no behaviour beyond
// validation of its own fields and must not import any other Slipway package.
package contract
