package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStateMachineDefinitions reads each state machine's definition as it
// will be uploaded (the asset in the assembly), applies its
// DefinitionSubstitutions as CloudFormation does, and checks that no
// placeholder is left and that every Task calls one of the machine's own
// functions.
func TestStateMachineDefinitions(t *testing.T) {
	s := synth(t)
	machines := s.ofType("AWS::StepFunctions::StateMachine")
	if len(machines) != len(s.stack.Repo.Definitions) {
		t.Fatalf("%d state machines, want %d", len(machines), len(s.stack.Repo.Definitions))
	}
	for id, m := range machines {
		name := strings.TrimSuffix(strings.TrimSuffix(s.name(id), "StateMachine"), "")
		t.Run(name, func(t *testing.T) {
			p := m.props()
			if got, want := p["StateMachineName"], "slipway-demo-"+strings.ToLower(name); got != want {
				t.Errorf("StateMachineName = %v, want %s", got, want)
			}
			if got := fmt.Sprint(p["TracingConfiguration"]); got != "map[Enabled:true]" {
				t.Errorf("TracingConfiguration = %s", got)
			}
			logging := s.resolve(p["LoggingConfiguration"]).(map[string]any)
			if logging["Level"] != "ALL" || logging["IncludeExecutionData"] != true ||
				fmt.Sprint(logging["Destinations"]) != "[map[CloudWatchLogsLogGroup:map[LogGroupArn:<"+name+"StateMachineLogs.Arn>]]]" {
				t.Errorf("LoggingConfiguration = %v", logging)
			}
			if _, inline := p["DefinitionString"]; inline {
				t.Errorf("definition is inline; want DefinitionS3Location (DefinitionBody.fromFile)")
			}
			key := p["DefinitionS3Location"].(map[string]any)["Key"].(string)
			raw, err := os.ReadFile(filepath.Join(s.outdir, "asset."+key))
			if err != nil {
				t.Fatalf("read the definition asset: %v", err)
			}
			src, err := os.ReadFile(s.stack.Repo.Definitions[strings.ToLower(name)].Path)
			if err != nil {
				t.Fatal(err)
			}
			if string(raw) != string(src) {
				t.Errorf("the uploaded definition differs from statemachine/%s.asl.json", strings.ToLower(name))
			}
			// Substitute as CloudFormation does, with each function's ARN.
			subs := p["DefinitionSubstitutions"].(map[string]any)
			arns := map[string]bool{}
			def := string(raw)
			for k, v := range subs {
				ref := fmt.Sprint(s.resolve(v)) // <XFunction.Arn>
				fn := strings.TrimSuffix(strings.TrimPrefix(ref, "<"), "Function.Arn>")
				arn := "arn:aws:lambda:eu-west-1:111111111111:function:slipway-demo-" + strings.ToLower(fn)
				if k != PlaceholderFor(strings.ToLower(fn)) {
					t.Errorf("substitution %s = %s, want its own function", k, ref)
				}
				arns[arn] = true
				def = strings.ReplaceAll(def, "${"+k+"}", arn)
			}
			if left := regexp.MustCompile(`\$\{[^}]*\}`).FindAllString(def, -1); len(left) > 0 {
				t.Errorf("placeholders left after substitution: %v", left)
			}
			if strings.Contains(def, "${") {
				t.Errorf("\"${\" left after substitution")
			}
			var doc struct {
				States map[string]struct {
					Type       string `json:"Type"`
					Resource   string `json:"Resource"`
					Parameters struct {
						FunctionName string `json:"FunctionName"`
					} `json:"Parameters"`
				} `json:"States"`
			}
			if err := json.Unmarshal([]byte(def), &doc); err != nil {
				t.Fatalf("definition after substitution is not JSON: %v", err)
			}
			called := map[string]bool{}
			for state, st := range doc.States {
				if st.Type != "Task" {
					continue
				}
				fn := st.Resource
				if strings.HasPrefix(fn, "arn:aws:states:::lambda:invoke") {
					fn = st.Parameters.FunctionName // the lambda:invoke integration, e.g. with .waitForTaskToken
				}
				if !arns[fn] {
					t.Errorf("state %s calls %s, not one of this state machine's functions", state, fn)
				}
				called[fn] = true
			}
			var unused []string
			for a := range arns {
				if !called[a] {
					unused = append(unused, a)
				}
			}
			sort.Strings(unused)
			if diff := cmp.Diff([]string(nil), unused); diff != "" {
				t.Errorf("substitutions no Task uses (-want +got):\n%s", diff)
			}
		})
	}
}
