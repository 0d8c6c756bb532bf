package asl

import (
	"fmt"
	"strings"
)

// payload is a compiled payload template (Parameters, ResultSelector,
// ItemSelector): fields whose names end in ".$" take their value from a
// path or an intrinsic function, everything else is copied as written.
type payload struct {
	literal any // set when nothing inside is dynamic
	dynamic bool
	fields  []payloadField // object
	items   []*payload     // array
	isArray bool
}

type payloadField struct {
	name string // without ".$"
	key  string // as written
	path *path
	call *intrinsic
	sub  *payload
}

// compilePayload compiles a template. field names the template for error
// messages, e.g. "Parameters".
func compilePayload(v any, field string) (*payload, error) {
	switch v := v.(type) {
	case map[string]any:
		p := &payload{}
		keys := sortedKeys(v)
		seen := make(map[string]string, len(keys))
		for _, k := range keys {
			name := k
			f := payloadField{key: k}
			if strings.HasSuffix(k, ".$") {
				name = strings.TrimSuffix(k, ".$")
				s, ok := v[k].(string)
				if !ok {
					return nil, fmt.Errorf("field %q: the value of a field ending in \".$\" must be a string holding a path or an intrinsic function, not %s", field+"."+k, typeName(v[k]))
				}
				switch {
				case strings.HasPrefix(s, "$"):
					pp, err := compilePath(s)
					if err != nil {
						return nil, fmt.Errorf("field %q: %w", field+"."+k, err)
					}
					f.path = pp
				case isIntrinsicText(s):
					c, err := parseIntrinsic(s)
					if err != nil {
						return nil, fmt.Errorf("field %q: %w", field+"."+k, err)
					}
					f.call = c
				default:
					return nil, fmt.Errorf("field %q: %q is neither a path (starting with \"$\") nor an intrinsic function (starting with \"States.\")", field+"."+k, s)
				}
				p.dynamic = true
			} else {
				sub, err := compilePayload(v[k], field+"."+k)
				if err != nil {
					return nil, err
				}
				f.sub = sub
				p.dynamic = p.dynamic || sub.dynamic
			}
			if other, dup := seen[name]; dup {
				return nil, fmt.Errorf("field %q: duplicates field %q", field+"."+k, field+"."+other)
			}
			seen[name] = k
			f.name = name
			p.fields = append(p.fields, f)
		}
		if !p.dynamic {
			return &payload{literal: v}, nil
		}
		return p, nil
	case []any:
		p := &payload{isArray: true}
		for i, e := range v {
			sub, err := compilePayload(e, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return nil, err
			}
			p.items = append(p.items, sub)
			p.dynamic = p.dynamic || sub.dynamic
		}
		if !p.dynamic {
			return &payload{literal: v}, nil
		}
		return p, nil
	default:
		return &payload{literal: v}, nil
	}
}

// scope is what paths in a template are evaluated against: the input ($)
// and, built only when a path asks for it, the context object ($$).
type scope struct {
	input   any
	context func() any
	vars    *varScope
	cached  any
	built   bool
}

func (sc *scope) root(p *path) any {
	if p.variable != "" {
		v, _ := sc.vars.get(p.variable)
		return v
	}
	if !p.context {
		return sc.input
	}
	if !sc.built {
		sc.cached, sc.built = sc.context(), true
	}
	return sc.cached
}

// resolve evaluates p in the scope.
func (sc *scope) resolve(p *path) (any, error) {
	if p.variable != "" {
		if _, ok := sc.vars.get(p.variable); !ok {
			return nil, &undefinedVariableError{p.variable}
		}
	}
	return p.eval(sc.root(p))
}

// fieldPathError is a ".$" field whose path selected nothing.
type fieldPathError struct {
	key   string
	path  *path
	input any
}

func (e *fieldPathError) Error() string {
	return fmt.Sprintf("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'",
		e.path.text, e.key, jsonText(e.input))
}

// fieldIntrinsicError is a ".$" field whose intrinsic function failed.
type fieldIntrinsicError struct {
	key string
	err *intrinsicError
}

func (e *fieldIntrinsicError) Error() string {
	return fmt.Sprintf("%s (field '%s')", e.err.Error(), e.key)
}

// eval builds the payload. It returns a *fieldPathError or a
// *fieldIntrinsicError when a field cannot be computed.
func (p *payload) eval(sc *scope) (any, error) {
	if !p.dynamic {
		return p.literal, nil
	}
	if p.isArray {
		out := make([]any, len(p.items))
		for i, it := range p.items {
			v, err := it.eval(sc)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	out := make(map[string]any, len(p.fields))
	for _, f := range p.fields {
		var v any
		var err error
		switch {
		case f.path != nil:
			v, err = sc.resolve(f.path)
			if err != nil {
				return nil, &fieldPathError{key: f.key, path: f.path, input: sc.root(f.path)}
			}
		case f.call != nil:
			v, err = f.call.eval(sc.resolve)
			if err != nil {
				if ie, ok := err.(*intrinsicError); ok {
					return nil, &fieldIntrinsicError{key: f.key, err: ie}
				}
				return nil, &fieldPathError{key: f.key, path: intrinsicPathOf(f.call, sc), input: sc.input}
			}
		default:
			v, err = f.sub.eval(sc)
			if err != nil {
				return nil, err
			}
		}
		out[f.name] = v
	}
	return out, nil
}

// intrinsicPathOf finds the first path argument of c that selects nothing,
// to name it in the error.
func intrinsicPathOf(c *intrinsic, sc *scope) *path {
	for _, a := range c.args {
		switch a.kind {
		case argPath:
			if _, err := sc.resolve(a.path); err != nil {
				return a.path
			}
		case argCall:
			if p := intrinsicPathOf(a.call, sc); p != nil {
				return p
			}
		}
	}
	return &path{text: "?"}
}
