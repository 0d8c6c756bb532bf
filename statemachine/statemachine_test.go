package statemachine_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/statemachine"
)

// TestDefinitions parses every statemachine/*.asl.json and checks that every
// placeholder names a known function, every custom ErrorEquals is an
// exported error type of the contract, and every state is reachable.
func TestDefinitions(t *testing.T) {
	files, err := filepath.Glob("*.asl.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no definitions found: %v", err)
	}
	known := map[string]bool{}
	subs := map[string]string{}
	for _, f := range localenv.Functions {
		known[f.Placeholder] = true
		subs[f.Placeholder] = localenv.ARN(f.Name)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			phs := asl.Placeholders(raw)
			if len(phs) == 0 {
				t.Errorf("%s has no ${...FunctionArn} placeholders", file)
			}
			for _, p := range phs {
				if !known[p] {
					t.Errorf("%s: placeholder ${%s} is not a known function (localenv.Functions)", file, p)
				}
			}
			def, err := asl.Substitute(raw, subs)
			if err != nil {
				t.Fatalf("Substitute: %v", err)
			}
			sm, err := asl.Parse(def)
			if err != nil {
				t.Fatalf("Parse(%s): %v", file, err)
			}
			if u := sm.Unreachable(); len(u) > 0 {
				t.Errorf("%s: unreachable states %v", file, u)
			}
			sm.Walk(func(path []string, s *asl.State) {
				var lists [][]string
				for _, r := range s.Retry {
					lists = append(lists, r.ErrorEquals)
				}
				for _, c := range s.Catch {
					lists = append(lists, c.ErrorEquals)
				}
				for _, l := range lists {
					for _, e := range l {
						if strings.HasPrefix(e, "States.") || strings.HasPrefix(e, "Lambda.") {
							continue // Step Functions' and Lambda's own errors
						}
						if !slices.Contains(contract.ErrorNames, e) {
							t.Errorf("%s: state %s: ErrorEquals %q is not an error type in internal/contract", file, strings.Join(path, "/"), e)
						}
					}
				}
				if s.Type == "Task" {
					fn := s.Resource
					if strings.HasPrefix(fn, "arn:aws:states:::lambda:invoke") {
						var raw struct {
							Parameters struct{ FunctionName string }
						}
						json.Unmarshal(s.Raw, &raw)
						fn = raw.Parameters.FunctionName
					}
					if !strings.HasPrefix(fn, "arn:aws:lambda:local:") {
						t.Errorf("%s: state %s: resource %q (function %q) is not a substituted function placeholder", file, s.Name, s.Resource, fn)
					}
				}
			})
		})
	}
}

// TestEveryStageCatches checks the rule that every Task of the deploy
// machine has a Catch for States.ALL and retries TransientError.
func TestEveryStageCatches(t *testing.T) {
	sm, err := asl.Parse(mustSubstitute(t, statemachine.Deploy))
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range sm.States {
		if s.Type != "Task" {
			continue
		}
		var catchesAll, retriesTransient bool
		for _, c := range s.Catch {
			catchesAll = catchesAll || slices.Contains(c.ErrorEquals, "States.ALL")
		}
		for _, r := range s.Retry {
			retriesTransient = retriesTransient || slices.Contains(r.ErrorEquals, "TransientError")
		}
		if !catchesAll || !retriesTransient {
			t.Errorf("task %s: catches States.ALL = %v, retries TransientError = %v; want both", name, catchesAll, retriesTransient)
		}
	}
}

func mustSubstitute(t *testing.T, def []byte) []byte {
	t.Helper()
	subs := map[string]string{}
	for _, f := range localenv.Functions {
		subs[f.Placeholder] = localenv.ARN(f.Name)
	}
	out, err := asl.Substitute(def, subs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
