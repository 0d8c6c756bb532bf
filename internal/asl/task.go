package asl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Handler runs a Task: JSON payload in, JSON payload out. aws-lambda-go's
// lambda.Handler, as lambda.NewHandler(fn) builds it, satisfies it, so the
// same Go handler a Lambda function runs can serve the embedded engine.
//
// The engine calls a handler with a context that carries the Task's
// TimeoutSeconds as its deadline and a lambdacontext.LambdaContext. It may
// call one handler from several goroutines at once (Parallel branches, Map
// iterations), except a handler built by lambda.NewHandler, which reuses its
// output buffer once Invoke returns and so is called one invocation at a
// time, as a Lambda execution environment would. When the Task times out or
// the execution is aborted the engine stops waiting, as Step Functions does;
// the handler's context is cancelled and it should return soon.
type Handler interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Resolver finds the handler for a Task's Resource (after placeholders are
// substituted), or for the FunctionName of an arn:aws:states:::lambda:invoke
// Task.
type Resolver interface {
	Resolve(resource string) (Handler, bool)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(resource string) (Handler, bool)

// Resolve calls f.
func (f ResolverFunc) Resolve(resource string) (Handler, bool) { return f(resource) }

// Handlers is a Resolver backed by a map from resource to handler.
type Handlers map[string]Handler

// Resolve looks resource up in h.
func (h Handlers) Resolve(resource string) (Handler, bool) {
	handler, ok := h[resource]
	return handler, ok && handler != nil
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke calls f.
func (f HandlerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

// ErrorName returns the error name Step Functions reports for an error a Go
// Lambda handler returned, computed as aws-lambda-go computes errorType: the
// Type of a messages.InvokeResponse_Error, otherwise the name of the
// error's dynamic type with one pointer stripped. An error made by
// errors.New is thus "errorString", one made by fmt.Errorf with %w
// "wrapError", and a *DeployLockedError "DeployLockedError".
func ErrorName(err error) string {
	if err == nil {
		return ""
	}
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		return ive.Type
	}
	return typeNameOf(err)
}

func typeNameOf(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// lambdaErrorCause renders the JSON a Lambda function returns for an
// error, which Step Functions reports as the Cause.
func lambdaErrorCause(message, errorType string) string {
	b := []byte(`{"errorMessage":`)
	b = appendJSONString(b, message)
	b = append(b, `,"errorType":`...)
	b = appendJSONString(b, errorType)
	return string(append(b, '}'))
}

func handlerFailure(err error) *failure {
	name := ErrorName(err)
	msg := err.Error()
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		msg = ive.Message
	}
	return &failure{err: name, cause: lambdaErrorCause(msg, name)}
}

var (
	lambdaFunctionARN = regexp.MustCompile(`^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(:[^:]+)?$`)
	serviceARN        = regexp.MustCompile(`^arn:[^:]+:states:::([^:]+):(.+)$`)
)

// taskKind says how a Task calls its resource and which history events
// record the call.
type taskKind uint8

const (
	taskLambdaFunction taskKind = iota // a Lambda function ARN: LambdaFunction* events
	taskLambdaInvoke                   // arn:aws:states:::lambda:invoke: Task* events, result wrapped
	taskService                        // any other arn:aws:states::: integration, or anything else: Task* events
	taskActivity                       // an activity ARN: Activity* events
)

var activityARN = regexp.MustCompile(`^arn:[^:]+:states:[^:]*:[^:]*:activity:[^:]+$`)

func classifyResource(resource string) (kind taskKind, resourceType, name string) {
	if lambdaFunctionARN.MatchString(resource) {
		return taskLambdaFunction, "lambda", resource
	}
	if activityARN.MatchString(resource) {
		return taskActivity, "activity", resource
	}
	if m := serviceARN.FindStringSubmatch(resource); m != nil {
		if m[1] == "lambda" && m[2] == "invoke" {
			return taskLambdaInvoke, "lambda", "invoke"
		}
		return taskService, m[1], m[2]
	}
	if strings.HasPrefix(resource, "arn:") {
		if parts := strings.SplitN(resource, ":", 4); len(parts) == 4 {
			return taskService, parts[2], resource
		}
	}
	return taskService, "local", resource
}

// resolveLambda finds a Lambda function's handler by the name it is called
// by: as written, without a version or alias qualifier, by function name
// alone, and as a full ARN built from the name.
func (r *runner) resolveLambda(name string) (Handler, bool) {
	if r.resolver == nil {
		return nil, false
	}
	if h, ok := r.resolver.Resolve(name); ok {
		return h, true
	}
	var candidates []string
	if m := lambdaFunctionARN.FindStringSubmatch(name); m != nil {
		if m[2] != "" {
			candidates = append(candidates, strings.TrimSuffix(name, m[2]))
		}
		candidates = append(candidates, m[1])
	} else if !strings.HasPrefix(name, "arn:") {
		fn, _, _ := strings.Cut(name, ":")
		candidates = append(candidates, fn, fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", r.region, r.account, fn))
	}
	for _, c := range candidates {
		if h, ok := r.resolver.Resolve(c); ok {
			return h, true
		}
	}
	return nil, false
}

// serialised holds a lock for each aws-lambda-go handler. Such a handler
// returns a slice of a pooled buffer that it puts back in the pool (a
// deferred Close) before Invoke returns, so two concurrent invocations of
// one handler can overwrite each other's output. Copying the output as
// soon as Invoke returns does not help: the buffer is already back in the
// pool by then, and the race detector catches the overwrite
// (TestLambdaHandlerInConcurrentMap without the lock). Real Lambda never
// runs two invocations in one process; the engine keeps to that, for those
// handlers only, and copies the output before it lets the next one in.
var serialised sync.Map // Handler -> *sync.Mutex

func handlerLock(h Handler) *sync.Mutex {
	t := reflect.TypeOf(h)
	if t.Kind() != reflect.Pointer || t.Elem().PkgPath() != "github.com/aws/aws-lambda-go/lambda" {
		return nil
	}
	mu, _ := serialised.LoadOrStore(h, new(sync.Mutex))
	return mu.(*sync.Mutex)
}

type invokeResult struct {
	out      []byte
	err      error
	panicked bool
	panicVal any
}

// invoke calls h with payload under the Task's timeout. It returns the
// handler's output, or a failure: the handler's error as Lambda reports it,
// States.Timeout, or aborted when ctx ends.
func (r *runner) invoke(ctx context.Context, h Handler, functionARN string, payload []byte, timeout time.Duration) ([]byte, *failure) {
	hctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       newUUID(),
		InvokedFunctionArn: functionARN,
	})
	cancel := func() {}
	if timeout > 0 {
		hctx, cancel = context.WithTimeout(hctx, timeout)
	}
	defer cancel()
	done := make(chan invokeResult, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- invokeResult{panicked: true, panicVal: v}
			}
		}()
		if mu := handlerLock(h); mu != nil {
			mu.Lock()
			defer mu.Unlock()
		}
		out, err := h.Invoke(hctx, payload)
		done <- invokeResult{out: bytes.Clone(out), err: err}
	}()
	timedOut := func() bool {
		return errors.Is(hctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	}
	select {
	case res := <-done:
		switch {
		case res.panicked:
			name := typeNameOf(res.panicVal)
			return nil, &failure{err: name, cause: lambdaErrorCause(fmt.Sprint(res.panicVal), name)}
		case res.err != nil && timedOut():
			return nil, &failure{err: StatesTimeout}
		case res.err != nil && ctx.Err() != nil:
			return nil, aborted
		case res.err != nil:
			return nil, handlerFailure(res.err)
		}
		return res.out, nil
	case <-hctx.Done():
		if timedOut() {
			return nil, &failure{err: StatesTimeout}
		}
		return nil, aborted
	}
}

