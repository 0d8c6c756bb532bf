package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
)

// intrinsic is a parsed intrinsic function call such as
// States.Format('Hello, {}', $.name).
type intrinsic struct {
	name string
	args []intrinsicArg
}

type argKind uint8

const (
	argLiteral argKind = iota
	argPath
	argCall
)

type intrinsicArg struct {
	kind  argKind
	value any    // argLiteral
	raw   string // the text between the quotes of a string literal, escapes kept
	path  *path
	call  *intrinsic
}

// intrinsicError is an intrinsic function that could not compute its
// result; it surfaces as States.IntrinsicFailure.
type intrinsicError struct {
	fn  string
	msg string
}

func (e *intrinsicError) Error() string {
	return fmt.Sprintf("The intrinsic function %s failed: %s", e.fn, e.msg)
}

// arity is the number of arguments each function takes: min, max (-1 for
// no limit).
var intrinsicArity = map[string][2]int{
	"States.Format":         {1, -1},
	"States.StringToJson":   {1, 1},
	"States.JsonToString":   {1, 1},
	"States.Array":          {0, -1},
	"States.ArrayPartition": {2, 2},
	"States.ArrayContains":  {2, 2},
	"States.ArrayRange":     {3, 3},
	"States.ArrayGetItem":   {2, 2},
	"States.ArrayLength":    {1, 1},
	"States.ArrayUnique":    {1, 1},
	"States.Base64Encode":   {1, 1},
	"States.Base64Decode":   {1, 1},
	"States.Hash":           {2, 2},
	"States.JsonMerge":      {3, 3},
	"States.MathRandom":     {2, 3},
	"States.MathAdd":        {2, 2},
	"States.StringSplit":    {2, 2},
	"States.UUID":           {0, 0},
}

// isIntrinsicText reports whether s looks like an intrinsic function call
// rather than a path.
func isIntrinsicText(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "States.") }

// parseIntrinsic parses an intrinsic function call.
func parseIntrinsic(text string) (*intrinsic, error) {
	p := &intrinsicParser{s: text}
	p.space()
	call, err := p.call()
	if err != nil {
		return nil, fmt.Errorf("invalid intrinsic function %q: %w", text, err)
	}
	p.space()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("invalid intrinsic function %q: unexpected %q after the call", text, p.s[p.i:])
	}
	return call, nil
}

type intrinsicParser struct {
	s string
	i int
}

