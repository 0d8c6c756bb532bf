package asl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// path is a compiled JSONPath in the dialect Step Functions accepts (Jayway
// JsonPath): $ or $$ (the context object) followed by .name, ['name'],
// [n], [-n], .*, [*], [start:end:step], [a,b], ['a','b'], ..name and
// [?(filter)]. A definite path (only names and indexes) selects one value or
// fails; any other path selects a list, possibly empty, and never fails.
type path struct {
	text     string
	context  bool
	variable string // $name: the path starts at a variable
	segs     []pathSeg
	definite bool
}

type segKind uint8

const (
	segField    segKind = iota // .name or ['name']
	segIndex                   // [n]
	segWildcard                // .* or [*]
	segSlice                   // [start:end:step]
	segIndexes                 // [a,b]
	segFields                  // ['a','b']
	segFilter                  // [?(expr)]
)

type pathSeg struct {
	kind     segKind
	deep     bool // preceded by ..
	name     string
	index    int
	names    []string
	indexes  []int
	slice    [3]int
	sliceSet [3]bool
	filter   filterExpr
	text     string // the filter's source, for messages
}

// pathError is the reason a definite path selected nothing. Its text
// follows Jayway's messages, which AWS passes on in error causes.
type pathError struct{ msg string }

func (e *pathError) Error() string { return e.msg }

// compilePath parses a JSONPath.
func compilePath(s string) (*path, error) {
	p := &path{text: s, definite: true}
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("invalid JSONPath %q: must start with \"$\"", s)
	}
	i := 1
	switch {
	case strings.HasPrefix(s, "$$"):
		p.context = true
		i = 2
	case len(s) > 1 && isIdentByte(s[1]):
		for i < len(s) && isIdentByte(s[i]) {
			i++
		}
		p.variable = s[1:i]
	}
	for i < len(s) {
		deep := false
		switch s[i] {
		case '.':
			i++
			if i < len(s) && s[i] == '.' {
				deep = true
				i++
			}
			if i >= len(s) {
				return nil, fmt.Errorf("invalid JSONPath %q: ends with \".\"", s)
			}
			switch s[i] {
			case '[':
				seg, n, err := parseBracket(s, i)
				if err != nil {
					return nil, err
				}
				seg.deep = deep
				p.segs = append(p.segs, seg)
				i = n
			case '*':
				p.segs = append(p.segs, pathSeg{kind: segWildcard, deep: deep})
				i++
			case '.':
				return nil, fmt.Errorf("invalid JSONPath %q: unexpected \".\" at offset %d", s, i)
			default:
				j := i
				for j < len(s) && s[j] != '.' && s[j] != '[' {
					j++
				}
				name := s[i:j]
				if strings.HasSuffix(name, ")") {
					return nil, fmt.Errorf("invalid JSONPath %q: path functions such as %s are not supported", s, name)
				}
				if strings.ContainsAny(name, " \t\n'\"]") {
					return nil, fmt.Errorf("invalid JSONPath %q: invalid character in property name %q", s, name)
				}
				p.segs = append(p.segs, pathSeg{kind: segField, name: name, deep: deep})
				i = j
			}
		case '[':
			seg, n, err := parseBracket(s, i)
			if err != nil {
				return nil, err
			}
			p.segs = append(p.segs, seg)
			i = n
		default:
			return nil, fmt.Errorf("invalid JSONPath %q: unexpected %q at offset %d", s, s[i], i)
		}
	}
	for _, seg := range p.segs {
		if seg.deep || (seg.kind != segField && seg.kind != segIndex && seg.kind != segFields) {
			p.definite = false
		}
	}
	return p, nil
}

