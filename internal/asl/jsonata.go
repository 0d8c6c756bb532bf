package asl

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"sync"

	jsonata "github.com/blues/jsonata-go"
	"github.com/blues/jsonata-go/jtypes"
)

// The JSONata engine is github.com/blues/jsonata-go, a Go port of the
// reference implementation at version 1.5.4. Step Functions runs JSONata
// 2.0.6 without $eval and with functions of its own; registerAWSFunctions
// adds those ($partition, $range, $hash, $random with a seed, $uuid and
// $parse). The 2.0 additions the port lacks (the parent operator %, the
// @ and # bindings, $single, word forms in $formatInteger) are listed in
// doc.go as known differences.

// jsonataExpr is one JSONata expression: the text between {% and %}.
type jsonataExpr struct {
	text      string
	singleton bool // the whole expression is a call of $range
}

var (
	registerOnce sync.Once
	jsonataMu    sync.Mutex // serialises evaluations; see eval
)

// compileJSONata checks a JSONata expression.
func compileJSONata(text string) (*jsonataExpr, error) {
	registerOnce.Do(registerAWSFunctions)
	if strings.Contains(text, "$eval(") {
		return nil, errors.New("the JSONata function $eval is not supported by Step Functions")
	}
	if _, err := jsonata.Compile(text); err != nil {
		return nil, fmt.Errorf("invalid JSONata expression '%s': %v", text, err)
	}
	t := strings.TrimSpace(text)
	single := strings.HasPrefix(t, "$range(") && strings.HasSuffix(t, ")")
	return &jsonataExpr{text: text, singleton: single}, nil
}

// errUndefined is an expression that returned nothing.
var errUndefined = errors.New("undefined")

// eval evaluates e with $states and the variables bound. Each evaluation
// compiles the expression afresh: the port binds variables on the compiled
// expression, which is not safe to share between goroutines.
func (e *jsonataExpr) eval(states map[string]any, vars map[string]any) (any, error) {
	x, err := jsonata.Compile(e.text)
	if err != nil {
		return nil, err
	}
	if strings.Contains(e.text, "function") || strings.Contains(e.text, "λ") {
		if err := guardRecursion(x); err != nil {
			return nil, err
		}
	}
	bound := make(map[string]any, len(vars)+1)
	for k, v := range vars {
		bound[k] = toJSONata(v)
	}
	bound["states"] = toJSONata(states)
	if err := x.RegisterVars(bound); err != nil {
		return nil, err
	}
	// The port's built-in functions are shared objects that it modifies
	// as it calls them, so evaluations cannot run at once.
	jsonataMu.Lock()
	v, err := x.Eval(nil)
	jsonataMu.Unlock()
	if errors.Is(err, jsonata.ErrUndefined) {
		return nil, errUndefined
	}
	if err != nil {
		return nil, err
	}
	out, err := fromJSONata(v)
	if a, ok := out.([]any); ok && len(a) == 1 && e.singleton {
		// A function of Step Functions' own returns a sequence, which
		// JSONata unwraps when it holds one value.
		return a[0], err
	}
	return out, err
}

// toJSONata converts an engine value for the port: numbers become
// float64, as JSONata's numbers are JavaScript's.
func toJSONata(v any) any {
	switch v := v.(type) {
	case nil:
		return jsonataNull
	case json.Number:
		f, _ := strconv.ParseFloat(string(v), 64)
		return f
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = toJSONata(e)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = toJSONata(e)
		}
		return a
	}
	return v
}

// jsonataNull is how the port represents JSON null.
var jsonataNull *any

// errUnsupportedType is a result that is not JSON (a function, say).
var errUnsupportedType = errors.New("unsupported result type")

// fromJSONata converts a result of the port back to an engine value.
func fromJSONata(v any) (any, error) {
	switch v := v.(type) {
	case nil, string, bool:
		return v, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errUnsupportedType
		}
		return jsNumber(v), nil
	case int:
		return number(v), nil
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), nil
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			c, err := fromJSONata(e)
			if err != nil {
				return nil, err
			}
			m[k] = c
		}
		return m, nil
	case []any:
		a := make([]any, 0, len(v))
		for _, e := range v {
			c, err := fromJSONata(e)
			if err != nil {
				return nil, err
			}
			a = append(a, c)
		}
		return a, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return fromJSONata(rv.Elem().Interface())
	case reflect.Slice:
		a := make([]any, 0, rv.Len())
		for i := range rv.Len() {
			c, err := fromJSONata(rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			a = append(a, c)
		}
		return a, nil
	case reflect.Map:
		m := make(map[string]any, rv.Len())
		for _, k := range rv.MapKeys() {
			c, err := fromJSONata(rv.MapIndex(k).Interface())
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k.Interface())] = c
		}
		return m, nil
	case reflect.Float32, reflect.Float64:
		return fromJSONata(rv.Float())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(rv.Int(), 10)), nil
	}
	return nil, errUnsupportedType
}

