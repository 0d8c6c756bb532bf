package asl

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ChoiceRule is one rule of a Choice state: a comparison of Variable with
// Operator, or an And, Or or Not of nested rules. Only top-level rules have
// a Next.
type ChoiceRule struct {
	Next     string
	Variable string
	Operator string // e.g. "StringEquals"; empty for And, Or and Not
	And      []*ChoiceRule
	Or       []*ChoiceRule
	Not      *ChoiceRule

	variable      *path
	assign        *payload         // JSONPath Assign of a top-level rule
	condition     *jsonataTemplate // JSONata Condition
	jsonataAssign *jsonataTemplate // JSONata Assign of a top-level rule
	jsonataOutput *jsonataTemplate // JSONata Output of a top-level rule
	value         any              // the operator's literal operand
	valuePath     *path            // the operand of a ...Path operator
	matcher       *regexp.Regexp
}

// operandKind is what a comparison operator takes as its operand.
type operandKind uint8

const (
	operandString operandKind = iota
	operandNumber
	operandBoolean
	operandTimestamp
	operandPath
)

// choiceOperators maps every comparison operator to its operand.
var choiceOperators = map[string]operandKind{
	"StringEquals":                   operandString,
	"StringEqualsPath":               operandPath,
	"StringLessThan":                 operandString,
	"StringLessThanPath":             operandPath,
	"StringGreaterThan":              operandString,
	"StringGreaterThanPath":          operandPath,
	"StringLessThanEquals":           operandString,
	"StringLessThanEqualsPath":       operandPath,
	"StringGreaterThanEquals":        operandString,
	"StringGreaterThanEqualsPath":    operandPath,
	"StringMatches":                  operandString,
	"NumericEquals":                  operandNumber,
	"NumericEqualsPath":              operandPath,
	"NumericLessThan":                operandNumber,
	"NumericLessThanPath":            operandPath,
	"NumericGreaterThan":             operandNumber,
	"NumericGreaterThanPath":         operandPath,
	"NumericLessThanEquals":          operandNumber,
	"NumericLessThanEqualsPath":      operandPath,
	"NumericGreaterThanEquals":       operandNumber,
	"NumericGreaterThanEqualsPath":   operandPath,
	"BooleanEquals":                  operandBoolean,
	"BooleanEqualsPath":              operandPath,
	"TimestampEquals":                operandTimestamp,
	"TimestampEqualsPath":            operandPath,
	"TimestampLessThan":              operandTimestamp,
	"TimestampLessThanPath":          operandPath,
	"TimestampGreaterThan":           operandTimestamp,
	"TimestampGreaterThanPath":       operandPath,
	"TimestampLessThanEquals":        operandTimestamp,
	"TimestampLessThanEqualsPath":    operandPath,
	"TimestampGreaterThanEquals":     operandTimestamp,
	"TimestampGreaterThanEqualsPath": operandPath,
	"IsNull":                         operandBoolean,
	"IsPresent":                      operandBoolean,
	"IsNumeric":                      operandBoolean,
	"IsString":                       operandBoolean,
	"IsBoolean":                      operandBoolean,
	"IsTimestamp":                    operandBoolean,
}

// choicePathError is a Variable or ...Path operand that selects nothing.
type choicePathError struct{ path string }

func (e *choicePathError) Error() string {
	return fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", e.path)
}

// parseTimestamp parses an ISO-8601 extended offset date-time, the format
// Step Functions accepts for timestamps, e.g. 2016-03-14T01:59:00Z.
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) < 20 || (s[10] != 'T') {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// compileMatcher turns a StringMatches pattern into a regular expression:
// * matches any run of characters, \* a star and \\ a backslash.
func compileMatcher(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	var lit strings.Builder
	flush := func() {
		b.WriteString(regexp.QuoteMeta(lit.String()))
		lit.Reset()
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern) && (pattern[i+1] == '*' || pattern[i+1] == '\\'):
			lit.WriteByte(pattern[i+1])
			i++
		case c == '*':
			flush()
			b.WriteString(".*")
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

// eval reports whether the rule matches. It fails with a *choicePathError
// when a path the rule needs selects nothing.
func (r *ChoiceRule) eval(sc *scope) (bool, error) {
	switch {
	case r.And != nil:
		for _, sub := range r.And {
			ok, err := sub.eval(sc)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.Or != nil:
		for _, sub := range r.Or {
			ok, err := sub.eval(sc)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.Not != nil:
		ok, err := r.Not.eval(sc)
		return !ok && err == nil, err
	}
	v, err := sc.resolve(r.variable)
	if r.Operator == "IsPresent" {
		return (err == nil) == r.value.(bool), nil
	}
	if err != nil {
		return false, &choicePathError{r.Variable}
	}
	operand := r.value
	if r.valuePath != nil {
		operand, err = sc.resolve(r.valuePath)
		if err != nil {
			return false, &choicePathError{r.valuePath.text}
		}
	}
	op := strings.TrimSuffix(r.Operator, "Path")
	switch op {
	case "IsNull":
		return (v == nil) == operand.(bool), nil
	case "IsNumeric":
		return isNumber(v) == operand.(bool), nil
	case "IsString":
		_, ok := v.(string)
		return ok == operand.(bool), nil
	case "IsBoolean":
		_, ok := v.(bool)
		return ok == operand.(bool), nil
	case "IsTimestamp":
		s, ok := v.(string)
		if ok {
			_, ok = parseTimestamp(s)
		}
		return ok == operand.(bool), nil
	case "StringMatches":
		s, ok := v.(string)
		return ok && r.matcher.MatchString(s), nil
	case "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b, nil
	}
	var c int
	switch {
	case strings.HasPrefix(op, "String"):
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		c = strings.Compare(a, b)
	case strings.HasPrefix(op, "Numeric"):
		if !isNumber(v) || !isNumber(operand) {
			return false, nil
		}
		var ok bool
		if c, ok = compareNumbers(v, operand); !ok {
			return false, nil
		}
	case strings.HasPrefix(op, "Timestamp"):
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		ta, ok1 := parseTimestamp(a)
		tb, ok2 := parseTimestamp(b)
		if !ok1 || !ok2 {
			return false, nil
		}
		c = ta.Compare(tb)
	default:
		return false, nil
	}
	switch {
	case strings.HasSuffix(op, "LessThanEquals"):
		return c <= 0, nil
	case strings.HasSuffix(op, "GreaterThanEquals"):
		return c >= 0, nil
	case strings.HasSuffix(op, "LessThan"):
		return c < 0, nil
	case strings.HasSuffix(op, "GreaterThan"):
		return c > 0, nil
	default: // Equals
		return c == 0, nil
	}
}