// integration patterns of a Task resource.
const (
	patternRequestResponse = ""
	patternSync            = ".sync"
	patternCallback        = ".waitForTaskToken"
)

// lambdaInvokeARN is the optimised Lambda integration.
const lambdaInvokeARN = "arn:aws:states:::lambda:invoke"

// integrationPattern returns how a Task waits for its service integration:
// for its response (""), for the job to finish (".sync", ".sync:2") or for
// its task token (".waitForTaskToken").
func integrationPattern(resource string) string {
	if !strings.HasPrefix(resource, "arn:") || !strings.Contains(resource, ":states:::") {
		return patternRequestResponse
	}
	switch {
	case strings.HasSuffix(resource, patternCallback):
		return patternCallback
	case strings.HasSuffix(resource, patternSync), strings.Contains(resource, patternSync+":"):
		return patternSync
	}
	return patternRequestResponse
}

// baseResource strips the integration pattern from a service integration
// resource: arn:aws:states:::sns:publish.waitForTaskToken is
// arn:aws:states:::sns:publish.
func baseResource(resource string) string {
	switch integrationPattern(resource) {
	case patternCallback:
		return strings.TrimSuffix(resource, patternCallback)
	case patternSync:
		i := strings.LastIndex(resource, patternSync)
		return resource[:i]
	}
	return resource
}

// resolveResource finds the handler of a Task resource: as written, then
// without its integration pattern.
func (r *runner) resolveResource(resource string) (Handler, bool) {
	if r.resolver == nil {
		return nil, false
	}
	if h, ok := r.resolver.Resolve(resource); ok {
		return h, true
	}
	if base := baseResource(resource); base != resource {
		return r.resolver.Resolve(base)
	}
	return nil, false
}

// mockResponse returns the mocked response for the next invocation of
// state, if the run's mock test case mocks it.
func (r *runner) mockResponse(state string) (mockRange, bool, error) {
	if r.opts.Mocks == nil {
		return mockRange{}, false, nil
	}
	r.mockMu.Lock()
	n := r.mockCounts[state]
	if _, ok := r.opts.Mocks.states[state]; ok {
		if r.mockCounts == nil {
			r.mockCounts = map[string]int{}
		}
		r.mockCounts[state] = n + 1
	}
	r.mockMu.Unlock()
	return r.opts.Mocks.response(state, n)
}

// result is the Task result or failure a mocked response stands for.
func (m mockRange) result() (any, *failure) {
	if m.throw != nil {
		return nil, &failure{err: m.throw.Error, cause: m.throw.Cause, absent: m.throw.Error == "" && m.throw.Cause == ""}
	}
	return m.ret, nil
}