// jsNumber renders a float as JavaScript's Number.prototype.toString does.
func jsNumber(f float64) json.Number {
	if f == 0 {
		return "0"
	}
	s := strconv.FormatFloat(math.Abs(f), 'e', -1, 64) // d.ddde±XX
	mant, expText, _ := strings.Cut(s, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	n := exp + 1 // position of the decimal point
	k := len(digits)
	var out string
	switch {
	case k <= n && n <= 21:
		out = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		out = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		out = "0." + strings.Repeat("0", -n) + digits
	default:
		out = digits[:1]
		if k > 1 {
			out += "." + digits[1:]
		}
		sign := "+"
		if n-1 < 0 {
			sign = "-"
		}
		out += "e" + sign + strconv.Itoa(int(math.Abs(float64(n-1))))
	}
	if f < 0 {
		out = "-" + out
	}
	return json.Number(out)
}

// jsonataErrorText words an evaluation error as the reference
// implementation does, with its error code, which Step Functions passes
// on in the cause.
func jsonataErrorText(err error) string {
	var ee *jsonata.EvalError
	if errors.As(err, &ee) {
		switch ee.Type {
		case jsonata.ErrNonCallable, jsonata.ErrNonCallableApply, jsonata.ErrNonCallablePartial:
			return "T1006: Attempted to invoke a non-function"
		case jsonata.ErrNonNumberLHS:
			return fmt.Sprintf("T2001: The left side of the %s operator must evaluate to a number", ee.Value)
		case jsonata.ErrNonNumberRHS:
			return fmt.Sprintf("T2002: The right side of the %s operator must evaluate to a number", ee.Value)
		case jsonata.ErrNonComparableLHS, jsonata.ErrNonComparableRHS:
			return fmt.Sprintf("T2010: The expressions either side of operator %s must evaluate to numeric or string values", ee.Value)
		case jsonata.ErrTypeMismatch:
			return fmt.Sprintf("T2009: The values either side of operator %s must be of the same data type", ee.Value)
		case jsonata.ErrNumberInf, jsonata.ErrNumberNaN:
			return "D1001: Number out of range"
		}
		return ee.Error()
	}
	var ae *jsonata.ArgTypeError
	if errors.As(err, &ae) {
		return fmt.Sprintf("T0410: Argument %d of function %s does not match function signature", ae.Which, strings.TrimPrefix(ae.Func, "$"))
	}
	var ce *jsonata.ArgCountError
	if errors.As(err, &ce) {
		return fmt.Sprintf("T0410: Argument %d of function %s does not match function signature", ce.Received, strings.TrimPrefix(ce.Func, "$"))
	}
	var fe *awsFunctionError
	if errors.As(err, &fe) {
		return fe.msg
	}
	return err.Error()
}

// awsFunctionError is an error raised by one of Step Functions' own
// JSONata functions.
type awsFunctionError struct{ msg string }

func (e *awsFunctionError) Error() string { return e.msg }

func registerAWSFunctions() {
	fail := func(format string, a ...any) error { return &awsFunctionError{fmt.Sprintf(format, a...)} }
	exts := map[string]jsonata.Extension{
		"partition": {Func: func(arr any, size float64) ([]any, error) {
			a, ok := arr.([]any)
			if !ok {
				a = []any{arr}
			}
			if size <= 0 || size != math.Trunc(size) {
				return nil, fail("The chunk size must be a positive integer, got %v", size)
			}
			n := int(size)
			out := []any{}
			for i := 0; i < len(a); i += n {
				out = append(out, a[i:min(len(a), i+n)])
			}
			return out, nil
		}},
		"range": {Func: func(start, end, step float64) ([]any, error) {
			if step == 0 || start != math.Trunc(start) || end != math.Trunc(end) || step != math.Trunc(step) {
				return nil, fail("The start, end and step of $range must be integers, and the step not 0")
			}
			out := []any{}
			for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
				if len(out) == 1000 {
					return nil, fail("The range has more than 1000 elements")
				}
				out = append(out, v)
			}
			return out, nil
		}},
		"hash": {Func: func(data any, alg string) (string, error) {
			h := newHash(alg)
			if h == nil {
				return "", fail("The algorithm %s is not supported; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512", alg)
			}
			s, ok := data.(string)
			if !ok {
				b, _ := json.Marshal(data)
				s = string(b)
			}
			h.Write([]byte(s))
			return hex.EncodeToString(h.Sum(nil)), nil
		}},
		"random": {Func: func(seed jtypes.OptionalFloat64) float64 {
			if seed.IsSet() {
				return mrand.New(mrand.NewPCG(uint64(int64(seed.Float64)), 0)).Float64()
			}
			return mrand.Float64()
		}},
		"uuid": {Func: func() string { return newUUID() }},
		"parse": {Func: func(s string) (any, error) {
			v, err := decodeJSON([]byte(s))
			if err != nil {
				return nil, fail("The input to $parse is not JSON: %v", err)
			}
			return toJSONata(v), nil
		}},
	}
	if err := jsonata.RegisterExts(exts); err != nil {
		panic(err) // the functions above are fixed; this cannot fail
	}
}
