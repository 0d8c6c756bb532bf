package asl

import (
	"strings"
	"testing"
)

// TestJSONataRecursion checks that an expression that recurses for ever
// fails the state with U1001, as the reference implementation does,
// instead of overflowing the Go stack (which would kill the process), and
// that functions which end still work.
func TestJSONataRecursion(t *testing.T) {
	tests := []struct {
		name, expr string
		want       string // the output, or "" for U1001
	}{
		{"endless self call", `($f := function($x){ $f($x + 1) }; $f(1))`, ""},
		{"endless without a name", `($y := function($f){ $f($f) }; $y($y))`, ""},
		{"endless typed function", `($f := function($x)<n:n>{ $f($x) }; $f(1))`, ""},
		{"endless shorthand inside an object", `{"a": ($f := λ($x){ [$f($x)] }; $f(0))}`, ""},
		{"recursion that ends, 3000 deep", `($f := function($x){ $x >= 3000 ? $x : $f($x + 1) }; $f(1))`, "3000"},
		{"function returning a function", `($add := function($a){ function($b){ $a + $b } }; $add(1)(2))`, "3"},
		{"map over many items", `$sum($map([1..20000], function($v){ $v * 2 }))`, "400020000"},
		{"no function at all", `$sum([1, 2, 3])`, "6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Output": "{% ` +
				strings.ReplaceAll(tt.expr, `"`, `\"`) + ` %}", "End": true}}}`
			ex := mustRun(t, def, `{}`, Options{})
			if tt.want == "" {
				if ex.Status != StatusFailed || ex.Error != StatesQueryEvaluationError || !strings.Contains(ex.Cause, "U1001: Stack overflow error") {
					t.Errorf("Run(%s) = %s %s %q, want FAILED %s with U1001", tt.expr, ex.Status, ex.Error, ex.Cause, StatesQueryEvaluationError)
				}
				return
			}
			got := string(ex.Output)
			if ex.Status != StatusSucceeded || got != tt.want {
				t.Errorf("Run(%s) = %s %s %q, output %s; want SUCCEEDED %s", tt.expr, ex.Status, ex.Error, ex.Cause, got, tt.want)
			}
		})
	}
}