func (p *intrinsicParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *intrinsicParser) call() (*intrinsic, error) {
	j := p.i
	for j < len(p.s) && (isIdentByte(p.s[j]) || p.s[j] == '.') {
		j++
	}
	name := p.s[p.i:j]
	ar, ok := intrinsicArity[name]
	if !ok {
		if name == "" {
			return nil, fmt.Errorf("expected a function name at offset %d", p.i)
		}
		return nil, fmt.Errorf("unknown function %s", name)
	}
	p.i = j
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return nil, fmt.Errorf("expected \"(\" after %s", name)
	}
	p.i++
	c := &intrinsic{name: name}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			a, err := p.arg()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			p.space()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("missing \")\" to close %s", name)
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			if p.s[p.i] != ',' {
				return nil, fmt.Errorf("unexpected %q at offset %d in the arguments of %s", p.s[p.i], p.i, name)
			}
			p.i++
		}
	}
	if len(c.args) < ar[0] || (ar[1] >= 0 && len(c.args) > ar[1]) {
		want := strconv.Itoa(ar[0])
		switch {
		case ar[1] < 0:
			want = "at least " + want
		case ar[1] != ar[0]:
			want = fmt.Sprintf("%d or %d", ar[0], ar[1])
		}
		return nil, fmt.Errorf("%s takes %s arguments, got %d", name, want, len(c.args))
	}
	return c, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (p *intrinsicParser) arg() (intrinsicArg, error) {
	p.space()
	if p.i >= len(p.s) {
		return intrinsicArg{}, fmt.Errorf("missing argument")
	}
	switch c := p.s[p.i]; {
	case c == '\'':
		var val, raw strings.Builder
		for j := p.i + 1; j < len(p.s); j++ {
			switch p.s[j] {
			case '\\':
				if j+1 >= len(p.s) {
					return intrinsicArg{}, fmt.Errorf("unterminated string literal")
				}
				raw.WriteByte('\\')
				raw.WriteByte(p.s[j+1])
				val.WriteByte(p.s[j+1])
				j++
			case '\'':
				p.i = j + 1
				return intrinsicArg{kind: argLiteral, value: val.String(), raw: raw.String()}, nil
			default:
				raw.WriteByte(p.s[j])
				val.WriteByte(p.s[j])
			}
		}
		return intrinsicArg{}, fmt.Errorf("unterminated string literal")
	case c == '$':
		j := p.i
		depth := 0
	scan:
		for j < len(p.s) {
			switch p.s[j] {
			case '\'', '"':
				_, k, err := scanQuoted(p.s, j)
				if err != nil {
					return intrinsicArg{}, err
				}
				j = k
				continue
			case '[', '(':
				depth++
			case ']':
				depth--
			case ')':
				if depth == 0 {
					break scan
				}
				depth--
			case ',':
				if depth == 0 {
					break scan
				}
			case ' ', '\t', '\n', '\r':
				if depth == 0 {
					break scan
				}
			}
			j++
		}
		text := p.s[p.i:j]
		pp, err := compilePath(text)
		if err != nil {
			return intrinsicArg{}, err
		}
		p.i = j
		return intrinsicArg{kind: argPath, path: pp}, nil
	case strings.HasPrefix(p.s[p.i:], "States."):
		call, err := p.call()
		if err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{kind: argCall, call: call}, nil
	default:
		j := p.i
		for j < len(p.s) && p.s[j] != ',' && p.s[j] != ')' && p.s[j] != ' ' {
			j++
		}
		word := p.s[p.i:j]
		p.i = j
		switch word {
		case "true":
			return intrinsicArg{kind: argLiteral, value: true}, nil
		case "false":
			return intrinsicArg{kind: argLiteral, value: false}, nil
		case "null":
			return intrinsicArg{kind: argLiteral, value: nil}, nil
		}
		if isNumberText(word) {
			return intrinsicArg{kind: argLiteral, value: json.Number(word)}, nil
		}
		return intrinsicArg{}, fmt.Errorf("unexpected argument %q (strings take single quotes)", word)
	}
}

