package asl

import (
	"fmt"
	"slices"
)

// jsonataStateFields are the fields of each state type in the JSONata
// query language.
var jsonataStateFields = map[string][]string{
	"Pass":     {"Next", "End", "Output", "Assign"},
	"Task":     {"Next", "End", "Output", "Assign", "Arguments", "Retry", "Catch", "Resource", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"},
	"Choice":   {"Choices", "Default", "Output", "Assign"},
	"Wait":     {"Next", "End", "Output", "Assign", "Seconds", "Timestamp"},
	"Succeed":  {"Output"},
	"Fail":     {"Error", "Cause"},
	"Parallel": {"Next", "End", "Output", "Assign", "Arguments", "Retry", "Catch", "Branches"},
	"Map": {"Next", "End", "Output", "Assign", "Retry", "Catch", "Items", "ItemSelector", "ItemProcessor", "Iterator",
		"MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage", "Label"},
}

// jsonPathOnly are the fields a JSONata state cannot have, with what it
// uses instead.
var jsonPathOnly = map[string]string{
	"InputPath": "$states.input in Arguments or Output", "Parameters": "Arguments", "ResultSelector": "Output",
	"ResultPath": "Output", "OutputPath": "Output", "ItemsPath": "Items", "Result": "Output",
	"SecondsPath": "Seconds with an expression", "TimestampPath": "Timestamp with an expression",
	"ErrorPath": "Error with an expression", "CausePath": "Cause with an expression",
	"MaxConcurrencyPath": "MaxConcurrency with an expression", "TimeoutSecondsPath": "TimeoutSeconds with an expression",
	"HeartbeatSecondsPath":           "HeartbeatSeconds with an expression",
	"ToleratedFailureCountPath":      "ToleratedFailureCount with an expression",
	"ToleratedFailurePercentagePath": "ToleratedFailurePercentage with an expression",
}

// unknownJSONata reports the fields of a JSONata state not in allowed.
func (o *obj) unknownJSONata(allowed []string, typ string) {
	for _, k := range sortedKeys(o.m) {
		if slices.Contains(allowed, k) {
			continue
		}
		if use, ok := jsonPathOnly[k]; ok {
			o.add(k, "belongs to JSONPath; a state in the JSONata query language uses %s", use)
			continue
		}
		if msg, ok := laterFields[k]; ok {
			o.add(k, "%s", msg)
			continue
		}
		o.add(k, "unknown field in a %s state (JSONata)", typ)
	}
}

// jsonata compiles a JSONata-mode field, if present.
func (o *obj) jsonata(name string) *jsonataTemplate {
	raw, ok := o.m[name]
	if !ok {
		return nil
	}
	t, err := compileJSONataTemplate(raw)
	if err != nil {
		o.add(name, "%v", err)
		return nil
	}
	return t
}

// jsonataOf checks that a field is a literal of the given JSON type or an
// expression, and compiles it.
func (o *obj) jsonataOf(name, want string) *jsonataTemplate {
	raw, ok := o.m[name]
	if !ok {
		return nil
	}
	if s, isStr := raw.(string); isStr {
		if _, isExpr := jsonataExprText(s); isExpr {
			return o.jsonata(name)
		}
	}
	got := typeName(raw)
	if want == "integer" && got == "number" {
		if _, ok := asInt(raw); ok {
			got = "integer"
		}
	}
	if got != want {
		o.add(name, "must be %s %s or a JSONata expression {%% ... %%}, not %s", article(want), want, jsonText(raw))
		return nil
	}
	return o.jsonata(name)
}

func article(w string) string {
	if w == "array" || w == "integer" || w == "object" {
		return "an"
	}
	return "a"
}

// jsonataState reads the fields of a state in the JSONata query language.
func (v *validator) jsonataState(o *obj, s *State) {
	s.flow = jsonataFlow{}
	ja := &jsonataFields{}
	s.ja = ja
	if s.Type != "Fail" {
		ja.output = o.jsonata("Output")
	}
	if o.has("Assign") {
		if _, isObj := o.m["Assign"].(map[string]any); !isObj {
			o.add("Assign", "must be an object, not %s", typeName(o.m["Assign"]))
		} else {
			ja.assign = o.jsonata("Assign")
		}
	}
	if o.has("Arguments") {
		switch raw := o.m["Arguments"].(type) {
		case map[string]any:
			ja.arguments = o.jsonata("Arguments")
		case string:
			if _, ok := jsonataExprText(raw); ok {
				ja.arguments = o.jsonata("Arguments")
			} else {
				o.add("Arguments", "must be an object or a JSONata expression {%% ... %%}, not a string")
			}
		default:
			o.add("Arguments", "must be an object or a JSONata expression {%% ... %%}, not %s", typeName(raw))
		}
	}
	if slices.Contains(jsonataStateFields[s.Type], "Retry") {
		s.Retry = v.retriers(o)
		s.Catch = v.jsonataCatchers(o)
	}
	switch s.Type {
	case "Task":
		if r, ok := o.str("Resource", true); ok {
			if r == "" {
				o.add("Resource", "must not be empty")
			}
			s.Resource = r
		}
		ja.timeout = o.jsonataOf("TimeoutSeconds", "integer")
		ja.heartbeat = o.jsonataOf("HeartbeatSeconds", "integer")
		if raw, ok := o.m["Credentials"]; ok {
			if _, isObj := raw.(map[string]any); !isObj {
				o.add("Credentials", "must be an object, not %s", typeName(raw))
			}
		}
	case "Choice":
		v.jsonataChoice(o, s)
	case "Wait":
		set := presentOf(o, "Seconds", "Timestamp")
		if len(set) != 1 {
			o.add("Seconds", "a Wait state in JSONata needs exactly one of Seconds or Timestamp")
			return
		}
		if set[0] == "Seconds" {
			ja.seconds = o.jsonataOf("Seconds", "integer")
		} else {
			ja.timestamp = o.jsonataOf("Timestamp", "string")
			if ja.timestamp != nil && !ja.timestamp.dynamic {
				if _, ok := parseTimestamp(ja.timestamp.literal.(string)); !ok {
					o.add("Timestamp", "%q is not an ISO-8601 timestamp such as 2016-03-14T01:59:00Z", ja.timestamp.literal)
				}
			}
		}
	case "Fail":
		ja.errorName = o.jsonataOf("Error", "string")
		ja.cause = o.jsonataOf("Cause", "string")
	case "Parallel":
		v.parallel(o, s)
	case "Map":
		v.jsonataMap(o, s)
	}
}

func (v *validator) jsonataCatchers(o *obj) []*Catcher {
	var out []*Catcher
	items := v.list(o, "Catch")
	for i, m := range items {
		co := &obj{v: v, state: o.state, prefix: fmt.Sprintf("Catch[%d].", i), m: m}
		co.unknownJSONata([]string{"ErrorEquals", "Next", "Output", "Assign", "Comment"}, "catcher")
		c := &Catcher{ja: &jsonataCatcher{}}
		c.ErrorEquals = v.errorEquals(co)
		c.Next, _ = co.str("Next", true)
		c.ja.output = co.jsonata("Output")
		if co.has("Assign") {
			c.ja.assign = co.jsonata("Assign")
		}
		if slices.Contains(c.ErrorEquals, StatesALL) && i != len(items)-1 {
			co.add("ErrorEquals", "a catcher with %s must be the last one", StatesALL)
		}
		out = append(out, c)
	}
	return out
}

func (v *validator) jsonataChoice(o *obj, s *State) {
	s.Default, _ = o.str("Default", false)
	list, ok := o.m["Choices"].([]any)
	if !ok || len(list) == 0 {
		o.add("Choices", "must be a non-empty array of choice rules")
		return
	}
	for i, raw := range list {
		m, ok := raw.(map[string]any)
		if !ok {
			o.add(fmt.Sprintf("Choices[%d]", i), "a choice rule must be an object, not %s", typeName(raw))
			continue
		}
		ro := &obj{v: v, state: o.state, prefix: fmt.Sprintf("Choices[%d].", i), m: m}
		ro.unknownJSONata([]string{"Condition", "Next", "Assign", "Output", "Comment"}, "choice rule")
		r := &ChoiceRule{}
		r.Next, _ = ro.str("Next", true)
		if !ro.has("Condition") {
			ro.add("Condition", "is required in a JSONata choice rule")
		} else {
			r.condition = ro.jsonataOf("Condition", "boolean")
		}
		if ro.has("Assign") {
			r.jsonataAssign = ro.jsonata("Assign")
		}
		r.jsonataOutput = ro.jsonata("Output")
		s.Choices = append(s.Choices, r)
	}
}

func (v *validator) jsonataMap(o *obj, s *State) {
	v.itemProcessor(o, s)
	ja := s.ja
	ja.items = o.jsonataOf("Items", "array")
	ja.itemSelector = o.jsonata("ItemSelector")
	ja.maxConcurrency = o.jsonataOf("MaxConcurrency", "integer")
	ja.toleratedCount = o.jsonataOf("ToleratedFailureCount", "integer")
	ja.toleratedPercent = o.jsonataOf("ToleratedFailurePercentage", "number")
	_, _ = o.str("Label", false)
}
