package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pass runs a Pass state: its Result, or its effective input, is the
// result.
func (sr *stateRun) pass(raw any) (any, *failure) {
	fl := sr.s.flow
	in, f := fl.inputPath(sr, raw)
	if f != nil {
		return nil, f
	}
	in, f = fl.parameters(sr, in)
	if f != nil {
		return nil, f
	}
	result := in
	if sr.s.hasResult {
		result = sr.s.result
	}
	return fl.output(sr, raw, result)
}

// passThrough runs a Succeed state: InputPath, then OutputPath.
func (sr *stateRun) passThrough(raw any) (any, *failure) {
	fl := sr.s.flow
	in, f := fl.inputPath(sr, raw)
	if f != nil {
		return nil, f
	}
	return fl.output(sr, raw, in)
}

func (sr *stateRun) choice(raw any) (any, string, *failure) {
	fl := sr.s.flow
	in, f := fl.inputPath(sr, raw)
	if f != nil {
		return nil, "", f
	}
	next, f := fl.choose(sr, in)
	if f != nil {
		return nil, "", f
	}
	out, f := fl.output(sr, raw, in)
	return out, next, f
}

func (sr *stateRun) wait(ctx context.Context, raw any) (any, *failure) {
	fl := sr.s.flow
	in, f := fl.inputPath(sr, raw)
	if f != nil {
		return nil, f
	}
	until, f := fl.waitUntil(sr, in)
	if f != nil {
		return nil, f
	}
	if f := sr.t.r.sleepUntil(ctx, sr.t, until); f != nil {
		return nil, f
	}
	return fl.output(sr, raw, in)
}

func (sr *stateRun) fail(raw any) *failure { return sr.s.flow.failure(sr, raw) }