// evalIntrinsic computes a call. Paths are resolved by resolve, which
// returns a *pathError when a path selects nothing.
func (c *intrinsic) eval(resolve func(*path) (any, error)) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch a.kind {
		case argLiteral:
			args[i] = a.value
		case argPath:
			v, err := resolve(a.path)
			if err != nil {
				return nil, err
			}
			args[i] = v
		case argCall:
			v, err := a.call.eval(resolve)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
	}
	fail := func(format string, a ...any) (any, error) {
		return nil, &intrinsicError{fn: c.name, msg: fmt.Sprintf(format, a...)}
	}
	switch c.name {
	case "States.Format":
		tmpl, ok := args[0].(string)
		if !ok {
			return fail("the first argument must be a string, got %s", typeName(args[0]))
		}
		escaped := c.args[0].kind == argLiteral
		if escaped {
			tmpl = c.args[0].raw
		}
		return formatIntrinsic(c.name, tmpl, escaped, args[1:])
	case "States.StringToJson":
		s, ok := args[0].(string)
		if !ok {
			return fail("the argument must be a string, got %s", typeName(args[0]))
		}
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		v, err := decodeJSON([]byte(s))
		if err != nil {
			return fail("the argument is not JSON text: %v", err)
		}
		return v, nil
	case "States.JsonToString":
		return jsonText(args[0]), nil
	case "States.Array":
		return args, nil
	case "States.ArrayPartition":
		a, ok := args[0].([]any)
		if !ok {
			return fail("the first argument must be an array, got %s", typeName(args[0]))
		}
		n, ok := asInt(args[1])
		if !ok || n <= 0 {
			return fail("the chunk size must be a positive integer, got %s", jsonText(args[1]))
		}
		out := []any{}
		for i := 0; i < len(a); i += int(n) {
			out = append(out, a[i:min(len(a), i+int(n))])
		}
		return out, nil
	case "States.ArrayContains":
		a, ok := args[0].([]any)
		if !ok {
			return fail("the first argument must be an array, got %s", typeName(args[0]))
		}
		return containsValue(a, args[1]), nil
	case "States.ArrayRange":
		var n [3]int64
		for i := range n {
			v, ok := asInt(args[i])
			if !ok {
				return fail("argument %d must be an integer, got %s", i+1, jsonText(args[i]))
			}
			n[i] = v
		}
		start, end, step := n[0], n[1], n[2]
		if step == 0 {
			return fail("the step must not be 0")
		}
		out := []any{}
		for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
			if len(out) == 1000 {
				return fail("the range has more than 1000 elements")
			}
			out = append(out, json.Number(strconv.FormatInt(v, 10)))
		}
		return out, nil
	case "States.ArrayGetItem":
		a, ok := args[0].([]any)
		if !ok {
			return fail("the first argument must be an array, got %s", typeName(args[0]))
		}
		i, ok := asInt(args[1])
		if !ok {
			return fail("the index must be an integer, got %s", jsonText(args[1]))
		}
		if i < 0 || i >= int64(len(a)) {
			return fail("index %d is out of range for an array of %d elements", i, len(a))
		}
		return a[i], nil
	case "States.ArrayLength":
		a, ok := args[0].([]any)
		if !ok {
			return fail("the argument must be an array, got %s", typeName(args[0]))
		}
		return number(len(a)), nil
	case "States.ArrayUnique":
		a, ok := args[0].([]any)
		if !ok {
			return fail("the argument must be an array, got %s", typeName(args[0]))
		}
		out := []any{}
		for _, e := range a {
			if !containsValue(out, e) {
				out = append(out, e)
			}
		}
		return out, nil
	case "States.Base64Encode":
		s, ok := args[0].(string)
		if !ok {
			return fail("the argument must be a string, got %s", typeName(args[0]))
		}
		if utf8.RuneCountInString(s) > 10000 {
			return fail("the input is longer than 10000 characters")
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "States.Base64Decode":
		s, ok := args[0].(string)
		if !ok {
			return fail("the argument must be a string, got %s", typeName(args[0]))
		}
		if utf8.RuneCountInString(s) > 10000 {
			return fail("the input is longer than 10000 characters")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fail("the argument is not base64: %v", err)
		}
		return string(b), nil
	case "States.Hash":
		alg, ok := args[1].(string)
		if !ok {
			return fail("the algorithm must be a string, got %s", typeName(args[1]))
		}
		h := newHash(alg)
		if h == nil {
			return fail("unknown algorithm %q (use MD5, SHA-1, SHA-256, SHA-384 or SHA-512)", alg)
		}
		data, ok := args[0].(string)
		if !ok {
			if args[0] == nil {
				return fail("the data must not be null")
			}
			data = jsonText(args[0])
		}
		if utf8.RuneCountInString(data) > 10000 {
			return fail("the input is longer than 10000 characters")
		}
		h.Write([]byte(data))
		return hex.EncodeToString(h.Sum(nil)), nil
	case "States.JsonMerge":
		a, ok1 := args[0].(map[string]any)
		b, ok2 := args[1].(map[string]any)
		if !ok1 || !ok2 {
			return fail("the first two arguments must be objects, got %s and %s", typeName(args[0]), typeName(args[1]))
		}
		deep, ok := args[2].(bool)
		if !ok {
			return fail("the third argument must be a boolean, got %s", typeName(args[2]))
		}
		if deep {
			return fail("deep merge is not supported; the third argument must be false")
		}
		out := make(map[string]any, len(a)+len(b))
		for k, v := range a {
			out[k] = v
		}
		for k, v := range b {
			out[k] = v
		}
		return out, nil
	case "States.MathRandom":
		lo, ok1 := roundHalfUp(args[0])
		hi, ok2 := roundHalfUp(args[1])
		if !ok1 || !ok2 {
			return fail("the start and end must be numbers, got %s and %s", jsonText(args[0]), jsonText(args[1]))
		}
		if hi <= lo {
			return fail("the end (%d) must be greater than the start (%d)", hi, lo)
		}
		var r *mrand.Rand
		if len(args) == 3 {
			seed, ok := roundHalfUp(args[2])
			if !ok {
				return fail("the seed must be an integer, got %s", jsonText(args[2]))
			}
			r = mrand.New(mrand.NewPCG(uint64(seed), 0))
		} else {
			r = mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
		}
		return json.Number(strconv.FormatInt(lo+r.Int64N(hi-lo), 10)), nil
	case "States.MathAdd":
		// Step Functions rounds each argument to an integer first, half up
		// as Java's Math.round does: 1.5 is 2, -1.5 is -1.
		a, ok1 := roundHalfUp(args[0])
		b, ok2 := roundHalfUp(args[1])
		if !ok1 || !ok2 {
			return fail("both arguments must be numbers, got %s and %s", typeName(args[0]), typeName(args[1]))
		}
		return json.Number(strconv.FormatInt(a+b, 10)), nil
	case "States.StringSplit":
		s, ok1 := args[0].(string)
		d, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return fail("both arguments must be strings, got %s and %s", typeName(args[0]), typeName(args[1]))
		}
		out := []any{}
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(d, r) }) {
			out = append(out, part)
		}
		return out, nil
	case "States.UUID":
		return newUUID(), nil
	}
	return fail("unknown function")
}

