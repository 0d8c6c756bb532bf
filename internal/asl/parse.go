package asl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// StateMachine is a parsed and validated state machine definition. The
// branches of a Parallel state and the item processor of a Map state are
// StateMachines too; only the top level has TimeoutSeconds and Version.
type StateMachine struct {
	Comment        string
	StartAt        string
	States         map[string]*State
	TimeoutSeconds int
	Version        string
}

// State is one state of a definition. Fields that do not apply to the
// state's Type are zero. Raw is the state's definition as written, for
// anything the fields below do not show.
type State struct {
	Name    string
	Type    string // Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map
	Comment string
	Next    string
	End     bool

	Default string        // Choice
	Choices []*ChoiceRule // Choice

	Resource string     // Task
	Retry    []*Retrier // Task, Parallel, Map
	Catch    []*Catcher // Task, Parallel, Map

	Branches      []*StateMachine // Parallel
	ItemProcessor *StateMachine   // Map: ItemProcessor, or the older Iterator
	distributed   bool            // Map: ProcessorConfig.Mode is DISTRIBUTED

	Raw json.RawMessage

	flow flow

	inputPath, outputPath, resultPath pathField
	parameters, resultSelector        *payload
	assign                            *payload
	ja                                *jsonataFields
	result                            any
	hasResult                         bool

	timeoutSeconds, heartbeatSeconds         int64
	timeoutSecondsPath, heartbeatSecondsPath *path

	waitSeconds     int64
	hasWaitSeconds  bool
	secondsPath     *path
	timestamp       time.Time
	hasTimestamp    bool
	timestampPath   *path
	errorName       string
	hasErrorName    bool
	cause           string
	hasCause        bool
	errorSource     *dynString
	causeSource     *dynString
	itemsPath       *path
	itemSelector    *payload
	maxConcurrency  int64
	maxConcPath     *path
	toleratedCount  int64
	toleratedPct    float64
	hasToleratedN   bool
	hasToleratedPct bool
	toleratedCountP *path
	toleratedPctP   *path
}

// Retrier is one entry of a state's Retry. The fields hold the values in
// force, defaults included.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds int64   // default 1
	MaxAttempts     int64   // default 3; 0 means never retry
	BackoffRate     float64 // default 2.0
	MaxDelaySeconds int64   // 0 means no cap
	JitterStrategy  string  // FULL or NONE (the default)
}

// Catcher is one entry of a state's Catch.
type Catcher struct {
	ErrorEquals []string
	Next        string
	resultPath  pathField
	assign      *payload
	ja          *jsonataCatcher
}

// pathField is a path-valued field: absent (the default, $), null, or a
// path.
type pathField struct {
	null bool
	p    *path
}

// dynString is a string taken from the input by a path or computed by an
// intrinsic function (ErrorPath, CausePath).
type dynString struct {
	field string
	path  *path
	call  *intrinsic
}

// Parse parses and validates a state machine definition written in the
// Amazon States Language with the JSONPath query language. On a bad
// definition it returns a *ValidationError, or ValidationErrors when there
// is more than one problem; each names the state and the field at fault.
func Parse(def []byte) (*StateMachine, error) {
	doc, err := decodeJSON(def)
	if err != nil {
		return nil, fmt.Errorf("parse definition: %w", err)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, &ValidationError{Message: "the definition must be a JSON object, not " + typeName(doc)}
	}
	v := &validator{names: map[string]int{}, ql: "JSONPath"}
	sm := v.machine(root, "", "", topLevelFields)
	v.checkTransitions()
	v.reachability(sm)
	switch len(v.errs) {
	case 0:
		return sm, nil
	case 1:
		return nil, v.errs[0]
	default:
		v.errs.sort()
		return nil, v.errs
	}
}

