package asl

import (
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// flow evaluates a state's data-flow fields in one query language: the
// paths, payload templates, conditions and computed values that decide what
// a state reads and writes. The interpreter (run.go, states.go) knows only
// this interface. JSONPath is the one implementation today; JSONata
// (Arguments, Output, Assign and variables) is meant to arrive as a second
// one, chosen per state from QueryLanguage, without changes elsewhere.
type flow interface {
	// inputPath selects the part of the raw input the state works on.
	inputPath(sr *stateRun, raw any) (any, *failure)
	// parameters builds the effective input of a Pass, Task or Parallel.
	parameters(sr *stateRun, input any) (any, *failure)
	// output turns a result into the state's output: ResultSelector,
	// ResultPath (into the raw input) and OutputPath.
	output(sr *stateRun, raw, result any) (any, *failure)
	// errorOutput is the output of a state whose error c caught.
	errorOutput(sr *stateRun, c *Catcher, raw any, f *failure) (any, *failure)
	// choose picks the next state of a Choice.
	choose(sr *stateRun, input any) (string, *failure)
	// waitUntil is when a Wait state ends.
	waitUntil(sr *stateRun, input any) (time.Time, *failure)
	// failure is the error a Fail state raises.
	failure(sr *stateRun, input any) *failure
	// items are the items a Map iterates over, and itemInput the input of
	// one iteration.
	items(sr *stateRun, input any) ([]any, *failure)
	itemInput(sr *stateRun, input any, index int, item any) (any, *failure)
	// maxConcurrency is a Map's MaxConcurrency (0: no limit).
	maxConcurrency(sr *stateRun, input any) (int, *failure)
	// tolerance is how many failed items a Map tolerates.
	tolerance(sr *stateRun, input any) (tolerance, *failure)
	// taskTimeouts are a Task's TimeoutSeconds and HeartbeatSeconds (0 when
	// unset).
	taskTimeouts(sr *stateRun, input any) (timeout, heartbeat int64, f *failure)
}

// tolerance is a Map state's ToleratedFailureCount and
// ToleratedFailurePercentage; -1 when not set.
type tolerance struct {
	count int64
	pct   float64
}

// jsonPathFlow is the JSONPath query language.
type jsonPathFlow struct{}

func (jsonPathFlow) inputPath(sr *stateRun, raw any) (any, *failure) {
	return applyPath(sr, sr.s.inputPath, raw)
}

// applyPath applies InputPath or OutputPath: null makes {}, absent keeps v.
func applyPath(sr *stateRun, pf pathField, v any) (any, *failure) {
	switch {
	case pf.null:
		return map[string]any{}, nil
	case pf.p == nil:
		return v, nil
	}
	out, err := sr.resolvePath(pf.p, v)
	if err != nil {
		return nil, sr.runtimeError("Invalid path '%s' : %v", pf.p.text, err)
	}
	return out, nil
}

func (jsonPathFlow) parameters(sr *stateRun, input any) (any, *failure) {
	if sr.s.parameters == nil {
		return input, nil
	}
	return evalPayload(sr, sr.s.parameters, sr.scope(input))
}

// evalPayload evaluates a template and words its errors as AWS does.
func evalPayload(sr *stateRun, p *payload, sc *scope) (any, *failure) {
	v, err := p.eval(sc)
	if err == nil {
		return v, nil
	}
	switch e := err.(type) {
	case *fieldIntrinsicError:
		return nil, &failure{err: StatesIntrinsicFailure, cause: sr.errorPrefix() + e.Error()}
	default:
		return nil, sr.runtimeError("%v", err)
	}
}

func (jsonPathFlow) output(sr *stateRun, raw, result any) (any, *failure) {
	s := sr.s
	if s.resultSelector != nil {
		v, f := evalPayload(sr, s.resultSelector, sr.scope(result))
		if f != nil {
			return nil, f
		}
		result = v
	}
	assign := s.assign
	if s.Type == "Choice" && sr.rule != nil {
		assign = sr.rule.assign
	}
	if assign != nil {
		v, f := evalPayload(sr, assign, sr.scope(result))
		if f != nil {
			return nil, f
		}
		sr.assigned, _ = v.(map[string]any)
	}
	out, f := applyResultPath(sr, s.resultPath, raw, result)
	if f != nil {
		return nil, f
	}
	return applyPath(sr, s.outputPath, out)
}

// applyResultPath places result in raw: null discards it, absent or $
// replaces raw with it.
func applyResultPath(sr *stateRun, pf pathField, raw, result any) (any, *failure) {
	switch {
	case pf.null:
		return raw, nil
	case pf.p == nil || len(pf.p.segs) == 0:
		return result, nil
	}
	out, err := pf.p.set(raw, result)
	if err != nil {
		return nil, &failure{err: StatesResultPathMatchFailure,
			cause: fmt.Sprintf("%sUnable to apply ResultPath '%s' to input '%s': %v", sr.errorPrefix(), pf.p.text, jsonText(raw), err)}
	}
	return out, nil
}

func (jsonPathFlow) errorOutput(sr *stateRun, c *Catcher, raw any, f *failure) (any, *failure) {
	if c.assign != nil {
		v, af := evalPayload(sr, c.assign, sr.scope(f.output()))
		if af != nil {
			return nil, af
		}
		sr.assigned, _ = v.(map[string]any)
	}
	return applyResultPath(sr, c.resultPath, raw, f.output())
}

func (jsonPathFlow) choose(sr *stateRun, input any) (string, *failure) {
	sc := sr.scope(input)
	for _, r := range sr.s.Choices {
		ok, err := r.eval(sc)
		if err != nil {
			return "", sr.runtimeError("%v", err)
		}
		if ok {
			sr.rule = r
			return r.Next, nil
		}
	}
	if sr.s.Default != "" {
		return sr.s.Default, nil
	}
	return "", &failure{err: StatesNoChoiceMatched, cause: "No Matches!"}
}

// maxWait is the longest wait Step Functions accepts, in seconds.
const maxWait = math.MaxInt32

func (jsonPathFlow) waitUntil(sr *stateRun, input any) (time.Time, *failure) {
	s := sr.s
	var until time.Time
	switch {
	case s.hasWaitSeconds:
		until = sr.entered.Add(time.Duration(s.waitSeconds) * time.Second)
	case s.secondsPath != nil:
		v, err := sr.resolvePath(s.secondsPath, input)
		if err != nil {
			return time.Time{}, sr.runtimeError("The SecondsPath parameter does not reference an input value: %s", s.secondsPath.text)
		}
		n, ok := asInt(v)
		if !ok || !isIntegerText(v) {
			return time.Time{}, sr.runtimeError("The SecondsPath parameter cannot be parsed as a long value: %s == %s", s.secondsPath.text, plainText(v))
		}
		if n < 0 {
			return time.Time{}, sr.runtimeError("The SecondsPath parameter references a negative value: %s == %d", s.secondsPath.text, n)
		}
		if n > maxWait {
			return time.Time{}, sr.runtimeError("Wait state delay is too long.")
		}
		until = sr.entered.Add(time.Duration(n) * time.Second)
	case s.hasTimestamp:
		until = s.timestamp
	case s.timestampPath != nil:
		v, err := sr.resolvePath(s.timestampPath, input)
		if err != nil {
			return time.Time{}, sr.runtimeError("The TimestampPath parameter does not reference an input value: %s", s.timestampPath.text)
		}
		str, ok := v.(string)
		t, ok2 := parseTimestamp(str)
		if !ok || !ok2 {
			return time.Time{}, sr.runtimeError("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", s.timestampPath.text, plainText(v))
		}
		until = t
	}
	if until.Sub(sr.entered) > maxWait*time.Second {
		return time.Time{}, sr.runtimeError("Wait state delay is too long.")
	}
	return until, nil
}

// isIntegerText reports whether a number is written without a fraction or
// exponent, as a Java long would parse it.
func isIntegerText(v any) bool {
	n, ok := v.(interface{ String() string })
	if !ok {
		return false
	}
	for _, c := range n.String() {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// plainText renders a value for a message: strings bare, the rest as JSON.
func plainText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonText(v)
}

func (jsonPathFlow) failure(sr *stateRun, input any) *failure {
	s := sr.s
	f := &failure{err: s.errorName, cause: s.cause}
	for _, ds := range []*dynString{s.errorSource, s.causeSource} {
		if ds == nil {
			continue
		}
		sc := sr.scope(input)
		var v any
		var err error
		if ds.path != nil {
			v, err = sc.resolve(ds.path)
			if err != nil {
				return sr.runtimeError("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", ds.path.text, ds.field, jsonText(input))
			}
		} else {
			v, err = ds.call.eval(sc.resolve)
			if err != nil {
				if ie, ok := err.(*intrinsicError); ok {
					return &failure{err: StatesIntrinsicFailure, cause: sr.errorPrefix() + ie.Error()}
				}
				return sr.runtimeError("The intrinsic function specified for the field '%s' could not be evaluated: %v", ds.field, err)
			}
		}
		str, ok := v.(string)
		if !ok {
			return sr.runtimeError("The value of the field '%s' must be a string, not %s", ds.field, typeName(v))
		}
		if ds == s.errorSource {
			f.err = str
		} else {
			f.cause = str
		}
	}
	return f
}

func (jsonPathFlow) items(sr *stateRun, input any) ([]any, *failure) {
	v := input
	text := "$"
	if p := sr.s.itemsPath; p != nil {
		text = p.text
		var err error
		v, err = sr.resolvePath(p, input)
		if err != nil {
			return nil, sr.runtimeError("Invalid path '%s' : %v", p.text, err)
		}
	}
	items, ok := v.([]any)
	if !ok {
		return nil, sr.runtimeError("The ItemsPath field '%s' must select an array, but it selects %s: %s", text, typeName(v), jsonText(v))
	}
	return items, nil
}

func (jsonPathFlow) itemInput(sr *stateRun, input any, index int, item any) (any, *failure) {
	if sr.s.itemSelector == nil {
		return item, nil
	}
	sc := &scope{input: input, context: func() any { return sr.contextWithItem(index, item) }, vars: sr.t.vars}
	return evalPayload(sr, sr.s.itemSelector, sc)
}

// readInteger reads the integer a ...Path field of a Map selects.
func readInteger(sr *stateRun, field string, p *path, input any) (int64, *failure) {
	v, err := sr.resolvePath(p, input)
	if err != nil {
		return 0, sr.runtimeError("Invalid path '%s' : %v", p.text, err)
	}
	if s, isStr := v.(string); isStr {
		// Step Functions reads the value as Jackson does: a string that
		// holds an integer will do.
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			return n, nil
		}
	}
	n, ok := asInt(v)
	if !ok || !isIntegerText(v) {
		return 0, sr.runtimeError("The %s field refers to value \"%s\" which is not a valid integer: %s", field, plainText(v), p.text)
	}
	return n, nil
}

func (jsonPathFlow) maxConcurrency(sr *stateRun, input any) (int, *failure) {
	s := sr.s
	if s.maxConcPath == nil {
		return int(s.maxConcurrency), nil
	}
	n, f := readInteger(sr, "MaxConcurrencyPath", s.maxConcPath, input)
	if f != nil {
		return 0, f
	}
	if n < 0 {
		return 0, sr.runtimeError("MaxConcurrency cannot be negative.")
	}
	return int(min(n, math.MaxInt32)), nil
}

func (jsonPathFlow) tolerance(sr *stateRun, input any) (tolerance, *failure) {
	s := sr.s
	t := tolerance{count: -1, pct: -1}
	if s.hasToleratedN {
		t.count = s.toleratedCount
	}
	if s.hasToleratedPct {
		t.pct = s.toleratedPct
	}
	if p := s.toleratedCountP; p != nil {
		n, f := readInteger(sr, "ToleratedFailureCountPath", p, input)
		if f != nil {
			return t, f
		}
		if n < 0 {
			return t, sr.runtimeError("ToleratedFailureCount cannot be negative.")
		}
		t.count = n
	}
	if p := s.toleratedPctP; p != nil {
		v, err := sr.resolvePath(p, input)
		if err != nil {
			return t, sr.runtimeError("Invalid path '%s' : %v", p.text, err)
		}
		pct, ok := asFloat(v)
		if str, isStr := v.(string); isStr {
			f, err := strconv.ParseFloat(strings.TrimSpace(str), 64)
			pct, ok = f, err == nil
		}
		if !ok {
			return t, sr.runtimeError("The ToleratedFailurePercentagePath field refers to value \"%s\" which is not a valid float: %s", plainText(v), p.text)
		}
		if pct < 0 || pct > 100 {
			return t, sr.runtimeError("ToleratedFailurePercentage must be between 0 and 100.")
		}
		t.pct = pct
	}
	return t, nil
}

func (jsonPathFlow) taskTimeouts(sr *stateRun, input any) (int64, int64, *failure) {
	s := sr.s
	timeout, heartbeat := s.timeoutSeconds, s.heartbeatSeconds
	for _, x := range []struct {
		field string
		p     *path
		dst   *int64
	}{{"TimeoutSecondsPath", s.timeoutSecondsPath, &timeout}, {"HeartbeatSecondsPath", s.heartbeatSecondsPath, &heartbeat}} {
		if x.p == nil {
			continue
		}
		v, err := sr.resolvePath(x.p, input)
		if err != nil {
			return 0, 0, sr.runtimeError("Invalid path '%s' : %v", x.p.text, err)
		}
		n, ok := asInt(v)
		if !ok || n <= 0 {
			return 0, 0, sr.runtimeError("The %s field refers to value \"%s\" which is not a positive integer: %s", x.field, plainText(v), x.p.text)
		}
		*x.dst = n
	}
	return timeout, heartbeat, nil
}

// randFloat returns a random number in [0, 1), for FULL jitter.
func randFloat() float64 { return mrand.Float64() }
