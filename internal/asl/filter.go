package asl

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// filterExpr is a compiled JSONPath filter, the expr in [?(expr)]. It
// supports the Jayway operators ==, !=, <, <=, >, >=, =~ /regex/, in, nin,
// subsetof, anyof, noneof, size and empty, combined with &&, || and !,
// over @-relative paths, $-rooted paths and literals.
type filterExpr interface {
	test(cur, root any) bool
}

type filterOr struct{ l, r filterExpr }
type filterAnd struct{ l, r filterExpr }
type filterNot struct{ e filterExpr }
type filterExists struct{ o *filterOperand }
type filterCmp struct {
	l, r *filterOperand
	op   string
}

func (f filterOr) test(cur, root any) bool  { return f.l.test(cur, root) || f.r.test(cur, root) }
func (f filterAnd) test(cur, root any) bool { return f.l.test(cur, root) && f.r.test(cur, root) }
func (f filterNot) test(cur, root any) bool { return !f.e.test(cur, root) }

func (f filterExists) test(cur, root any) bool {
	v, ok := f.o.value(cur, root)
	if !ok {
		return false
	}
	if f.o.path != nil && !f.o.path.definite {
		a, _ := v.([]any)
		return len(a) > 0
	}
	if b, isBool := v.(bool); isBool && f.o.path == nil {
		return b
	}
	return true
}

// filterOperand is one side of a comparison.
type filterOperand struct {
	path    *path // @... or $...
	rel     bool  // path is relative to the current node
	literal any
	re      *regexp.Regexp
}

func (o *filterOperand) value(cur, root any) (any, bool) {
	if o.path == nil {
		return o.literal, true
	}
	start := root
	if o.rel {
		start = cur
	}
	v, err := o.path.eval(start)
	if err != nil {
		return nil, false
	}
	return v, true
}

func (f filterCmp) test(cur, root any) bool {
	l, ok := f.l.value(cur, root)
	if !ok {
		return false
	}
	if f.op == "=~" {
		s, ok := l.(string)
		return ok && f.r.re != nil && f.r.re.MatchString(s)
	}
	r, ok := f.r.value(cur, root)
	if !ok {
		return false
	}
	switch f.op {
	case "==":
		return deepEqual(l, r)
	case "!=":
		return !deepEqual(l, r)
	case "<", "<=", ">", ">=":
		c, ok := compareValues(l, r)
		if !ok {
			return false
		}
		switch f.op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		default:
			return c >= 0
		}
	case "in", "nin":
		a, ok := r.([]any)
		if !ok {
			return false
		}
		found := containsValue(a, l)
		return found == (f.op == "in")
	case "subsetof", "anyof", "noneof":
		la, ok1 := l.([]any)
		ra, ok2 := r.([]any)
		if !ok1 || !ok2 {
			return false
		}
		switch f.op {
		case "subsetof":
			for _, e := range la {
				if !containsValue(ra, e) {
					return false
				}
			}
			return true
		case "anyof":
			for _, e := range la {
				if containsValue(ra, e) {
					return true
				}
			}
			return false
		default:
			for _, e := range la {
				if containsValue(ra, e) {
					return false
				}
			}
			return true
		}
	case "size":
		n, ok := asInt(r)
		if !ok {
			return false
		}
		switch l := l.(type) {
		case string:
			return int64(len([]rune(l))) == n
		case []any:
			return int64(len(l)) == n
		}
		return false
	case "empty":
		want, ok := r.(bool)
		if !ok {
			return false
		}
		switch l := l.(type) {
		case string:
			return (len(l) == 0) == want
		case []any:
			return (len(l) == 0) == want
		}
		return false
	}
	return false
}

func containsValue(a []any, v any) bool {
	for _, e := range a {
		if deepEqual(e, v) {
			return true
		}
	}
	return false
}

// compareValues orders two numbers or two strings.
func compareValues(a, b any) (int, bool) {
	if isNumber(a) && isNumber(b) {
		return compareNumbers(a, b)
	}
	as, ok1 := a.(string)
	bs, ok2 := b.(string)
	if ok1 && ok2 {
		return strings.Compare(as, bs), true
	}
	return 0, false
}

// parseFilter compiles the text between the parentheses of [?( )].
func parseFilter(text string) (filterExpr, error) {
	p := &filterParser{s: text}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.s[p.i:], p.i)
	}
	return e, nil
}

type filterParser struct {
	s string
	i int
}

func (p *filterParser) space() {
	for p.i < len(p.s) && unicode.IsSpace(rune(p.s[p.i])) {
		p.i++
	}
}

func (p *filterParser) eat(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *filterParser) or() (filterExpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.eat("||") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = filterOr{l, r}
	}
	return l, nil
}

func (p *filterParser) and() (filterExpr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.eat("&&") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = filterAnd{l, r}
	}
	return l, nil
}

func (p *filterParser) unary() (filterExpr, error) {
	p.space()
	if strings.HasPrefix(p.s[p.i:], "!") && !strings.HasPrefix(p.s[p.i:], "!=") {
		p.i++
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return filterNot{e}, nil
	}
	if p.eat("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, fmt.Errorf("missing \")\"")
		}
		return e, nil
	}
	return p.comparison()
}