// parseBracket parses the bracket expression that starts at s[i] == '['
// and returns it with the offset just after the closing bracket.
func parseBracket(s string, i int) (pathSeg, int, error) {
	bad := func(format string, a ...any) (pathSeg, int, error) {
		return pathSeg{}, 0, fmt.Errorf("invalid JSONPath %q: %s", s, fmt.Sprintf(format, a...))
	}
	j := skipSpaces(s, i+1)
	if j >= len(s) {
		return bad("unclosed \"[\"")
	}
	switch c := s[j]; {
	case c == '?':
		j = skipSpaces(s, j+1)
		if j >= len(s) || s[j] != '(' {
			return bad("a filter must look like [?(expression)]")
		}
		end, err := matchParen(s, j)
		if err != nil {
			return bad("%v", err)
		}
		text := s[j+1 : end]
		f, err := parseFilter(text)
		if err != nil {
			return bad("filter %q: %v", text, err)
		}
		k := skipSpaces(s, end+1)
		if k >= len(s) || s[k] != ']' {
			return bad("unclosed \"[\" after filter")
		}
		return pathSeg{kind: segFilter, filter: f, text: "?(" + text + ")"}, k + 1, nil
	case c == '*':
		k := skipSpaces(s, j+1)
		if k >= len(s) || s[k] != ']' {
			return bad("unclosed \"[*\"")
		}
		return pathSeg{kind: segWildcard}, k + 1, nil
	case c == '\'' || c == '"':
		var names []string
		for {
			name, k, err := scanQuoted(s, j)
			if err != nil {
				return bad("%v", err)
			}
			names = append(names, name)
			k = skipSpaces(s, k)
			if k >= len(s) {
				return bad("unclosed \"[\"")
			}
			if s[k] == ']' {
				if len(names) == 1 {
					return pathSeg{kind: segField, name: names[0]}, k + 1, nil
				}
				return pathSeg{kind: segFields, names: names}, k + 1, nil
			}
			if s[k] != ',' {
				return bad("unexpected %q in bracket at offset %d", s[k], k)
			}
			j = skipSpaces(s, k+1)
			if j >= len(s) || (s[j] != '\'' && s[j] != '"') {
				return bad("expected a quoted name after \",\"")
			}
		}
	default:
		end := strings.IndexByte(s[j:], ']')
		if end < 0 {
			return bad("unclosed \"[\"")
		}
		body := strings.TrimSpace(s[j : j+end])
		next := j + end + 1
		if strings.Contains(body, ":") {
			parts := strings.Split(body, ":")
			if len(parts) > 3 {
				return bad("invalid slice [%s]", body)
			}
			seg := pathSeg{kind: segSlice}
			for k, part := range parts {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				n, err := strconv.Atoi(part)
				if err != nil {
					return bad("invalid slice [%s]", body)
				}
				seg.slice[k], seg.sliceSet[k] = n, true
			}
			if seg.sliceSet[2] && seg.slice[2] <= 0 {
				return bad("slice step must be positive in [%s]", body)
			}
			return seg, next, nil
		}
		if strings.Contains(body, ",") {
			seg := pathSeg{kind: segIndexes}
			for _, part := range strings.Split(body, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(part))
				if err != nil {
					return bad("invalid index list [%s]", body)
				}
				seg.indexes = append(seg.indexes, n)
			}
			return seg, next, nil
		}
		n, err := strconv.Atoi(body)
		if err != nil {
			return bad("invalid array index [%s]", body)
		}
		return pathSeg{kind: segIndex, index: n}, next, nil
	}
}