// task runs one attempt of a Task state.
func (sr *stateRun) task(ctx context.Context, raw any) (any, *failure) {
	s, t, r := sr.s, sr.t, sr.t.r
	fl := s.flow
	in, f := fl.inputPath(sr, raw)
	if f != nil {
		return nil, f
	}
	timeout, heartbeat, f := fl.taskTimeouts(sr, in)
	if f != nil {
		return nil, f
	}
	pattern := integrationPattern(s.Resource)
	if strings.Contains(s.Resource, ":states:::") {
		// Every service integration sees $$.Task.Token; a callback
		// waits for it.
		sr.setTaskToken(newTaskToken())
	}
	params, f := fl.parameters(sr, in)
	if f != nil {
		return nil, f
	}
	kind, resourceType, resource := classifyResource(s.Resource)
	paramsText := jsonText(params)
	var timeoutPtr, heartbeatPtr *int64
	if timeout > 0 {
		timeoutPtr = &timeout
	}
	if heartbeat > 0 {
		heartbeatPtr = &heartbeat
	}
	limit := time.Duration(timeout) * time.Second
	mock, mocked, err := r.mockResponse(s.Name)
	if err != nil {
		return nil, sr.runtimeError("%v", err)
	}

	var result any
	if kind == taskLambdaFunction {
		r.emit(t, HistoryEvent{Type: EventLambdaFunctionScheduled, LambdaFunctionScheduledEventDetails: &LambdaFunctionScheduledEventDetails{
			Resource: s.Resource, Input: paramsText, InputDetails: &DataDetails{}, TimeoutInSeconds: timeoutPtr,
		}})
		r.emit(t, HistoryEvent{Type: EventLambdaFunctionStarted})
		var out any
		if mocked {
			out, f = mock.result()
		} else {
			out, f = sr.callLambda(ctx, s.Resource, []byte(paramsText), limit)
		}
		if f != nil {
			switch {
			case f.kind != failError:
			case f.err == StatesTimeout:
				r.emit(t, HistoryEvent{Type: EventLambdaFunctionTimedOut, LambdaFunctionTimedOutEventDetails: &FailureEventDetails{Error: f.err, Cause: f.cause}})
			default:
				r.emit(t, HistoryEvent{Type: EventLambdaFunctionFailed, LambdaFunctionFailedEventDetails: &FailureEventDetails{Error: f.err, Cause: f.cause}})
			}
			return nil, f
		}
		r.emit(t, HistoryEvent{Type: EventLambdaFunctionSucceeded, LambdaFunctionSucceededEventDetails: &OutputEventDetails{
			Output: jsonText(out), OutputDetails: &DataDetails{},
		}})
		return fl.output(sr, raw, out)
	}

	if kind == taskActivity {
		return sr.activity(ctx, raw, mock, mocked, paramsText, timeoutPtr, heartbeatPtr, limit)
	}

	var h Handler
	useLambdaInvoke := kind == taskLambdaInvoke
	if !mocked && kind == taskService {
		var ok bool
		h, ok = r.resolveResource(s.Resource)
		switch {
		case !ok && baseResource(s.Resource) == lambdaInvokeARN:
			useLambdaInvoke = true
		case !ok:
			return nil, sr.runtimeError("No handler is registered for the resource '%s' in the embedded engine.", s.Resource)
		}
	}
	if pattern == patternCallback && !mocked && r.opts.Callbacks == nil {
		return nil, sr.runtimeError("The resource '%s' waits for a task token, but the embedded engine was given no Callbacks (Options.Callbacks) to complete it with.", s.Resource)
	}
	r.emit(t, HistoryEvent{Type: EventTaskScheduled, TaskScheduledEventDetails: &TaskScheduledEventDetails{
		ResourceType: resourceType, Resource: resource, Region: r.region, Parameters: paramsText,
		TimeoutInSeconds: timeoutPtr, HeartbeatInSeconds: heartbeatPtr,
	}})
	r.emit(t, HistoryEvent{Type: EventTaskStarted, TaskStartedEventDetails: &TaskEventDetails{ResourceType: resourceType, Resource: resource}})
	started := time.Now()
	var waiting *waitingTask
	if pattern == patternCallback && !mocked {
		waiting = r.opts.Callbacks.register(PendingTask{Token: sr.taskToken, ExecutionName: r.name, StateName: s.Name, Input: json.RawMessage(paramsText)})
		defer r.opts.Callbacks.forget(sr.taskToken)
	}
	var out any
	switch {
	case mocked:
		out, f = mock.result()
		if pattern != patternRequestResponse {
			r.emit(t, HistoryEvent{Type: EventTaskSubmitted, TaskSubmittedEventDetails: &TaskEventDetails{
				ResourceType: resourceType, Resource: resource, Output: "{}", OutputDetails: &DataDetails{},
			}})
		}
	case useLambdaInvoke:
		out, f = sr.lambdaInvoke(ctx, params, limit)
	default:
		out, f = sr.callHandler(ctx, h, s.Resource, s.Resource, []byte(paramsText), limit)
	}
	if f == nil && !mocked && pattern != patternRequestResponse {
		r.emit(t, HistoryEvent{Type: EventTaskSubmitted, TaskSubmittedEventDetails: &TaskEventDetails{
			ResourceType: resourceType, Resource: resource, Output: jsonText(out), OutputDetails: &DataDetails{},
		}})
		if waiting != nil {
			if r.opts.Callbacks.OnPending != nil {
				r.opts.Callbacks.OnPending(waiting.info)
			}
			out, f = sr.awaitToken(ctx, waiting, started, limit, time.Duration(heartbeat)*time.Second)
		}
	}
	if f != nil {
		switch {
		case f.kind != failError:
		case f.err == StatesTimeout || f.err == StatesHeartbeatTimeout:
			r.emit(t, HistoryEvent{Type: EventTaskTimedOut, TaskTimedOutEventDetails: &TaskEventDetails{
				ResourceType: resourceType, Resource: resource, Error: f.err, Cause: f.cause,
			}})
		default:
			r.emit(t, HistoryEvent{Type: EventTaskFailed, TaskFailedEventDetails: &TaskEventDetails{
				ResourceType: resourceType, Resource: resource, Error: f.err, Cause: f.cause,
			}})
		}
		return nil, f
	}
	r.emit(t, HistoryEvent{Type: EventTaskSucceeded, TaskSucceededEventDetails: &TaskEventDetails{
		ResourceType: resourceType, Resource: resource, Output: jsonText(out), OutputDetails: &DataDetails{},
	}})
	result = out
	return fl.output(sr, raw, result)
}

