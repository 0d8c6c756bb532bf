package asl

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// jsonataTemplate is a value in a JSONata state: a string "{% expr %}" is
// an expression, objects and arrays are templates whose members may be
// expressions, and anything else is taken as written.
type jsonataTemplate struct {
	expr    *jsonataExpr
	literal any
	dynamic bool
	fields  []jsonataField
	items   []*jsonataTemplate
	isArray bool
}

type jsonataField struct {
	name string
	tmpl *jsonataTemplate
}

// jsonataFields are the fields of a state in the JSONata query language.
type jsonataFields struct {
	arguments, output, assign, items, itemSelector   *jsonataTemplate
	seconds, timestamp, timeout, heartbeat           *jsonataTemplate
	maxConcurrency, toleratedCount, toleratedPercent *jsonataTemplate
	errorName, cause                                 *jsonataTemplate
}

// jsonataCatcher are the fields of a catcher in a JSONata state.
type jsonataCatcher struct {
	output, assign *jsonataTemplate
}

// jsonataExprText returns the expression inside "{% ... %}", if s is one.
func jsonataExprText(s string) (string, bool) {
	t := s
	if len(t) >= 4 && strings.HasPrefix(t, "{%") && strings.HasSuffix(t, "%}") {
		return strings.TrimSpace(t[2 : len(t)-2]), true
	}
	return "", false
}

// compileJSONataTemplate compiles a JSONata-mode value.
func compileJSONataTemplate(v any) (*jsonataTemplate, error) {
	switch v := v.(type) {
	case string:
		text, ok := jsonataExprText(v)
		if !ok {
			return &jsonataTemplate{literal: v}, nil
		}
		e, err := compileJSONata(text)
		if err != nil {
			return nil, err
		}
		return &jsonataTemplate{expr: e, dynamic: true}, nil
	case map[string]any:
		t := &jsonataTemplate{}
		for _, k := range sortedKeys(v) {
			sub, err := compileJSONataTemplate(v[k])
			if err != nil {
				return nil, err
			}
			t.fields = append(t.fields, jsonataField{name: k, tmpl: sub})
			t.dynamic = t.dynamic || sub.dynamic
		}
		if !t.dynamic {
			return &jsonataTemplate{literal: v}, nil
		}
		return t, nil
	case []any:
		t := &jsonataTemplate{isArray: true}
		for _, e := range v {
			sub, err := compileJSONataTemplate(e)
			if err != nil {
				return nil, err
			}
			t.items = append(t.items, sub)
			t.dynamic = t.dynamic || sub.dynamic
		}
		if !t.dynamic {
			return &jsonataTemplate{literal: v}, nil
		}
		return t, nil
	}
	return &jsonataTemplate{literal: v}, nil
}

// jsonataEnv is what an expression sees: $states and the variables.
type jsonataEnv struct {
	states map[string]any
	vars   map[string]any
}

// eval evaluates the template; field names it in error messages, such as
// "Output" or "Output/result".
func (t *jsonataTemplate) eval(sr *stateRun, env *jsonataEnv, field string) (any, *failure) {
	if !t.dynamic {
		return t.literal, nil
	}
	switch {
	case t.expr != nil:
		v, err := t.expr.eval(env.states, env.vars)
		switch {
		case err == nil:
			return v, nil
		case errors.Is(err, errUndefined):
			return nil, sr.queryError("The JSONata expression '%s' specified for the field '%s' returned nothing (undefined).", t.expr.text, field)
		case errors.Is(err, errUnsupportedType):
			return nil, sr.queryError("The JSONata expression '%s' specified for the field '%s' returned an unsupported result type.", t.expr.text, field)
		default:
			return nil, sr.queryError("The JSONata expression '%s' specified for the field '%s' threw an error during evaluation. %s", t.expr.text, field, jsonataErrorText(err))
		}
	case t.isArray:
		out := make([]any, len(t.items))
		for i, it := range t.items {
			v, f := it.eval(sr, env, fmt.Sprintf("%s[%d]", field, i))
			if f != nil {
				return nil, f
			}
			out[i] = v
		}
		return out, nil
	}
	out := make(map[string]any, len(t.fields))
	for _, fl := range t.fields {
		v, f := fl.tmpl.eval(sr, env, field+"/"+fl.name)
		if f != nil {
			return nil, f
		}
		out[fl.name] = v
	}
	return out, nil
}

// queryError builds a States.QueryEvaluationError failure and records it
// in the history as an EvaluationFailed event, as AWS does.
func (sr *stateRun) queryError(format string, a ...any) *failure {
	f := &failure{err: StatesQueryEvaluationError, cause: sr.errorPrefix() + fmt.Sprintf(format, a...)}
	location := ""
	if i := strings.Index(format, "field '%s'"); i >= 0 {
		// The field is the argument after the expression.
		if len(a) > 1 {
			location, _ = a[1].(string)
			location, _, _ = strings.Cut(location, "/")
		}
	}
	sr.t.r.emit(sr.t, HistoryEvent{Type: EventEvaluationFailed, EvaluationFailedEventDetails: &EvaluationFailedEventDetails{
		Error: f.err, Cause: f.cause, Location: location, State: sr.s.Name,
	}})
	return f
}