func skipSpaces(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// scanQuoted reads a quoted name starting at s[i] (a ' or ") and returns
// it with the offset after the closing quote. As in Jayway, a backslash
// escapes only the quote itself; any other backslash is kept.
func scanQuoted(s string, i int) (string, int, error) {
	q := s[i]
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '\\' && j+1 < len(s) && s[j+1] == q:
			j++
			b.WriteByte(q)
		case c == q:
			return b.String(), j + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated quoted string")
}

// matchParen returns the offset of the parenthesis closing the one at s[i],
// skipping quoted strings and regular expressions.
func matchParen(s string, i int) (int, error) {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\'', '"':
			_, k, err := scanQuoted(s, j)
			if err != nil {
				return 0, err
			}
			j = k - 1
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, fmt.Errorf("unbalanced parentheses")
}

// isReferencePath reports whether p is a Reference Path: one that selects a
// single node, with names and indexes only.
func (p *path) isReferencePath() bool {
	if p.context {
		return false
	}
	for _, seg := range p.segs {
		if seg.deep || (seg.kind != segField && seg.kind != segIndex) {
			return false
		}
	}
	return true
}

// normalized renders segs in Jayway's normalized form, e.g. $['a'][0].
func normalized(segs []pathSeg) string {
	var b strings.Builder
	b.WriteString("$")
	for _, seg := range segs {
		if seg.deep {
			b.WriteString("..")
		}
		switch seg.kind {
		case segField:
			b.WriteString("['" + seg.name + "']")
		case segFields:
			b.WriteString("[")
			for i, n := range seg.names {
				if i > 0 {
					b.WriteString(",")
				}
				b.WriteString("'" + n + "'")
			}
			b.WriteString("]")
		case segIndex:
			b.WriteString("[" + strconv.Itoa(seg.index) + "]")
		case segWildcard:
			b.WriteString("[*]")
		case segIndexes:
			b.WriteString("[")
			for i, n := range seg.indexes {
				if i > 0 {
					b.WriteString(",")
				}
				b.WriteString(strconv.Itoa(n))
			}
			b.WriteString("]")
		case segSlice:
			b.WriteString("[")
			for k := 0; k < 3; k++ {
				if k > 0 && (k < 2 || seg.sliceSet[2]) {
					b.WriteString(":")
				}
				if seg.sliceSet[k] {
					b.WriteString(strconv.Itoa(seg.slice[k]))
				}
			}
			b.WriteString("]")
		case segFilter:
			b.WriteString("[" + seg.text + "]")
		}
	}
	return b.String()
}

// eval applies p to root. A definite path returns the one value it selects
// or a *pathError; any other path returns a []any of the matches.
//
// Chained deep scans multiply: $..*..*..*..* selects some 450,000 values
// from 120 bytes of nested arrays. An evaluation that gets past
// maxPathNodes values fails rather than take the process's memory: no
// result that large fits in a state's 256 KiB payload anyway.
func (p *path) eval(root any) (any, error) {
	if p.definite {
		return p.get(root)
	}
	nodes := []any{root}
	for _, seg := range p.segs {
		var next []any
		for _, n := range nodes {
			if seg.deep {
				walkDescendants(n, func(d any) bool {
					next = seg.apply(d, root, next)
					return len(next) <= maxPathNodes
				})
			} else {
				next = seg.apply(n, root, next)
			}
			if len(next) > maxPathNodes {
				return nil, &pathError{fmt.Sprintf("The path %s selects more than %d values", p.text, maxPathNodes)}
			}
		}
		nodes = next
	}
	if nodes == nil {
		nodes = []any{}
	}
	return nodes, nil
}

// get walks a definite path.
func (p *path) get(root any) (any, error) {
	cur := root
	last := len(p.segs) - 1
	for k, seg := range p.segs {
		missing := func() error {
			if k == last {
				return &pathError{"No results for path: " + normalized(p.segs[:k+1])}
			}
			return &pathError{"Missing property in path " + normalized(p.segs[:k+1])}
		}
		switch seg.kind {
		case segField:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, &pathError{fmt.Sprintf("Expected to find an object with property ['%s'] in path %s but found '%s'",
					seg.name, normalized(p.segs[:k]), typeName(cur))}
			}
			v, ok := m[seg.name]
			if !ok {
				return nil, missing()
			}
			cur = v
		case segFields:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, &pathError{fmt.Sprintf("Expected to find an object with properties in path %s but found '%s'",
					normalized(p.segs[:k]), typeName(cur))}
			}
			out := make(map[string]any, len(seg.names))
			for _, n := range seg.names {
				v, ok := m[n]
				if !ok {
					return nil, missing()
				}
				out[n] = v
			}
			cur = out
		case segIndex:
			a, ok := cur.([]any)
			if !ok {
				return nil, &pathError{fmt.Sprintf("Expected to find an array with index [%d] in path %s but found '%s'",
					seg.index, normalized(p.segs[:k]), typeName(cur))}
			}
			i := seg.index
			if i < 0 {
				i += len(a)
			}
			if i < 0 || i >= len(a) {
				return nil, missing()
			}
			cur = a[i]
		}
	}
	return cur, nil
}