// activity runs a Task whose resource is an activity: the handler the
// Resolver returns for the activity's ARN is its worker.
func (sr *stateRun) activity(ctx context.Context, raw any, mock mockRange, mocked bool, paramsText string, timeout, heartbeat *int64, limit time.Duration) (any, *failure) {
	s, t, r := sr.s, sr.t, sr.t.r
	var h Handler
	if !mocked {
		var ok bool
		if r.resolver != nil {
			h, ok = r.resolver.Resolve(s.Resource)
		}
		if !ok {
			return nil, sr.runtimeError("The activity %s does not exist.", s.Resource)
		}
	}
	r.emit(t, HistoryEvent{Type: EventActivityScheduled, ActivityScheduledEventDetails: &ActivityScheduledEventDetails{
		Resource: s.Resource, Input: paramsText, InputDetails: &DataDetails{}, TimeoutInSeconds: timeout, HeartbeatInSeconds: heartbeat,
	}})
	r.emit(t, HistoryEvent{Type: EventActivityStarted, ActivityStartedEventDetails: &ActivityStartedEventDetails{WorkerName: "embedded"}})
	var (
		out any
		f   *failure
	)
	if mocked {
		out, f = mock.result()
	} else {
		out, f = sr.callHandler(ctx, h, s.Resource, s.Resource, []byte(paramsText), limit)
	}
	if f != nil {
		switch {
		case f.kind != failError:
		case f.err == StatesTimeout || f.err == StatesHeartbeatTimeout:
			r.emit(t, HistoryEvent{Type: EventActivityTimedOut, ActivityTimedOutEventDetails: &FailureEventDetails{Error: f.err, Cause: f.cause}})
		default:
			r.emit(t, HistoryEvent{Type: EventActivityFailed, ActivityFailedEventDetails: &FailureEventDetails{Error: f.err, Cause: f.cause}})
		}
		return nil, f
	}
	r.emit(t, HistoryEvent{Type: EventActivitySucceeded, ActivitySucceededEventDetails: &OutputEventDetails{Output: jsonText(out), OutputDetails: &DataDetails{}}})
	return s.flow.output(sr, raw, out)
}

// awaitToken waits, on the wall clock, until the Task's token is
// completed, its TimeoutSeconds (counted from when it started) or
// HeartbeatSeconds (counted from the last heartbeat) run out, or ctx ends.
func (sr *stateRun) awaitToken(ctx context.Context, w *waitingTask, started time.Time, timeout, heartbeat time.Duration) (any, *failure) {
	var timeoutC, heartbeatC <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(time.Until(started.Add(timeout)))
		defer tm.Stop()
		timeoutC = tm.C
	}
	var hb *time.Timer
	if heartbeat > 0 {
		hb = time.NewTimer(heartbeat)
		defer hb.Stop()
		heartbeatC = hb.C
	}
	for {
		select {
		case res := <-w.done:
			if res.failed {
				return nil, &failure{err: res.err, cause: res.cause, absent: res.err == "" && res.cause == ""}
			}
			return res.output, nil
		case <-w.heartbeat:
			if hb != nil {
				hb.Reset(heartbeat)
			}
		case <-timeoutC:
			return nil, &failure{err: StatesTimeout}
		case <-heartbeatC:
			return nil, &failure{err: StatesHeartbeatTimeout}
		case <-ctx.Done():
			return nil, aborted
		}
	}
}

// callLambda invokes the handler of a Lambda function.
func (sr *stateRun) callLambda(ctx context.Context, function string, payload []byte, limit time.Duration) (any, *failure) {
	h, ok := sr.t.r.resolveLambda(function)
	if !ok {
		return nil, &failure{err: "Lambda.ResourceNotFoundException",
			cause: fmt.Sprintf("Function not found: %s (no handler is registered for it in the embedded engine)", function)}
	}
	functionARN := function
	if !lambdaFunctionARN.MatchString(functionARN) {
		functionARN = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", sr.t.r.region, sr.t.r.account, function)
	}
	return sr.callHandler(ctx, h, function, functionARN, payload, limit)
}