// formatIntrinsic fills the {} in tmpl with args. When escaped is set, tmpl
// is literal text whose \{, \} and \\ stand for the character itself.
func formatIntrinsic(fn, tmpl string, escaped bool, args []any) (any, error) {
	var b strings.Builder
	n := 0
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case escaped && c == '\\' && i+1 < len(tmpl):
			b.WriteByte(tmpl[i+1])
			i++
		case c == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			if n >= len(args) {
				return nil, &intrinsicError{fn: fn, msg: fmt.Sprintf("the template has more {} than the %d arguments given", len(args))}
			}
			b.WriteString(javaText(args[n]))
			n++
			i++
		default:
			b.WriteByte(c)
		}
	}
	if n != len(args) {
		return nil, &intrinsicError{fn: fn, msg: fmt.Sprintf("the template has %d {} but %d arguments were given", n, len(args))}
	}
	return b.String(), nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// roundHalfUp rounds a JSON number to an integer as Java's Math.round
// does.
func roundHalfUp(v any) (int64, bool) {
	if i, ok := asInt(v); ok {
		return i, true
	}
	f, ok := asFloat(v)
	if !ok || math.IsNaN(f) || math.Abs(f) > 1<<62 {
		return 0, false
	}
	return int64(math.Floor(f + 0.5)), true
}

// javaText renders a value as States.Format does, the way Java prints it:
// strings bare, numbers as written, objects as {k=v, k2=v2} and arrays as
// [a, b].
func javaText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		parts := make([]string, 0, len(v))
		for _, k := range sortedKeys(v) {
			parts = append(parts, k+"="+javaText(v[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = javaText(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return jsonText(v)
}

// newHash returns the hash States.Hash and JSONata's $hash name alg, or nil
// for an algorithm Step Functions does not offer.
func newHash(alg string) hash.Hash {
	switch alg {
	case "MD5":
		return md5.New()
	case "SHA-1":
		return sha1.New()
	case "SHA-256":
		return sha256.New()
	case "SHA-384":
		return sha512.New384()
	case "SHA-512":
		return sha512.New()
	}
	return nil
}
