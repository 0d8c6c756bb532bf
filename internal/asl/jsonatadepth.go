package asl

import (
	"errors"
	"reflect"
	"runtime"
	"unsafe"

	jsonata "github.com/blues/jsonata-go"
	"github.com/blues/jsonata-go/jparse"
)

// The JSONata port evaluates a function call by recursing in Go, with no
// limit of its own, so an expression that recurses for ever, such as
// ($f := function($x){ $f($x) }; $f(1)), overflows the goroutine's stack,
// which kills the process. The reference implementation stops it with
// error U1001. guardRecursion gives the port the same stop: it makes every
// function the expression defines first call $slipwayDepth, which fails
// once the Go stack is jsonataMaxFrames deep.

// jsonataMaxFrames is the deepest Go stack, in frames, at which a JSONata
// function may start: more than 5,000 nested calls of a small function
// (the reference implementation, on V8, stops at a few thousand), far
// from the goroutine's 1 GB limit.
const jsonataMaxFrames = 50000

// depthFrames receives the stack for the depth check. Evaluations are
// serialised by jsonataMu, so one buffer (and one counter) serves them
// all.
var depthFrames = make([]uintptr, jsonataMaxFrames)

var jparsePkg = reflect.TypeFor[jparse.LambdaNode]().PkgPath()

// errStackOverflow is the reference implementation's error U1001.
var errStackOverflow = &awsFunctionError{"U1001: Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive."}

// depthCalls counts the calls of $slipwayDepth. Walking the stack costs
// its depth, so only one call in depthEvery looks: a function call adds a
// handful of frames, far fewer than the margin to the goroutine's limit.
var depthCalls int

const depthEvery = 64

var depthExt = map[string]jsonata.Extension{"slipwayDepth": {Func: func() (bool, error) {
	depthCalls++
	if depthCalls%depthEvery == 0 && runtime.Callers(0, depthFrames) >= jsonataMaxFrames {
		return false, errStackOverflow
	}
	return true, nil
}}}

// guardRecursion installs the depth check in every function that x's
// expression defines. x must not have been evaluated yet.
func guardRecursion(x *jsonata.Expr) error {
	field := reflect.ValueOf(x).Elem().FieldByName("node")
	if !field.IsValid() || field.Type() != reflect.TypeFor[jparse.Node]() {
		return errors.New("the JSONata port's Expr has no node field: update guardRecursion for its version")
	}
	root, _ := reachable(field).Interface().(jparse.Node)
	if root == nil {
		return nil
	}
	if !guardLambdas(reflect.ValueOf(root)) {
		return nil // no function defined: nothing can recurse
	}
	return x.RegisterExts(depthExt)
}

// reachable returns a view of v, a field read through reflection, that can
// be read and set although the field is unexported.
func reachable(v reflect.Value) reflect.Value {
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// guardLambdas walks the syntax tree from v and wraps the body of every
// function definition in it as ($slipwayDepth(); body). It reports whether
// it found one.
func guardLambdas(v reflect.Value) bool {
	found := false
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			found = guardLambdas(v.Elem())
		}
	case reflect.Pointer:
		if v.IsNil() {
			return false
		}
		if ln, ok := v.Interface().(*jparse.LambdaNode); ok {
			guardLambdas(reflect.ValueOf(ln.Body))
			ln.Body = &jparse.BlockNode{Exprs: []jparse.Node{
				&jparse.FunctionCallNode{Func: &jparse.VariableNode{Name: "slipwayDepth"}},
				ln.Body,
			}}
			return true
		}
		// Only the syntax tree's own nodes: not, say, a RegexNode's
		// compiled *regexp.Regexp.
		if v.Elem().Kind() == reflect.Struct && v.Type().Elem().PkgPath() == jparsePkg {
			found = guardLambdas(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Field(i)
			if !f.CanInterface() {
				if !f.CanAddr() {
					continue
				}
				f = reachable(f)
			}
			found = guardLambdas(f) || found
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			found = guardLambdas(v.Index(i)) || found
		}
	}
	return found
}