// callHandler invokes h and decodes its output.
func (sr *stateRun) callHandler(ctx context.Context, h Handler, resource, functionARN string, payload []byte, limit time.Duration) (any, *failure) {
	out, f := sr.t.r.invoke(ctx, h, functionARN, payload, limit)
	if f != nil {
		return nil, f
	}
	if len(out) > payloadLimit {
		return nil, &failure{err: StatesDataLimitExceeded,
			cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", resource)}
	}
	if len(out) == 0 {
		return nil, nil
	}
	v, err := decodeJSON(out)
	if err != nil {
		return nil, &failure{err: StatesTaskFailed, cause: fmt.Sprintf("The handler for '%s' returned a payload that is not JSON: %v", resource, err)}
	}
	return v, nil
}

// lambdaInvoke runs the arn:aws:states:::lambda:invoke integration: the
// function named by the FunctionName parameter gets the Payload parameter,
// and the result wraps its output as the Lambda Invoke API returns it.
func (sr *stateRun) lambdaInvoke(ctx context.Context, params any, limit time.Duration) (any, *failure) {
	m, _ := params.(map[string]any)
	name, ok := m["FunctionName"].(string)
	if !ok || name == "" {
		return nil, sr.runtimeError("The Parameters '%s' could not be used to start the Task: [The field \"FunctionName\" is required and must be a string]", jsonText(params))
	}
	payload := []byte("{}")
	if p, ok := m["Payload"]; ok {
		payload = []byte(jsonText(p))
	}
	out, f := sr.callLambda(ctx, name, payload, limit)
	if f != nil {
		return nil, f
	}
	requestID := newUUID()
	return map[string]any{
		"ExecutedVersion": "$LATEST",
		"Payload":         out,
		"SdkHttpMetadata": map[string]any{
			"AllHttpHeaders": map[string]any{
				"Content-Type":           []any{"application/json"},
				"X-Amz-Executed-Version": []any{"$LATEST"},
				"x-amzn-RequestId":       []any{requestID},
			},
			"HttpHeaders": map[string]any{
				"Content-Type":           "application/json",
				"X-Amz-Executed-Version": "$LATEST",
				"x-amzn-RequestId":       requestID,
			},
			"HttpStatusCode": number(200),
		},
		"SdkResponseMetadata": map[string]any{"RequestId": requestID},
		"StatusCode":          number(200),
	}, nil
}

// parallel runs one attempt of a Parallel state: every branch at once, on
// the same input; the result lists their outputs in branch order.
func (sr *stateRun) parallel(ctx context.Context, raw any) (any, *failure) {
	s, t, r := sr.s, sr.t, sr.t.r
	fl := s.flow
	in, f := fl.inputPath(sr, raw)
	if f != nil {
		return nil, f
	}
	in, f = fl.parameters(sr, in)
	if f != nil {
		return nil, f
	}
	r.emit(t, HistoryEvent{Type: EventParallelStateStarted})
	sr.started = true
	results := make([]any, len(s.Branches))
	threads := make([]*thread, len(s.Branches))
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first *failure
		wg    sync.WaitGroup
	)
	for i, b := range s.Branches {
		bt := t.fork()
		threads[i] = bt
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, f := bt.runMachine(cctx, b, in)
			if f != nil {
				if f.kind != failAborted {
					mu.Lock()
					if first == nil {
						first = f
						cancel()
					}
					mu.Unlock()
				}
				return
			}
			results[i] = out
		}()
	}
	wg.Wait()
	t.join(threads)
	if first != nil {
		return nil, first
	}
	if ctx.Err() != nil {
		return nil, aborted
	}
	r.emit(t, HistoryEvent{Type: EventParallelStateSucceeded})
	return fl.output(sr, raw, results)
}

// inlineMapConcurrency is how many iterations an inline Map state runs at
// once when MaxConcurrency is 0 (no limit): 40, as on AWS.
const inlineMapConcurrency = 40

