package pipeline

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/statemachine"
)

// TestTasksMatchTheDefinitions checks Tasks against statemachine/*.asl.json:
// every Task state is in it, invokes the function it names (by the
// placeholder of its ARN) with the action it names, and every function it
// names is one of Functions.
func TestTasksMatchTheDefinitions(t *testing.T) {
	subs := map[string]string{}
	placeholder := map[string]string{}
	for _, f := range Functions {
		subs[f.Placeholder] = "fn:" + f.Name
		placeholder[f.Name] = f.Placeholder
	}
	for _, tk := range Tasks {
		if _, ok := placeholder[tk.Function]; !ok {
			t.Errorf("Tasks names function %q, which is not in Functions", tk.Function)
		}
	}
	for name, def := range map[string][]byte{"deploy": statemachine.Deploy, "rollback": statemachine.Rollback} {
		raw, err := asl.Substitute(def, subs)
		if err != nil {
			t.Fatal(err)
		}
		sm, err := asl.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		sm.Walk(func(path []string, s *asl.State) {
			if s.Type != "Task" {
				return
			}
			var p struct {
				Parameters struct {
					Action       string `json:"action"`
					FunctionName string
				}
			}
			if err := json.Unmarshal(s.Raw, &p); err != nil {
				t.Fatalf("%s: %s: %v", name, s.Name, err)
			}
			fn := s.Resource
			if p.Parameters.FunctionName != "" { // lambda:invoke.waitForTaskToken
				fn = p.Parameters.FunctionName
			}
			got := Task{Function: strings.TrimPrefix(fn, "fn:"), Action: p.Parameters.Action}
			want, ok := Tasks[s.Name]
			if !ok {
				t.Errorf("%s: Task state %s (function %s, action %q) is not in pipeline.Tasks", name, strings.Join(path, "/"), got.Function, got.Action)
				return
			}
			if got.Function != want.Function || got.Action != want.Action {
				t.Errorf("%s: Task state %s runs %s %q, pipeline.Tasks says %s %q", name, s.Name, got.Function, got.Action, want.Function, want.Action)
			}
			if want.Stage == "" {
				t.Errorf("pipeline.Tasks[%s] has no stage", s.Name)
			}
		})
	}
}