// jsonataFlow is the JSONata query language: Arguments, Output, Assign
// and expressions in {% %}, with $states and the variables in scope.
type jsonataFlow struct{}

func (sr *stateRun) jsonataEnv(extra map[string]any) *jsonataEnv {
	states := map[string]any{"context": sr.contextObject()}
	for k, v := range extra {
		states[k] = v
	}
	return &jsonataEnv{states: states, vars: sr.t.vars.all()}
}

func (jsonataFlow) inputPath(_ *stateRun, raw any) (any, *failure) { return raw, nil }

func (jsonataFlow) parameters(sr *stateRun, input any) (any, *failure) {
	if sr.s.ja.arguments == nil {
		return input, nil
	}
	return sr.s.ja.arguments.eval(sr, sr.jsonataEnv(map[string]any{"input": input}), "Arguments")
}

func (jsonataFlow) output(sr *stateRun, raw, result any) (any, *failure) {
	s := sr.s
	extra := map[string]any{"input": raw}
	switch s.Type {
	case "Task", "Parallel", "Map":
		extra["result"] = result
	}
	env := sr.jsonataEnv(extra)
	out := result
	if s.ja.output != nil {
		v, f := s.ja.output.eval(sr, env, "Output")
		if f != nil {
			return nil, f
		}
		out = v
	}
	assign := s.ja.assign
	if s.Type == "Choice" && sr.rule != nil {
		assign = sr.rule.jsonataAssign
		if sr.rule.jsonataOutput != nil {
			v, f := sr.rule.jsonataOutput.eval(sr, env, "Output")
			if f != nil {
				return nil, f
			}
			out = v
		}
	}
	if f := sr.jsonataAssign(assign, env); f != nil {
		return nil, f
	}
	return out, nil
}

func (sr *stateRun) jsonataAssign(assign *jsonataTemplate, env *jsonataEnv) *failure {
	if assign == nil {
		return nil
	}
	v, f := assign.eval(sr, env, "Assign")
	if f != nil {
		return f
	}
	sr.assigned, _ = v.(map[string]any)
	return nil
}

func (jsonataFlow) errorOutput(sr *stateRun, c *Catcher, raw any, f *failure) (any, *failure) {
	errOut := f.output()
	env := sr.jsonataEnv(map[string]any{"input": raw, "errorOutput": errOut})
	var out any = errOut
	if c.ja != nil && c.ja.output != nil {
		v, of := c.ja.output.eval(sr, env, "Output")
		if of != nil {
			return nil, of
		}
		out = v
	}
	if c.ja != nil {
		if af := sr.jsonataAssign(c.ja.assign, env); af != nil {
			return nil, af
		}
	}
	return out, nil
}

func (jsonataFlow) choose(sr *stateRun, input any) (string, *failure) {
	env := sr.jsonataEnv(map[string]any{"input": input})
	for _, r := range sr.s.Choices {
		if r.condition == nil {
			continue
		}
		v, f := r.condition.eval(sr, env, "Condition")
		if f != nil {
			return "", f
		}
		b, ok := v.(bool)
		if !ok {
			return "", sr.queryError("The JSONata expression '%s' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '%s' for value: %s", exprText(r.condition), typeName(v), jsonText(v))
		}
		if b {
			sr.rule = r
			return r.Next, nil
		}
	}
	if sr.s.Default != "" {
		return sr.s.Default, nil
	}
	return "", &failure{err: StatesNoChoiceMatched, cause: "No Matches!"}
}

func exprText(t *jsonataTemplate) string {
	if t.expr != nil {
		return t.expr.text
	}
	return jsonText(t.literal)
}

// jsonataInteger evaluates a field that must be an integer.
func (sr *stateRun) jsonataInteger(t *jsonataTemplate, input any, field string) (int64, *failure) {
	v, f := t.eval(sr, sr.jsonataEnv(map[string]any{"input": input}), field)
	if f != nil {
		return 0, f
	}
	n, ok := asInt(v)
	if !ok {
		fv, isNum := asFloat(v)
		if isNum && fv == math.Trunc(fv) {
			return int64(fv), nil
		}
		return 0, sr.queryError("The JSONata expression '%s' specified for the field '%s' returned an unexpected result type. Expected 'integer', but was '%s' for value: %s", exprText(t), field, typeName(v), jsonText(v))
	}
	return n, nil
}