// mapState runs one attempt of a Map state: the item processor once for
// each item, at most MaxConcurrency at a time (40 when it is 0, as AWS runs
// inline Map states); the result lists their outputs in item order.
func (sr *stateRun) mapState(ctx context.Context, raw any) (any, *failure) {
	s, t, r := sr.s, sr.t, sr.t.r
	fl := s.flow
	in, f := fl.inputPath(sr, raw)
	if f != nil {
		return nil, f
	}
	items, f := fl.items(sr, in)
	if f != nil {
		return nil, f
	}
	maxConc, f := fl.maxConcurrency(sr, in)
	if f != nil {
		return nil, f
	}
	n := len(items)
	length := n
	if s.distributed {
		length = 0 // AWS reports the items of a Distributed Map in its Map Run
	}
	r.emit(t, HistoryEvent{Type: EventMapStateStarted, MapStateStartedEventDetails: &MapStateStartedEventDetails{Length: length}})
	lim, f := fl.tolerance(sr, in)
	if f != nil {
		return nil, f
	}
	if s.distributed {
		r.emit(t, HistoryEvent{Type: EventMapRunStarted, MapRunStartedEventDetails: &MapRunStartedEventDetails{
			MapRunARN: fmt.Sprintf("arn:aws:states:%s:%s:mapRun:%s/%s:%s", r.region, r.account, r.ctxStateMachine["Name"], s.Name, newUUID()),
		}})
	}
	sr.started = true
	if maxConc == 0 {
		maxConc = inlineMapConcurrency
	}
	workers := min(n, maxConc)
	results := make([]any, n)
	threads := make([]*thread, workers)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		first    *failure
		failures int
		wg       sync.WaitGroup
	)
	tolerable := func(f *failure) bool {
		if f.kind != failError || f.err == StatesRuntime || (lim.count < 0 && lim.pct < 0) {
			return false
		}
		failures++
		if lim.count >= 0 && int64(failures) > lim.count {
			return false
		}
		if lim.pct >= 0 && float64(failures)*100/float64(n) > lim.pct {
			return false
		}
		return true
	}
	fail := func(f *failure) {
		if first == nil {
			first = f
			if f.kind == failError && f.err != StatesRuntime && (lim.count >= 0 || lim.pct >= 0) {
				first = &failure{err: StatesExceedToleratedFailureThreshold, cause: "The specified tolerated failure threshold was exceeded"}
			}
			cancel()
		}
	}
	for w := range workers {
		wt := t.fork()
		threads[w] = wt
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || cctx.Err() != nil {
					return
				}
				itemIn, f := fl.itemInput(sr, in, i, items[i])
				if f != nil {
					mu.Lock()
					fail(f)
					mu.Unlock()
					return
				}
				details := &MapIterationEventDetails{Name: s.Name, Index: i}
				wt.vars = t.vars.child()
				iterate := func(typ string, d *MapIterationEventDetails) {
					if s.distributed {
						return
					}
					ev := HistoryEvent{Type: typ}
					switch typ {
					case EventMapIterationStarted:
						ev.MapIterationStartedEventDetails = d
					case EventMapIterationSucceeded:
						ev.MapIterationSucceededEventDetails = d
					case EventMapIterationAborted:
						ev.MapIterationAbortedEventDetails = d
					default:
						ev.MapIterationFailedEventDetails = d
					}
					r.emit(wt, ev)
				}
				if s.distributed {
					// Each item runs as a child execution with a history of
					// its own.
					wt.child, wt.last = &childHistory{}, 0
					r.emit(wt, HistoryEvent{Type: EventExecutionStarted})
					wt.last = 0
				}
				iterate(EventMapIterationStarted, details)
				out, f := wt.runMachine(cctx, s.ItemProcessor, itemIn)
				switch {
				case f == nil:
					results[i] = out
					iterate(EventMapIterationSucceeded, details)
				case f.kind == failAborted:
					iterate(EventMapIterationAborted, details)
				default:
					iterate(EventMapIterationFailed, details)
					mu.Lock()
					if tolerable(f) {
						results[i] = f.output()
					} else {
						fail(f)
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for _, wt := range threads {
		wt.child, wt.last = nil, t.last
	}
	t.join(threads)
	if first != nil {
		if s.distributed && first.kind == failError {
			r.emit(t, HistoryEvent{Type: EventMapRunFailed, MapRunFailedEventDetails: &FailureEventDetails{Error: first.err, Cause: first.cause}})
		}
		return nil, first
	}
	if ctx.Err() != nil {
		return nil, aborted
	}
	if s.distributed {
		r.emit(t, HistoryEvent{Type: EventMapRunSucceeded})
	}
	r.emit(t, HistoryEvent{Type: EventMapStateSucceeded})
	return fl.output(sr, raw, results)
}