var filterOps = []string{"==", "!=", "<=", ">=", "=~", "<", ">", " in ", " nin ", " subsetof ", " anyof ", " noneof ", " size ", " empty "}

func (p *filterParser) comparison() (filterExpr, error) {
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	// Word operators need the blank before them; look at the raw text.
	rest := p.s[p.i:]
	for _, op := range filterOps {
		trimmed := strings.TrimSpace(op)
		var matched bool
		if op[0] == ' ' {
			t := strings.TrimLeft(rest, " \t")
			matched = len(t) < len(rest) && strings.HasPrefix(t, trimmed+" ")
			if matched {
				p.i += len(rest) - len(t) + len(trimmed)
			}
		} else {
			t := strings.TrimLeft(rest, " \t")
			matched = strings.HasPrefix(t, op)
			if matched {
				p.i += len(rest) - len(t) + len(op)
			}
		}
		if !matched {
			continue
		}
		if trimmed == "=~" {
			re, err := p.regex()
			if err != nil {
				return nil, err
			}
			return filterCmp{l: l, op: trimmed, r: &filterOperand{re: re}}, nil
		}
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		return filterCmp{l: l, op: trimmed, r: r}, nil
	}
	return filterExists{l}, nil
}

func (p *filterParser) regex() (*regexp.Regexp, error) {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '/' {
		return nil, fmt.Errorf("=~ needs a /regular expression/")
	}
	var b strings.Builder
	j := p.i + 1
	for ; j < len(p.s) && p.s[j] != '/'; j++ {
		if p.s[j] == '\\' && j+1 < len(p.s) && p.s[j+1] == '/' {
			j++
		}
		b.WriteByte(p.s[j])
	}
	if j >= len(p.s) {
		return nil, fmt.Errorf("unterminated regular expression")
	}
	j++
	flags := ""
	for j < len(p.s) && strings.IndexByte("imsx", p.s[j]) >= 0 {
		if p.s[j] != 'x' {
			flags += string(p.s[j])
		}
		j++
	}
	p.i = j
	expr := b.String()
	if flags != "" {
		expr = "(?" + flags + ")" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("regular expression: %w", err)
	}
	return re, nil
}

func (p *filterParser) operand() (*filterOperand, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("missing operand")
	}
	c := p.s[p.i]
	switch {
	case c == '@' || c == '$':
		j := p.scanPath()
		text := p.s[p.i:j]
		p.i = j
		rel := c == '@'
		if rel {
			text = "$" + text[1:]
		}
		pp, err := compilePath(text)
		if err != nil {
			return nil, err
		}
		return &filterOperand{path: pp, rel: rel}, nil
	case c == '\'' || c == '"':
		s, j, err := scanQuoted(p.s, p.i)
		if err != nil {
			return nil, err
		}
		p.i = j
		return &filterOperand{literal: s}, nil
	case c == '[':
		j := p.i + 1
		var items []any
		for {
			p.i = j
			p.space()
			if p.i < len(p.s) && p.s[p.i] == ']' {
				p.i++
				return &filterOperand{literal: items}, nil
			}
			o, err := p.operand()
			if err != nil {
				return nil, err
			}
			if o.path != nil {
				return nil, fmt.Errorf("paths are not allowed in a list literal")
			}
			items = append(items, o.literal)
			p.space()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				j = p.i + 1
				continue
			}
			j = p.i
		}
	default:
		j := p.i
		for j < len(p.s) && (strings.IndexByte("+-.eE", p.s[j]) >= 0 || unicode.IsLetter(rune(p.s[j])) || unicode.IsDigit(rune(p.s[j]))) {
			j++
		}
		word := p.s[p.i:j]
		switch word {
		case "true":
			p.i = j
			return &filterOperand{literal: true}, nil
		case "false":
			p.i = j
			return &filterOperand{literal: false}, nil
		case "null":
			p.i = j
			return &filterOperand{literal: nil}, nil
		}
		if word == "" || !json.Valid([]byte(word)) || !isNumberText(word) {
			return nil, fmt.Errorf("unexpected %q", p.s[p.i:])
		}
		p.i = j
		return &filterOperand{literal: json.Number(word)}, nil
	}
}

func isNumberText(s string) bool {
	v, err := decodeJSON([]byte(s))
	return err == nil && isNumber(v)
}

// scanPath returns the end of the path that starts at p.i: it stops at
// white space or an operator character outside brackets.
func (p *filterParser) scanPath() int {
	depth := 0
	j := p.i
	for j < len(p.s) {
		c := p.s[j]
		switch {
		case c == '\'' || c == '"':
			_, k, err := scanQuoted(p.s, j)
			if err != nil {
				return len(p.s)
			}
			j = k
			continue
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0 && (unicode.IsSpace(rune(c)) || strings.IndexByte("=!<>&|)", c) >= 0):
			return j
		}
		j++
	}
	return j
}