func (jsonataFlow) waitUntil(sr *stateRun, input any) (time.Time, *failure) {
	ja := sr.s.ja
	var until time.Time
	switch {
	case ja.seconds != nil:
		n, f := sr.jsonataInteger(ja.seconds, input, "Seconds")
		if f != nil {
			return time.Time{}, f
		}
		if n < 0 {
			return time.Time{}, sr.queryError("The Seconds field must not be negative: %d", n)
		}
		until = sr.entered.Add(time.Duration(n) * time.Second)
	case ja.timestamp != nil:
		v, f := ja.timestamp.eval(sr, sr.jsonataEnv(map[string]any{"input": input}), "Timestamp")
		if f != nil {
			return time.Time{}, f
		}
		str, ok := v.(string)
		t, ok2 := parseTimestamp(str)
		if !ok || !ok2 {
			return time.Time{}, sr.queryError("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: %s", plainText(v))
		}
		until = t
	}
	if until.Sub(sr.entered) > maxWait*time.Second {
		return time.Time{}, sr.runtimeError("Wait state delay is too long.")
	}
	return until, nil
}

func (jsonataFlow) failure(sr *stateRun, input any) *failure {
	ja := sr.s.ja
	f := &failure{}
	env := sr.jsonataEnv(map[string]any{"input": input})
	for _, x := range []struct {
		field string
		t     *jsonataTemplate
		dst   *string
	}{{"Error", ja.errorName, &f.err}, {"Cause", ja.cause, &f.cause}} {
		if x.t == nil {
			continue
		}
		v, vf := x.t.eval(sr, env, x.field)
		if vf != nil {
			return vf
		}
		s, ok := v.(string)
		if !ok {
			return sr.queryError("The JSONata expression '%s' specified for the field '%s' returned an unexpected result type. Expected 'string', but was '%s' for value: %s", exprText(x.t), x.field, typeName(v), jsonText(v))
		}
		*x.dst = s
	}
	return f
}

func (jsonataFlow) items(sr *stateRun, input any) ([]any, *failure) {
	t := sr.s.ja.items
	if t == nil {
		a, ok := input.([]any)
		if !ok {
			return nil, sr.queryError("Map state input must be an array but was: %s", jsonText(input))
		}
		return a, nil
	}
	v, f := t.eval(sr, sr.jsonataEnv(map[string]any{"input": input}), "Items")
	if f != nil {
		return nil, f
	}
	a, ok := v.([]any)
	if !ok {
		return nil, sr.queryError("The JSONata expression '%s' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '%s' for value: %s", exprText(t), typeName(v), jsonText(v))
	}
	return a, nil
}

func (jsonataFlow) itemInput(sr *stateRun, input any, index int, item any) (any, *failure) {
	t := sr.s.ja.itemSelector
	if t == nil {
		return item, nil
	}
	env := sr.jsonataEnv(map[string]any{"input": input})
	env.states["context"] = sr.contextWithItem(index, item)
	return t.eval(sr, env, "ItemSelector")
}

func (jsonataFlow) maxConcurrency(sr *stateRun, input any) (int, *failure) {
	t := sr.s.ja.maxConcurrency
	if t == nil {
		return 0, nil
	}
	n, f := sr.jsonataInteger(t, input, "MaxConcurrency")
	if f != nil {
		return 0, f
	}
	if n < 0 {
		return 0, sr.queryError("MaxConcurrency cannot be negative.")
	}
	return int(min(n, math.MaxInt32)), nil
}

func (jsonataFlow) tolerance(sr *stateRun, input any) (tolerance, *failure) {
	ja := sr.s.ja
	t := tolerance{count: -1, pct: -1}
	if ja.toleratedCount != nil {
		n, f := sr.jsonataInteger(ja.toleratedCount, input, "ToleratedFailureCount")
		if f != nil {
			return t, f
		}
		t.count = n
	}
	if ja.toleratedPercent != nil {
		v, f := ja.toleratedPercent.eval(sr, sr.jsonataEnv(map[string]any{"input": input}), "ToleratedFailurePercentage")
		if f != nil {
			return t, f
		}
		pct, ok := asFloat(v)
		if !ok || pct < 0 || pct > 100 {
			return t, sr.queryError("ToleratedFailurePercentage must be a number between 0 and 100, not %s", jsonText(v))
		}
		t.pct = pct
	}
	return t, nil
}

func (jsonataFlow) taskTimeouts(sr *stateRun, input any) (int64, int64, *failure) {
	ja := sr.s.ja
	var out [2]int64
	for i, x := range []struct {
		field string
		t     *jsonataTemplate
	}{{"TimeoutSeconds", ja.timeout}, {"HeartbeatSeconds", ja.heartbeat}} {
		if x.t == nil {
			continue
		}
		n, f := sr.jsonataInteger(x.t, input, x.field)
		if f != nil {
			return 0, 0, f
		}
		if n <= 0 {
			return 0, 0, sr.queryError("The %s field must be a positive integer, not %d", x.field, n)
		}
		out[i] = n
	}
	return out[0], out[1], nil
}
