// Package eventpattern matches events against EventBridge event patterns,
// following EventBridge's documented matching rules, for the operators the
// Slipway stack's rules use (and a few neighbours): exact values, prefix,
// anything-but and exists. It exists so that tests can check a rule's
// pattern against sample events offline; it is not a complete
// implementation of EventBridge (no numeric, cidr, suffix, wildcard,
// equals-ignore-case or $or matching: a pattern using them is an error,
// never a silent mismatch).
//
// The rules it follows:
//   - a pattern is a JSON object; every field it names must match, fields
//     it does not name are ignored;
//   - an object in the pattern matches an object in the event field by
//     field, recursively;
//   - a leaf of the pattern is a non-empty array of alternatives: the field
//     matches if its value matches any of them;
//   - if the event's value is an array, the field matches if any element
//     matches;
//   - values match exactly: same JSON type, same value, case-sensitive;
//     null matches null only, not a missing field;
//   - {"prefix": "s"} matches a string that starts with s;
//   - {"anything-but": v} (v a value, an array of values, or {"prefix": s})
//     matches a present value that does not match v;
//   - {"exists": true} matches a field that is present, {"exists": false}
//     one that is absent.
package eventpattern

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Match reports whether event matches pattern, both JSON documents. An
// error means the pattern (or the event) is malformed or uses an operator
// this package does not implement.
func Match(pattern, event []byte) (bool, error) {
	var p, e map[string]any
	if err := json.Unmarshal(pattern, &p); err != nil {
		return false, fmt.Errorf("pattern: %w", err)
	}
	if err := json.Unmarshal(event, &e); err != nil {
		return false, fmt.Errorf("event: %w", err)
	}
	return MatchValues(p, e)
}

// MatchValues is Match on decoded JSON (numbers as float64).
func MatchValues(pattern, event map[string]any) (bool, error) {
	if len(pattern) == 0 {
		return false, fmt.Errorf("empty pattern")
	}
	return matchObject("", pattern, event)
}

func matchObject(path string, pattern, event map[string]any) (bool, error) {
	// Check every field, even after a mismatch, so that a malformed
	// pattern is always reported; visit them in order for stable errors.
	keys := make([]string, 0, len(pattern))
	for k := range pattern {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	matched := true
	for _, k := range keys {
		field := strings.TrimPrefix(path+"."+k, ".")
		ev, present := event[k]
		var ok bool
		var err error
		switch pv := pattern[k].(type) {
		case map[string]any:
			if len(pv) == 0 {
				return false, fmt.Errorf("%s: empty object in pattern", field)
			}
			eo, isObject := ev.(map[string]any)
			if !present || !isObject {
				eo = map[string]any{}
			}
			ok, err = matchObject(field, pv, eo)
			if present && !isObject {
				ok = false
			}
		case []any:
			ok, err = matchLeaf(field, pv, ev, present)
		default:
			return false, fmt.Errorf("%s: a pattern leaf must be an array of values, not %T", field, pv)
		}
		if err != nil {
			return false, err
		}
		matched = matched && ok
	}
	return matched, nil
}

func matchLeaf(field string, alternatives []any, value any, present bool) (bool, error) {
	if len(alternatives) == 0 {
		return false, fmt.Errorf("%s: empty array in pattern", field)
	}
	values := []any{value}
	if arr, ok := value.([]any); ok {
		values = arr
	}
	matched := false
	for _, alt := range alternatives {
		var ok bool
		var err error
		if op, isOp := alt.(map[string]any); isOp {
			ok, err = matchOperator(field, op, values, present)
		} else {
			ok = present && anyEqual(alt, values)
		}
		if err != nil {
			return false, err
		}
		matched = matched || ok
	}
	return matched, nil
}

func matchOperator(field string, op map[string]any, values []any, present bool) (bool, error) {
	if len(op) != 1 {
		return false, fmt.Errorf("%s: an operator object must have exactly one key, not %d", field, len(op))
	}
	for name, arg := range op {
		switch name {
		case "exists":
			want, ok := arg.(bool)
			if !ok {
				return false, fmt.Errorf("%s: exists takes true or false", field)
			}
			// An empty array carries no value: it does not exist.
			has := present && !(len(values) == 0)
			return has == want, nil
		case "prefix":
			prefix, ok := arg.(string)
			if !ok {
				return false, fmt.Errorf("%s: prefix takes a string", field)
			}
			if !present {
				return false, nil
			}
			for _, v := range values {
				if s, ok := v.(string); ok && strings.HasPrefix(s, prefix) {
					return true, nil
				}
			}
			return false, nil
		case "anything-but":
			excluded, err := anythingBut(field, arg)
			if err != nil {
				return false, err
			}
			if !present {
				return false, nil
			}
			for _, v := range values {
				if !excluded(v) {
					return true, nil
				}
			}
			return false, nil
		default:
			return false, fmt.Errorf("%s: operator %q is not implemented by this matcher", field, name)
		}
	}
	return false, nil
}

// anythingBut returns the predicate of the values anything-but excludes.
func anythingBut(field string, arg any) (func(any) bool, error) {
	switch a := arg.(type) {
	case []any:
		if len(a) == 0 {
			return nil, fmt.Errorf("%s: anything-but takes a non-empty array", field)
		}
		return func(v any) bool { return anyEqual(v, a) }, nil
	case map[string]any:
		prefix, ok := a["prefix"].(string)
		if len(a) != 1 || !ok {
			return nil, fmt.Errorf("%s: anything-but takes a value, an array of values or {\"prefix\": string}", field)
		}
		return func(v any) bool { s, ok := v.(string); return ok && strings.HasPrefix(s, prefix) }, nil
	default:
		return func(v any) bool { return equal(v, a) }, nil
	}
}

func anyEqual(x any, values []any) bool {
	for _, v := range values {
		if equal(x, v) {
			return true
		}
	}
	return false
}

// equal compares two scalar JSON values by type and value.
func equal(a, b any) bool {
	switch a := a.(type) {
	case string:
		s, ok := b.(string)
		return ok && a == s
	case float64:
		n, ok := b.(float64)
		return ok && a == n
	case bool:
		v, ok := b.(bool)
		return ok && a == v
	case nil:
		return b == nil
	}
	return false
}
