// Package asl is Slipway's embedded Step Functions engine: it parses,
// validates and runs Amazon States Language definitions in process, so the
// state machine that deploys on AWS runs unchanged on a laptop or in CI.
//
// Parse validates a definition the way Step Functions does, naming the
// state and field of every problem. Substitute fills the ${Name}
// placeholders CDK fills with DefinitionSubstitutions. Run executes a
// machine: Task states call Go handlers found through a Resolver (the same
// lambda.Handler a Lambda function runs, JSON round-tripped), Wait states
// and Retry intervals sleep on an injectable Clock (virtual by default),
// and the result carries an execution history shaped like
// GetExecutionHistory's.
//
// The engine covers both query languages. JSONPath: every state type, the
// InputPath/Parameters/ResultSelector/ResultPath/OutputPath data flow,
// intrinsic functions, the context object, Retry and Catch. JSONata:
// QueryLanguage at the top or per state, Arguments, Output, Items,
// ItemSelector, Condition, expressions in {% %} wherever AWS takes them,
// and $states (input, result, errorOutput, context). Variables (Assign)
// work in both, with AWS's scope rules: a state's assignments take effect
// when it exits (its Output still sees the old values), a Parallel branch
// or Map iteration reads the variables around it and keeps its own
// assignments to itself. Everything a state reads or writes goes through
// the flow interface (flow.go), one implementation per query language.
//
// As on AWS, an execution's history holds at most 25,000 events
// (Options.MaxHistoryEvents): an execution that reaches the cap, such as a
// state that loops on itself, ends FAILED with States.Runtime, and memory
// stays bounded. Cancelling Run's context stops an execution at the next
// state of every branch and iteration and ends it ABORTED.
//
// Tasks whose resource ends in .waitForTaskToken get a task token
// ($$.Task.Token) and wait until it is completed through Options.Callbacks.
// An activity's Task calls the handler the Resolver returns for the
// activity's ARN, as its worker. A Step Functions Local mock configuration
// (MockConfig, Options.Mocks)
// answers the Tasks it names with mocked responses. A Distributed Map runs
// its items as child executions whose events, as on AWS, are not in the
// parent's history.
//
// The engine is checked against executions recorded on AWS (package
// conformance replays LocalStack's recordings and pins those that pass).
// Known differences from AWS:
//
//   - Objects come out with their keys sorted, so States.JsonToString,
//     States.Format and $string show keys in a different order than AWS,
//     which keeps the order they were written in.
//   - previousEventId inside Parallel and Map states is an approximation.
//   - JSONata runs on github.com/blues/jsonata-go, a port of JSONata 1.5.4,
//     while AWS runs 2.0.6: the parent operator %, the @ and # bindings,
//     $single and word forms of $formatInteger are missing, and a path to
//     an empty array yields nothing where 2.0 yields []. Error codes and
//     texts are mapped to the reference implementation's for the common
//     errors only. Evaluations are serialised (the port is not
//     goroutine-safe). A function nested more than about 7,000 calls deep
//     fails with U1001, the reference implementation's stack overflow,
//     where the port alone would overflow the Go stack.
//   - Distributed Map readers and writers (ItemReader, ItemBatcher,
//     ResultWriter) are not supported; such a definition fails validation
//     with a message saying so.
//   - The order of events from concurrent Map iterations and Parallel
//     branches follows the goroutines, not AWS's scheduling.
//   - It is not an AWS client and has no service integrations of its own: a
//     Task resource is whatever the Resolver (or a mock) maps it to, so
//     the errors an integration raises for bad parameters are the
//     handler's, not AWS's.
package asl
