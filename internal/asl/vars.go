package asl

import (
	"fmt"
	"sync"
)

// varScope holds the variables (Assign) one thread can see: its own, and
// through parent those of the states around it. A Parallel branch and a
// Map iteration each get a child scope, so what they assign stays inside
// them, while they still read the variables of the outer scope.
type varScope struct {
	parent *varScope
	mu     sync.RWMutex
	vals   map[string]any
}

// child returns a new scope nested in v.
func (v *varScope) child() *varScope { return &varScope{parent: v} }

// get looks a variable up, innermost scope first.
func (v *varScope) get(name string) (any, bool) {
	for s := v; s != nil; s = s.parent {
		s.mu.RLock()
		val, ok := s.vals[name]
		s.mu.RUnlock()
		if ok {
			return val, true
		}
	}
	return nil, false
}

// set assigns the variables in m, all at once, in v.
func (v *varScope) set(m map[string]any) {
	if len(m) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.vals == nil {
		v.vals = make(map[string]any, len(m))
	}
	for k, val := range m {
		v.vals[k] = val
	}
}

// all returns every variable visible from v, inner ones hiding outer ones.
func (v *varScope) all() map[string]any {
	out := map[string]any{}
	var chain []*varScope
	for s := v; s != nil; s = s.parent {
		chain = append(chain, s)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		s := chain[i]
		s.mu.RLock()
		for k, val := range s.vals {
			out[k] = val
		}
		s.mu.RUnlock()
	}
	return out
}

// undefinedVariableError is a path that names a variable no state has
// assigned.
type undefinedVariableError struct{ name string }

func (e *undefinedVariableError) Error() string {
	return fmt.Sprintf("The variable '$%s' is not defined", e.name)
}