// apply appends to out what seg selects from node.
func (seg *pathSeg) apply(node, root any, out []any) []any {
	switch seg.kind {
	case segField:
		if m, ok := node.(map[string]any); ok {
			if v, ok := m[seg.name]; ok {
				out = append(out, v)
			}
		}
	case segFields:
		if m, ok := node.(map[string]any); ok {
			for _, n := range seg.names {
				if v, ok := m[n]; ok {
					out = append(out, v)
				}
			}
		}
	case segIndex:
		if a, ok := node.([]any); ok {
			i := seg.index
			if i < 0 {
				i += len(a)
			}
			if i >= 0 && i < len(a) {
				out = append(out, a[i])
			}
		}
	case segIndexes:
		if a, ok := node.([]any); ok {
			for _, i := range seg.indexes {
				if i < 0 {
					i += len(a)
				}
				if i >= 0 && i < len(a) {
					out = append(out, a[i])
				}
			}
		}
	case segWildcard:
		switch n := node.(type) {
		case []any:
			out = append(out, n...)
		case map[string]any:
			for _, k := range sortedKeys(n) {
				out = append(out, n[k])
			}
		}
	case segSlice:
		if a, ok := node.([]any); ok {
			start, end, step := 0, len(a), 1
			if seg.sliceSet[0] {
				start = clampIndex(seg.slice[0], len(a))
			}
			if seg.sliceSet[1] {
				end = clampIndex(seg.slice[1], len(a))
			}
			if seg.sliceSet[2] {
				step = seg.slice[2]
			}
			for i := start; i < end; i += step {
				out = append(out, a[i])
			}
		}
	case segFilter:
		switch n := node.(type) {
		case []any:
			for _, e := range n {
				if seg.filter.test(e, root) {
					out = append(out, e)
				}
			}
		case map[string]any:
			if seg.filter.test(n, root) {
				out = append(out, n)
			}
		}
	}
	return out
}

func clampIndex(i, n int) int {
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}

// maxPathNodes bounds the values an indefinite path evaluation holds.
const maxPathNodes = 1 << 20

// walkDescendants calls fn for node and every value nested in it, in
// document order, until fn returns false; it reports whether it got to
// the end.
func walkDescendants(node any, fn func(any) bool) bool {
	if !fn(node) {
		return false
	}
	switch n := node.(type) {
	case []any:
		for _, e := range n {
			if !walkDescendants(e, fn) {
				return false
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(n) {
			if !walkDescendants(n[k], fn) {
				return false
			}
		}
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// set returns a copy of root with the node p names replaced by value,
// creating objects for missing names on the way. Only the containers on the
// path are copied. p must be a Reference Path.
func (p *path) set(root, value any) (any, error) {
	return setAt(root, p.segs, 0, value)
}

func setAt(node any, segs []pathSeg, k int, value any) (any, error) {
	if k == len(segs) {
		return value, nil
	}
	seg := segs[k]
	switch seg.kind {
	case segField:
		var m map[string]any
		switch n := node.(type) {
		case map[string]any:
			m = make(map[string]any, len(n)+1)
			for key, v := range n {
				m[key] = v
			}
		case nil:
			m = make(map[string]any, 1)
		default:
			return nil, fmt.Errorf("cannot set property ['%s'] in path %s: the value there is %s, not an object",
				seg.name, normalized(segs[:k]), typeName(node))
		}
		v, err := setAt(m[seg.name], segs, k+1, value)
		if err != nil {
			return nil, err
		}
		m[seg.name] = v
		return m, nil
	case segIndex:
		a, ok := node.([]any)
		if !ok {
			return nil, fmt.Errorf("cannot set index [%d] in path %s: the value there is %s, not an array",
				seg.index, normalized(segs[:k]), typeName(node))
		}
		i := seg.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, fmt.Errorf("cannot set index [%d] in path %s: the array has %d elements",
				seg.index, normalized(segs[:k]), len(a))
		}
		c := slices.Clone(a)
		v, err := setAt(c[i], segs, k+1, value)
		if err != nil {
			return nil, err
		}
		c[i] = v
		return c, nil
	}
	return nil, fmt.Errorf("path %s is not a reference path", normalized(segs))
}
