package asl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// choiceCases is testdata/choice_cases.json: the Choice operator cases
// LocalStack recorded against AWS (see testdata/NOTICE).
type choiceCases struct {
	Tests []struct {
		Operator  string `json:"operator"`
		ValueMode string `json:"value_mode"`
		Cases     []struct {
			Index          int             `json:"index"`
			Input          json.RawMessage `json:"input"`
			ChoiceRule     json.RawMessage `json:"choice_rule"`
			ExpectedBranch string          `json:"expected_branch"`
		} `json:"cases"`
	} `json:"tests"`
}

// TestChoiceOperatorsAgainstAWS runs every recorded Choice operator case
// through the template the recording used: a Choice whose one rule leads
// to ConditionTrue, with ConditionFalse as the Default.
func TestChoiceOperatorsAgainstAWS(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "choice_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cc choiceCases
	if err := json.Unmarshal(data, &cc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, test := range cc.Tests {
		for _, c := range test.Cases {
			n++
			name := fmt.Sprintf("%s/%s/%d", test.Operator, test.ValueMode, c.Index)
			t.Run(name, func(t *testing.T) {
				def := fmt.Sprintf(`{
					"StartAt": "CheckValues",
					"States": {
						"CheckValues": {"Type": "Choice", "Choices": [%s], "Default": "ConditionFalse"},
						"ConditionTrue": {"Type": "Pass", "Result": {"TestResult.$": "ConditionTrue"}, "End": true},
						"ConditionFalse": {"Type": "Pass", "Result": {"TestResult.$": "ConditionFalse"}, "End": true}
					}
				}`, c.ChoiceRule)
				ex := mustRun(t, def, string(c.Input), Options{})
				if ex.Status != StatusSucceeded {
					t.Fatalf("Run(%s, %s) status = %s (%s: %s), want SUCCEEDED", c.ChoiceRule, c.Input, ex.Status, ex.Error, ex.Cause)
				}
				want := fmt.Sprintf(`{"TestResult.$":%q}`, c.ExpectedBranch)
				if string(ex.Output) != want {
					t.Errorf("Run(%s, %s) output = %s, want %s", c.ChoiceRule, c.Input, ex.Output, want)
				}
			})
		}
	}
	if n != 491 {
		t.Errorf("ran %d choice cases, want 491", n)
	}
}