var (
	topLevelFields       = []string{"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"}
	branchFields         = []string{"Comment", "StartAt", "States", "QueryLanguage"}
	itemProcessorFields  = []string{"Comment", "StartAt", "States", "QueryLanguage", "ProcessorConfig"}
	stateTypes           = []string{"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
	commonStateFields    = []string{"Type", "Comment", "QueryLanguage"}
	transitionStateTypes = []string{"Pass", "Task", "Wait", "Parallel", "Map"}
	stateFields          = map[string][]string{
		"Pass":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result", "Assign"},
		"Task":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials", "Assign"},
		"Choice":   {"Choices", "Default", "InputPath", "OutputPath", "Assign"},
		"Wait":     {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Assign"},
		"Succeed":  {"InputPath", "OutputPath"},
		"Fail":     {"Error", "ErrorPath", "Cause", "CausePath"},
		"Parallel": {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Branches", "Assign"},
		"Map": {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Assign",
			"ItemsPath", "ItemSelector", "ItemProcessor", "Iterator", "MaxConcurrency", "MaxConcurrencyPath",
			"ToleratedFailureCount", "ToleratedFailureCountPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "Label"},
	}
	// laterFields belong to features the engine does not have yet.
	laterFields = map[string]string{
		"Arguments":    "Arguments belongs to JSONata, which is not supported yet",
		"Output":       "Output belongs to JSONata, which is not supported yet",
		"Items":        "Items belongs to JSONata, which is not supported yet",
		"Condition":    "Condition belongs to JSONata, which is not supported yet",
		"ItemReader":   "ItemReader (Distributed Map reading from S3) is not supported by the embedded engine",
		"ItemBatcher":  "ItemBatcher (Distributed Map) is not supported by the embedded engine",
		"ResultWriter": "ResultWriter (Distributed Map writing to S3) is not supported by the embedded engine",
	}
	knownStatesErrors = []string{StatesALL, StatesTaskFailed, StatesTimeout, StatesHeartbeatTimeout, StatesRuntime,
		StatesPermissions, StatesResultPathMatchFailure, StatesParameterPathFailure, StatesIntrinsicFailure,
		StatesBranchFailed, StatesNoChoiceMatched, StatesDataLimitExceeded, StatesExceedToleratedFailureThreshold,
		StatesItemReaderFailed, StatesResultWriterFailed, StatesQueryEvaluationError}
)

const maxStateNameLength = 80

type validator struct {
	ql      string // the query language states default to here
	errs    ValidationErrors
	names   map[string]int // how many states bear each name, machine-wide
	pending []transition
}

// transition is a Next (or Default, or a rule's or catcher's Next) waiting
// to be checked.
type transition struct {
	state, field, target string
	scope                map[string]any
}

func (v *validator) add(state, field, format string, a ...any) {
	v.errs = append(v.errs, &ValidationError{State: state, Field: field, Message: fmt.Sprintf(format, a...)})
}

// obj reads typed fields from one JSON object of the definition, reporting
// errors against a state and a field prefix such as "Retry[0].".
type obj struct {
	v      *validator
	state  string
	prefix string
	m      map[string]any
}

func (o *obj) add(field, format string, a ...any) { o.v.add(o.state, o.prefix+field, format, a...) }

func (o *obj) has(name string) bool { _, ok := o.m[name]; return ok }

func (o *obj) str(name string, required bool) (string, bool) {
	raw, ok := o.m[name]
	if !ok {
		if required {
			o.add(name, "is required")
		}
		return "", false
	}
	s, ok := raw.(string)
	if !ok {
		o.add(name, "must be a string, not %s", typeName(raw))
		return "", false
	}
	return s, true
}

func (o *obj) boolean(name string) (bool, bool) {
	raw, ok := o.m[name]
	if !ok {
		return false, false
	}
	b, ok := raw.(bool)
	if !ok {
		o.add(name, "must be a boolean, not %s", typeName(raw))
	}
	return b, ok
}

func (o *obj) integer(name string, lo, hi int64) (int64, bool) {
	raw, ok := o.m[name]
	if !ok {
		return 0, false
	}
	n, ok := asInt(raw)
	if !ok || n < lo || n > hi {
		o.add(name, "must be an integer from %d to %d, not %s", lo, hi, jsonText(raw))
		return 0, false
	}
	return n, true
}

func (o *obj) path(name string, nullable, reference bool) (pathField, bool) {
	raw, ok := o.m[name]
	if !ok {
		return pathField{}, false
	}
	if raw == nil {
		if !nullable {
			o.add(name, "must be a path, not null")
		}
		return pathField{null: true}, nullable
	}
	s, ok := raw.(string)
	if !ok {
		o.add(name, "must be a path string, not %s", typeName(raw))
		return pathField{}, false
	}
	p, err := compilePath(s)
	if err != nil {
		o.add(name, "%v", err)
		return pathField{}, false
	}
	if reference && !p.isReferencePath() {
		o.add(name, "%q must be a reference path (only names and indexes, no wildcards, filters or $$)", s)
		return pathField{}, false
	}
	return pathField{p: p}, true
}

func (o *obj) template(name string) *payload {
	raw, ok := o.m[name]
	if !ok {
		return nil
	}
	p, err := compilePayload(raw, name)
	if err != nil {
		msg := err.Error()
		field := name
		// compilePayload names the exact field; lift it out of the message.
		if rest, ok := strings.CutPrefix(msg, "field "); ok {
			if q, after, ok := cutQuoted(rest); ok {
				field, msg = q, strings.TrimPrefix(after, ": ")
			}
		}
		o.v.add(o.state, o.prefix+field, "%s", msg)
		return nil
	}
	return p
}

// assign reads an Assign field: an object whose values are copied as
// written, or, for names ending in ".$", computed from a path or an
// intrinsic function.
func (o *obj) assign(name string) *payload {
	raw, ok := o.m[name]
	if !ok {
		return nil
	}
	if _, isObj := raw.(map[string]any); !isObj {
		o.add(name, "must be an object, not %s", typeName(raw))
		return nil
	}
	p := o.template(name)
	if p == nil {
		return &payload{literal: map[string]any{}}
	}
	return p
}

// cutQuoted splits `"x": rest` into x and `: rest`.
func cutQuoted(s string) (string, string, bool) {
	var q string
	n, err := fmt.Sscanf(s, "%q", &q)
	if err != nil || n != 1 {
		return "", "", false
	}
	quoted := fmt.Sprintf("%q", q)
	if !strings.HasPrefix(s, quoted) {
		return "", "", false
	}
	return q, s[len(quoted):], true
}

// unknown reports every field of o not in allowed.
func (o *obj) unknown(allowed []string, what string) {
	for _, k := range sortedKeys(o.m) {
		if slices.Contains(allowed, k) {
			continue
		}
		if msg, ok := laterFields[k]; ok {
			o.add(k, "%s", msg)
			continue
		}
		if s := suggest(k, allowed); s != "" {
			o.add(k, "unknown field in %s; did you mean %q?", what, s)
			continue
		}
		o.add(k, "unknown field in %s", what)
	}
}

// suggest returns the allowed name closest to name, if it is close: a few
// letters apart, or the start of it.
func suggest(name string, allowed []string) string {
	best, bestD := "", 3
	lower := strings.ToLower(name)
	for _, a := range allowed {
		if d := editDistance(lower, strings.ToLower(a)); d < bestD {
			best, bestD = a, d
		}
	}
	if best == "" && len(name) >= 4 {
		for _, a := range allowed {
			if strings.HasPrefix(strings.ToLower(a), lower) {
				return a
			}
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// queryLanguage returns the QueryLanguage o sets, or def.
func (v *validator) queryLanguage(o *obj, def string) string {
	ql, ok := o.str("QueryLanguage", false)
	if !ok {
		return def
	}
	switch ql {
	case "JSONPath", "JSONata":
		return ql
	default:
		o.add("QueryLanguage", "must be JSONPath or JSONata, not %q", ql)
		return def
	}
}

// machine reads a state machine, a Parallel branch or a Map item processor.
// owner is the state holding it ("" at the top level) and prefix the field
// it sits in, such as "Branches[0].".
func (v *validator) machine(m map[string]any, owner, prefix string, allowed []string) *StateMachine {
	o := &obj{v: v, state: owner, prefix: prefix, m: m}
	what := "a state machine"
	if owner != "" {
		what = "a branch"
	}
	o.unknown(allowed, what)
	outer := v.ql
	v.ql = v.queryLanguage(o, v.ql)
	defer func() { v.ql = outer }()
	sm := &StateMachine{States: map[string]*State{}}
	sm.Comment, _ = o.str("Comment", false)
	sm.StartAt, _ = o.str("StartAt", true)
	if owner == "" {
		sm.Version, _ = o.str("Version", false)
		if sm.Version != "" && sm.Version != "1.0" {
			o.add("Version", "must be \"1.0\", not %q", sm.Version)
		}
		if n, ok := o.integer("TimeoutSeconds", 1, 99999999); ok {
			sm.TimeoutSeconds = int(n)
		}
	}
	rawStates, ok := m["States"]
	if !ok {
		o.add("States", "is required")
		return sm
	}
	states, ok := rawStates.(map[string]any)
	if !ok {
		o.add("States", "must be an object, not %s", typeName(rawStates))
		return sm
	}
	if len(states) == 0 {
		o.add("States", "must have at least one state")
	}
	for _, name := range sortedKeys(states) {
		v.names[name]++
		if v.names[name] == 2 {
			v.add(name, "", "the name is used by more than one state; state names must be unique in the whole state machine")
		}
		if len(name) > maxStateNameLength {
			v.add(name, "", "the name is longer than %d characters", maxStateNameLength)
		}
		raw, ok := states[name].(map[string]any)
		if !ok {
			v.add(name, "", "a state must be a JSON object, not %s", typeName(states[name]))
			continue
		}
		if s := v.state(name, raw); s != nil {
			sm.States[name] = s
		}
	}
	if sm.StartAt != "" && len(states) > 0 {
		if _, ok := states[sm.StartAt]; !ok {
			o.add("StartAt", "state %q does not exist", sm.StartAt)
		}
	}
	// Transitions must stay inside this machine; they are checked once every
	// name in the definition is known.
	for _, name := range sortedKeys(states) {
		s := sm.States[name]
		if s == nil {
			continue
		}
		check := func(field, target string) {
			if target != "" {
				v.pending = append(v.pending, transition{state: name, field: field, target: target, scope: states})
			}
		}
		check("Next", s.Next)
		check("Default", s.Default)
		for i, r := range s.Choices {
			check(fmt.Sprintf("Choices[%d].Next", i), r.Next)
		}
		for i, c := range s.Catch {
			check(fmt.Sprintf("Catch[%d].Next", i), c.Next)
		}
	}
	return sm
}

// checkTransitions reports transitions to states that do not exist, or
// that live in another branch.
func (v *validator) checkTransitions() {
	for _, t := range v.pending {
		if _, ok := t.scope[t.target]; ok {
			continue
		}
		if v.names[t.target] > 0 {
			v.add(t.state, t.field, "state %q is not in the same branch; a transition cannot leave its Parallel branch or Map item processor", t.target)
			continue
		}
		v.add(t.state, t.field, "state %q does not exist", t.target)
	}
}

func (v *validator) state(name string, m map[string]any) *State {
	o := &obj{v: v, state: name, m: m}
	s := &State{Name: name, Raw: json.RawMessage(jsonText(m)), flow: jsonPathFlow{}}
	typ, ok := o.str("Type", true)
	if !ok {
		return nil
	}
	if !slices.Contains(stateTypes, typ) {
		if sug := suggest(typ, stateTypes); sug != "" {
			o.add("Type", "unknown state type %q; did you mean %q?", typ, sug)
		} else {
			o.add("Type", "unknown state type %q; the types are %s", typ, strings.Join(stateTypes, ", "))
		}
		return nil
	}
	s.Type = typ
	ql := v.queryLanguage(o, v.ql)
	fields := stateFields[typ]
	if ql == "JSONata" {
		fields = jsonataStateFields[typ]
	}
	allowed := append(slices.Clone(commonStateFields), fields...)
	for _, k := range sortedKeys(m) {
		if (k == "Next" || k == "End") && !slices.Contains(allowed, k) {
			o.add(k, "a %s state cannot have %s", typ, k)
			delete(m, k)
		}
	}
	if ql == "JSONata" {
		o.unknownJSONata(allowed, typ)
	} else {
		o.unknown(allowed, "a "+typ+" state")
	}
	s.Comment, _ = o.str("Comment", false)

	if slices.Contains(transitionStateTypes, typ) {
		next, hasNext := o.str("Next", false)
		end, hasEnd := o.boolean("End")
		switch {
		case hasNext && hasEnd && end:
			o.add("End", "cannot be true when Next is set")
			s.Next = next
		case hasNext:
			if next == "" {
				o.add("Next", "must name a state")
			}
			s.Next = next
		case end:
			s.End = true
		case !o.has("Next") && !o.has("End"):
			o.add("Next", "is required (or set \"End\": true)")
		case hasEnd && !end:
			o.add("End", "is false and there is no Next")
		}
	}
	if ql == "JSONata" {
		v.jsonataState(o, s)
		return s
	}
	if typ != "Fail" {
		s.inputPath, _ = o.path("InputPath", true, false)
		s.outputPath, _ = o.path("OutputPath", true, false)
	}
	if slices.Contains(stateFields[typ], "ResultPath") {
		s.resultPath, _ = o.path("ResultPath", true, true)
		if s.resultPath.p != nil && s.resultPath.p.variable != "" {
			o.add("ResultPath", "must be a path into the state's input, not a variable")
			s.resultPath = pathField{}
		}
	}
	if slices.Contains(stateFields[typ], "Assign") {
		s.assign = o.assign("Assign")
	}
	if slices.Contains(stateFields[typ], "Parameters") && typ != "Map" {
		s.parameters = o.template("Parameters")
	}
	if slices.Contains(stateFields[typ], "ResultSelector") {
		s.resultSelector = o.template("ResultSelector")
	}
	if slices.Contains(stateFields[typ], "Retry") {
		s.Retry = v.retriers(o)
		s.Catch = v.catchers(o)
	}
	switch typ {
	case "Pass":
		s.result, s.hasResult = m["Result"]
	case "Task":
		v.task(o, s)
	case "Choice":
		v.choice(o, s)
	case "Wait":
		v.wait(o, s)
	case "Fail":
		v.fail(o, s)
	case "Parallel":
		v.parallel(o, s)
	case "Map":
		v.mapState(o, s)
	}
	return s
}

func (v *validator) task(o *obj, s *State) {
	if r, ok := o.str("Resource", true); ok {
		if r == "" {
			o.add("Resource", "must not be empty")
		}
		s.Resource = r
	}
	const maxSeconds = 99999999
	if n, ok := o.integer("TimeoutSeconds", 1, maxSeconds); ok {
		s.timeoutSeconds = n
	}
	if n, ok := o.integer("HeartbeatSeconds", 1, maxSeconds); ok {
		s.heartbeatSeconds = n
	}
	if pf, ok := o.path("TimeoutSecondsPath", false, true); ok {
		s.timeoutSecondsPath = pf.p
	}
	if pf, ok := o.path("HeartbeatSecondsPath", false, true); ok {
		s.heartbeatSecondsPath = pf.p
	}
	if o.has("TimeoutSeconds") && o.has("TimeoutSecondsPath") {
		o.add("TimeoutSecondsPath", "cannot be set together with TimeoutSeconds")
	}
	if o.has("HeartbeatSeconds") && o.has("HeartbeatSecondsPath") {
		o.add("HeartbeatSecondsPath", "cannot be set together with HeartbeatSeconds")
	}
	if s.heartbeatSeconds > 0 && s.timeoutSeconds > 0 && s.heartbeatSeconds >= s.timeoutSeconds {
		o.add("HeartbeatSeconds", "must be smaller than TimeoutSeconds (%d)", s.timeoutSeconds)
	}
	if raw, ok := o.m["Credentials"]; ok {
		if _, isObj := raw.(map[string]any); !isObj {
			o.add("Credentials", "must be an object, not %s", typeName(raw))
		}
	}
}

// errorEquals reads an ErrorEquals list.
func (v *validator) errorEquals(o *obj) []string {
	raw, ok := o.m["ErrorEquals"]
	if !ok {
		o.add("ErrorEquals", "is required")
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		o.add("ErrorEquals", "must be an array of error names, not %s", typeName(raw))
		return nil
	}
	if len(list) == 0 {
		o.add("ErrorEquals", "must list at least one error name")
		return nil
	}
	var names []string
	for i, e := range list {
		name, ok := e.(string)
		if !ok || name == "" {
			o.add(fmt.Sprintf("ErrorEquals[%d]", i), "must be a non-empty string, not %s", jsonText(e))
			continue
		}
		if strings.HasPrefix(name, "States.") && !slices.Contains(knownStatesErrors, name) {
			o.add(fmt.Sprintf("ErrorEquals[%d]", i), "%q is not an error name Step Functions defines", name)
		}
		names = append(names, name)
	}
	if slices.Contains(names, StatesALL) && len(list) > 1 {
		o.add("ErrorEquals", "%s must appear alone", StatesALL)
	}
	return names
}

func (v *validator) list(o *obj, field string) []map[string]any {
	raw, ok := o.m[field]
	if !ok {
		return nil
	}
	items, ok := raw.([]any)
	if !ok {
		o.add(field, "must be an array, not %s", typeName(raw))
		return nil
	}
	out := make([]map[string]any, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			o.add(fmt.Sprintf("%s[%d]", field, i), "must be an object, not %s", typeName(it))
			m = map[string]any{}
		}
		out = append(out, m)
	}
	return out
}

func (v *validator) retriers(o *obj) []*Retrier {
	var out []*Retrier
	items := v.list(o, "Retry")
	for i, m := range items {
		ro := &obj{v: v, state: o.state, prefix: fmt.Sprintf("Retry[%d].", i), m: m}
		ro.unknown([]string{"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"}, "a retrier")
		r := &Retrier{IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2.0, JitterStrategy: "NONE"}
		r.ErrorEquals = v.errorEquals(ro)
		if n, ok := ro.integer("IntervalSeconds", 1, 99999999); ok {
			r.IntervalSeconds = n
		}
		if n, ok := ro.integer("MaxAttempts", 0, 99999999); ok {
			r.MaxAttempts = n
		}
		if n, ok := ro.integer("MaxDelaySeconds", 1, 31622400); ok {
			r.MaxDelaySeconds = n
		}
		if raw, ok := m["BackoffRate"]; ok {
			f, ok := asFloat(raw)
			if !ok || f < 1 {
				ro.add("BackoffRate", "must be a number of at least 1.0, not %s", jsonText(raw))
			} else {
				r.BackoffRate = f
			}
		}
		if js, ok := ro.str("JitterStrategy", false); ok {
			if js != "FULL" && js != "NONE" {
				ro.add("JitterStrategy", "must be FULL or NONE, not %q", js)
			} else {
				r.JitterStrategy = js
			}
		}
		if slices.Contains(r.ErrorEquals, StatesALL) && i != len(items)-1 {
			ro.add("ErrorEquals", "a retrier with %s must be the last one", StatesALL)
		}
		out = append(out, r)
	}
	return out
}

func (v *validator) catchers(o *obj) []*Catcher {
	var out []*Catcher
	items := v.list(o, "Catch")
	for i, m := range items {
		co := &obj{v: v, state: o.state, prefix: fmt.Sprintf("Catch[%d].", i), m: m}
		co.unknown([]string{"ErrorEquals", "Next", "ResultPath", "Comment", "Assign"}, "a catcher")
		c := &Catcher{}
		c.ErrorEquals = v.errorEquals(co)
		c.Next, _ = co.str("Next", true)
		c.resultPath, _ = co.path("ResultPath", true, true)
		c.assign = co.assign("Assign")
		if slices.Contains(c.ErrorEquals, StatesALL) && i != len(items)-1 {
			co.add("ErrorEquals", "a catcher with %s must be the last one", StatesALL)
		}
		out = append(out, c)
	}
	return out
}

func (v *validator) choice(o *obj, s *State) {
	s.Default, _ = o.str("Default", false)
	raw, ok := o.m["Choices"]
	if !ok {
		o.add("Choices", "is required")
		return
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		o.add("Choices", "must be a non-empty array of choice rules")
		return
	}
	for i, r := range list {
		rule := v.rule(o.state, fmt.Sprintf("Choices[%d]", i), r, true)
		if rule == nil {
			// Keep the transition, so that a bad rule does not also make
			// its target look unreachable.
			m, _ := r.(map[string]any)
			next, _ := m["Next"].(string)
			rule = &ChoiceRule{Next: next}
		}
		s.Choices = append(s.Choices, rule)
	}
}

// rule reads a choice rule; field is where it sits, e.g. Choices[0].And[1].
func (v *validator) rule(state, field string, raw any, top bool) *ChoiceRule {
	m, ok := raw.(map[string]any)
	if !ok {
		v.add(state, field, "a choice rule must be an object, not %s", typeName(raw))
		return nil
	}
	o := &obj{v: v, state: state, prefix: field + ".", m: m}
	allowed := []string{"Variable", "And", "Or", "Not", "Comment"}
	if top {
		allowed = append(allowed, "Next", "Assign")
	}
	var ops []string
	for k := range m {
		if _, ok := choiceOperators[k]; ok {
			ops = append(ops, k)
			allowed = append(allowed, k)
		}
	}
	slices.Sort(ops)
	if !top && o.has("Next") {
		o.add("Next", "only top-level choice rules have Next")
		delete(m, "Next")
	}
	opNames := make([]string, 0, len(choiceOperators))
	for k := range choiceOperators {
		opNames = append(opNames, k)
	}
	for _, k := range sortedKeys(m) {
		if slices.Contains(allowed, k) {
			continue
		}
		if msg, ok := laterFields[k]; ok {
			o.add(k, "%s", msg)
		} else if sug := suggest(k, append(opNames, allowed...)); sug != "" {
			o.add(k, "unknown field in a choice rule; did you mean %q?", sug)
		} else {
			o.add(k, "unknown field in a choice rule")
		}
	}
	r := &ChoiceRule{}
	if top {
		r.Next, _ = o.str("Next", true)
		r.assign = o.assign("Assign")
	}
	kinds := 0
	for _, k := range []string{"And", "Or", "Not"} {
		if o.has(k) {
			kinds++
		}
	}
	if len(ops) > 0 {
		kinds++
	}
	switch {
	case kinds == 0 && o.has("Condition"):
		return nil // reported above
	case kinds == 0:
		v.add(state, field, "a choice rule needs a comparison (Variable and an operator such as StringEquals) or And, Or or Not")
		return nil
	case kinds > 1 || len(ops) > 1:
		v.add(state, field, "a choice rule must have exactly one of And, Or, Not or a comparison operator, found %s", strings.Join(append(presentOf(o, "And", "Or", "Not"), ops...), ", "))
		return nil
	}
	for _, k := range []string{"And", "Or"} {
		if !o.has(k) {
			continue
		}
		if o.has("Variable") {
			o.add("Variable", "is not allowed with %s", k)
		}
		list, ok := m[k].([]any)
		if !ok || len(list) == 0 {
			o.add(k, "must be a non-empty array of choice rules")
			return nil
		}
		subs := make([]*ChoiceRule, 0, len(list))
		for i, e := range list {
			if sub := v.rule(state, fmt.Sprintf("%s.%s[%d]", field, k, i), e, false); sub != nil {
				subs = append(subs, sub)
			}
		}
		if k == "And" {
			r.And = subs
		} else {
			r.Or = subs
		}
		return r
	}
	if o.has("Not") {
		if o.has("Variable") {
			o.add("Variable", "is not allowed with Not")
		}
		r.Not = v.rule(state, field+".Not", m["Not"], false)
		if r.Not == nil {
			return nil
		}
		return r
	}
	op := ops[0]
	r.Operator = op
	variable, ok := o.str("Variable", true)
	if !ok {
		return nil
	}
	r.Variable = variable
	p, err := compilePath(variable)
	if err != nil {
		o.add("Variable", "%v", err)
		return nil
	}
	r.variable = p
	val := m[op]
	switch choiceOperators[op] {
	case operandString:
		s, ok := val.(string)
		if !ok {
			o.add(op, "must be a string, not %s", typeName(val))
			return nil
		}
		if op == "StringMatches" {
			r.matcher = compileMatcher(s)
		}
	case operandNumber:
		if !isNumber(val) {
			o.add(op, "must be a number, not %s", typeName(val))
			return nil
		}
	case operandBoolean:
		if _, ok := val.(bool); !ok {
			o.add(op, "must be a boolean, not %s", typeName(val))
			return nil
		}
	case operandTimestamp:
		s, ok := val.(string)
		if !ok {
			o.add(op, "must be a timestamp string, not %s", typeName(val))
			return nil
		}
		if _, ok := parseTimestamp(s); !ok {
			o.add(op, "%q is not an ISO-8601 timestamp such as 2016-03-14T01:59:00Z", s)
			return nil
		}
	case operandPath:
		s, ok := val.(string)
		if !ok {
			o.add(op, "must be a path string, not %s", typeName(val))
			return nil
		}
		vp, err := compilePath(s)
		if err != nil {
			o.add(op, "%v", err)
			return nil
		}
		r.valuePath = vp
	}
	r.value = val
	return r
}

func presentOf(o *obj, names ...string) []string {
	var out []string
	for _, n := range names {
		if o.has(n) {
			out = append(out, n)
		}
	}
	return out
}

func (v *validator) wait(o *obj, s *State) {
	set := presentOf(o, "Seconds", "SecondsPath", "Timestamp", "TimestampPath")
	if len(set) != 1 {
		if len(set) == 0 {
			o.add("Seconds", "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath")
		} else {
			o.add(set[1], "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath; found %s", strings.Join(set, ", "))
		}
		return
	}
	switch set[0] {
	case "Seconds":
		if n, ok := o.integer("Seconds", 0, 99999999); ok {
			s.waitSeconds, s.hasWaitSeconds = n, true
		}
	case "SecondsPath":
		if pf, ok := o.path("SecondsPath", false, true); ok {
			s.secondsPath = pf.p
		}
	case "Timestamp":
		if ts, ok := o.str("Timestamp", false); ok {
			t, ok := parseTimestamp(ts)
			if !ok {
				o.add("Timestamp", "%q is not an ISO-8601 timestamp such as 2016-03-14T01:59:00Z", ts)
				return
			}
			s.timestamp, s.hasTimestamp = t, true
		}
	case "TimestampPath":
		if pf, ok := o.path("TimestampPath", false, true); ok {
			s.timestampPath = pf.p
		}
	}
}

func (v *validator) fail(o *obj, s *State) {
	s.errorName, s.hasErrorName = o.str("Error", false)
	s.cause, s.hasCause = o.str("Cause", false)
	for _, pair := range [][2]string{{"Error", "ErrorPath"}, {"Cause", "CausePath"}} {
		if o.has(pair[0]) && o.has(pair[1]) {
			o.add(pair[1], "cannot be set together with %s", pair[0])
		}
		text, ok := o.str(pair[1], false)
		if !ok {
			continue
		}
		ds := &dynString{field: pair[1]}
		if isIntrinsicText(text) {
			c, err := parseIntrinsic(text)
			if err != nil {
				o.add(pair[1], "%v", err)
				continue
			}
			ds.call = c
		} else {
			p, err := compilePath(text)
			if err != nil {
				o.add(pair[1], "%v", err)
				continue
			}
			ds.path = p
		}
		if pair[0] == "Error" {
			s.errorSource = ds
		} else {
			s.causeSource = ds
		}
	}
}

func (v *validator) parallel(o *obj, s *State) {
	raw, ok := o.m["Branches"]
	if !ok {
		o.add("Branches", "is required")
		return
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		o.add("Branches", "must be a non-empty array of branches")
		return
	}
	for i, b := range list {
		field := fmt.Sprintf("Branches[%d]", i)
		m, ok := b.(map[string]any)
		if !ok {
			o.add(field, "a branch must be an object with StartAt and States, not %s", typeName(b))
			continue
		}
		s.Branches = append(s.Branches, v.machine(m, s.Name, field+".", branchFields))
	}
}

// itemProcessor reads a Map state's ItemProcessor (or the older
// Iterator), in either query language.
func (v *validator) itemProcessor(o *obj, s *State) {
	switch {
	case o.has("ItemProcessor") && o.has("Iterator"):
		o.add("Iterator", "cannot be set together with ItemProcessor")
	case o.has("ItemProcessor") || o.has("Iterator"):
		field := "ItemProcessor"
		if !o.has(field) {
			field = "Iterator"
		}
		m, ok := o.m[field].(map[string]any)
		if !ok {
			o.add(field, "must be an object with StartAt and States, not %s", typeName(o.m[field]))
			return
		}
		if pc, ok := m["ProcessorConfig"]; ok {
			s.distributed = v.processorConfig(&obj{v: v, state: s.Name, prefix: field + ".", m: map[string]any{"ProcessorConfig": pc}})
		}
		s.ItemProcessor = v.machine(m, s.Name, field+".", itemProcessorFields)
	default:
		o.add("ItemProcessor", "is required")
	}
}

func (v *validator) mapState(o *obj, s *State) {
	v.itemProcessor(o, s)
	if pf, ok := o.path("ItemsPath", false, false); ok {
		s.itemsPath = pf.p
	}
	switch {
	case o.has("ItemSelector") && o.has("Parameters"):
		o.add("Parameters", "cannot be set together with ItemSelector")
	case o.has("ItemSelector"):
		s.itemSelector = o.template("ItemSelector")
	case o.has("Parameters"):
		s.itemSelector = o.template("Parameters")
	}
	if n, ok := o.integer("MaxConcurrency", 0, 1<<31-1); ok {
		s.maxConcurrency = n
	}
	if pf, ok := o.path("MaxConcurrencyPath", false, true); ok {
		s.maxConcPath = pf.p
	}
	if o.has("MaxConcurrency") && o.has("MaxConcurrencyPath") {
		o.add("MaxConcurrencyPath", "cannot be set together with MaxConcurrency")
	}
	if n, ok := o.integer("ToleratedFailureCount", 0, 1<<31-1); ok {
		s.toleratedCount, s.hasToleratedN = n, true
	}
	if raw, ok := o.m["ToleratedFailurePercentage"]; ok {
		f, ok := asFloat(raw)
		if !ok || f < 0 || f > 100 {
			o.add("ToleratedFailurePercentage", "must be a number from 0 to 100, not %s", jsonText(raw))
		} else {
			s.toleratedPct, s.hasToleratedPct = f, true
		}
	}
	if pf, ok := o.path("ToleratedFailureCountPath", false, true); ok {
		s.toleratedCountP = pf.p
	}
	if pf, ok := o.path("ToleratedFailurePercentagePath", false, true); ok {
		s.toleratedPctP = pf.p
	}
	if o.has("ToleratedFailureCount") && o.has("ToleratedFailureCountPath") {
		o.add("ToleratedFailureCountPath", "cannot be set together with ToleratedFailureCount")
	}
	if o.has("ToleratedFailurePercentage") && o.has("ToleratedFailurePercentagePath") {
		o.add("ToleratedFailurePercentagePath", "cannot be set together with ToleratedFailurePercentage")
	}
	_, _ = o.str("Label", false)
}

// processorConfig reads a Map's ProcessorConfig and reports whether its
// Mode is DISTRIBUTED.
func (v *validator) processorConfig(o *obj) bool {
	pc, ok := o.m["ProcessorConfig"].(map[string]any)
	if !ok {
		o.add("ProcessorConfig", "must be an object, not %s", typeName(o.m["ProcessorConfig"]))
		return false
	}
	po := &obj{v: v, state: o.state, prefix: o.prefix + "ProcessorConfig.", m: pc}
	po.unknown([]string{"Mode", "ExecutionType"}, "ProcessorConfig")
	if mode, ok := po.str("Mode", false); ok && mode != "INLINE" && mode != "DISTRIBUTED" {
		po.add("Mode", "must be INLINE or DISTRIBUTED, not %q", mode)
	}
	if et, ok := po.str("ExecutionType", false); ok && et != "STANDARD" && et != "EXPRESS" {
		po.add("ExecutionType", "must be STANDARD or EXPRESS, not %q", et)
	}
	mode, _ := po.str("Mode", false)
	return mode == "DISTRIBUTED"
}

// reachability reports the states no transition leads to, in sm and in
// every branch and item processor nested in it.
func (v *validator) reachability(sm *StateMachine) {
	if _, ok := sm.States[sm.StartAt]; !ok {
		return // already reported
	}
	seen := sm.reachableHere()
	for _, name := range sortedStateNames(sm.States) {
		if !seen[name] {
			v.add(name, "", "the state is not reachable from StartAt %q", sm.StartAt)
		}
		s := sm.States[name]
		for _, b := range s.Branches {
			v.reachability(b)
		}
		if s.ItemProcessor != nil {
			v.reachability(s.ItemProcessor)
		}
	}
}

// reachableHere returns the states of sm that StartAt leads to, not looking
// into nested machines.
func (sm *StateMachine) reachableHere() map[string]bool {
	seen := map[string]bool{}
	queue := []string{sm.StartAt}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		s, ok := sm.States[name]
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		queue = append(queue, s.Transitions()...)
	}
	return seen
}

func sortedStateNames(m map[string]*State) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Transitions returns the names of the states s can go to next: Next,
// Default, the Next of each choice rule and of each catcher; sorted, each
// once.
func (s *State) Transitions() []string {
	var out []string
	add := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	add(s.Next)
	add(s.Default)
	for _, r := range s.Choices {
		add(r.Next)
	}
	for _, c := range s.Catch {
		add(c.Next)
	}
	slices.Sort(out)
	return out
}

// Walk calls fn for every state, the states nested in Parallel branches and
// Map item processors included. States come in name order, each followed by
// the states nested in it. path holds the names of the enclosing states and
// then the state's own name.
func (sm *StateMachine) Walk(fn func(path []string, s *State)) {
	sm.walk(nil, fn)
}

func (sm *StateMachine) walk(prefix []string, fn func([]string, *State)) {
	for _, name := range sortedStateNames(sm.States) {
		s := sm.States[name]
		p := append(slices.Clip(prefix), name)
		fn(p, s)
		for _, b := range s.Branches {
			b.walk(p, fn)
		}
		if s.ItemProcessor != nil {
			s.ItemProcessor.walk(p, fn)
		}
	}
}

// Reachable returns, sorted, the names of the states a run can reach: from
// StartAt, and inside each reachable Parallel or Map state from the start of
// its branches.
func (sm *StateMachine) Reachable() []string {
	var out []string
	var visit func(*StateMachine)
	visit = func(m *StateMachine) {
		seen := m.reachableHere()
		for _, name := range sortedStateNames(m.States) {
			if !seen[name] {
				continue
			}
			out = append(out, name)
			s := m.States[name]
			for _, b := range s.Branches {
				visit(b)
			}
			if s.ItemProcessor != nil {
				visit(s.ItemProcessor)
			}
		}
	}
	visit(sm)
	slices.Sort(out)
	return out
}

// Unreachable returns, sorted, the names of the states no run can reach.
// Parse rejects definitions that have any, so for a parsed machine it is
// empty; it is there for code that builds or edits machines.
func (sm *StateMachine) Unreachable() []string {
	reach := sm.Reachable()
	var out []string
	sm.Walk(func(_ []string, s *State) {
		if _, found := slices.BinarySearch(reach, s.Name); !found {
			out = append(out, s.Name)
		}
	})
	slices.Sort(out)
	return out
}
