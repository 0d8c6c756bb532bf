package conformance

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPinned replays every case that passed when testdata/pinned.json was
// written, so that none can regress. It needs nothing outside the
// repository.
func TestPinned(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "pinned.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []*Case
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 1000 {
		t.Fatalf("pinned.json holds %d cases, want at least 1000", len(cases))
	}
	results := ReplayAll(context.Background(), cases, 2)
	for _, r := range results {
		if r.Status != Pass {
			t.Errorf("%s: %s", r.ID, r.Reason)
		}
	}
}

func TestJSON5ToJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain JSON", `{"a": [1, 2.5e-3, true, null]}`, `{"a":[1,0.0025,true,null]}`},
		{"comments", "{\n  // a comment\n  \"a\": 1, /* another */ \"b\": \"//not a comment\"\n}", `{"a":1,"b":"//not a comment"}`},
		{"trailing commas", `{"a": [1, 2,], "b": {"c": 3,},}`, `{"a":[1,2],"b":{"c":3}}`},
		{"unquoted keys", `{StartAt: "S", $x: 1}`, `{"$x":1,"StartAt":"S"}`},
		{"single quotes", `{'a': 'it\'s', 'b': 'say "hi"'}`, `{"a":"it's","b":"say \"hi\""}`},
		{"negative and exponent numbers", `{"n": -1.5E+2}`, `{"n":-150}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := JSON5ToJSON([]byte(tt.in))
			if err != nil {
				t.Fatalf("JSON5ToJSON(%s) error: %v", tt.in, err)
			}
			var v any
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("JSON5ToJSON(%s) = %s, not JSON: %v", tt.in, out, err)
			}
			got, _ := json.Marshal(v)
			if string(got) != tt.want {
				t.Errorf("JSON5ToJSON(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestApplyPatches(t *testing.T) {
	def := []byte(`{"StartAt": "S", "States": {"S": {"Type": "Pass", "Result": "%PLACEHOLDER%", "Catch": [{"ErrorEquals": ["A"]}], "End": true}}}`)
	str := func(s string) *string { return &s }
	no := false
	patches := []Patch{
		{Op: "set", Path: []any{"States", "S", "Comment"}, Value: json.RawMessage(`"set"`)},
		{Op: "update", Path: []any{"States", "S"}, Args: json.RawMessage(`[{"ResultPath": "$.r"}]`)},
		{Op: "append", Path: []any{"States", "S", "Catch", float64(0), "ErrorEquals"}, Args: json.RawMessage(`["B"]`)},
		{Op: "delete", Path: []any{"States", "S", "End"}},
		{Op: "replace_text", Old: "%PLACEHOLDER%", New: str("replaced")},
		{Op: "replace_text", Old: "Pass", New: str("Fail"), Applies: &no},
	}
	out, err := ApplyPatches(def, patches, nil)
	if err != nil {
		t.Fatalf("ApplyPatches() error: %v", err)
	}
	var got any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	var want any
	_ = json.Unmarshal([]byte(`{"StartAt": "S", "States": {"S": {"Type": "Pass", "Result": "replaced", "Comment": "set",
		"ResultPath": "$.r", "Catch": [{"ErrorEquals": ["A", "B"]}]}}}`), &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ApplyPatches() mismatch (-want +got):\n%s", diff)
	}
	unknown := []Patch{{Op: "set", Path: []any{"States", "S", "Resource"}, Known: &no}}
	if _, err := ApplyPatches(def, unknown, nil); err == nil {
		t.Error("ApplyPatches() with an unknown value: no error, want one")
	}
}

func TestMaskedEqual(t *testing.T) {
	tests := []struct {
		name      string
		want, got any
		equal     bool
	}{
		{"whole mask", "date", "2024-01-01T00:00:00.000Z", true},
		{"token in a string", "arn:<partition>:states:<region>:111111111111:execution:<ArnPart_0idx>:x", "arn:aws:states:us-east-1:000:execution:sm:x", true},
		{"token but different text", "An error in <state>", "A fault in S", false},
		{"numbers by value", json.Number("1.0"), json.Number("1"), true},
		{"missing key", map[string]any{"a": "date"}, map[string]any{}, false},
		{"array order", []any{"a", "b"}, []any{"b", "a"}, false},
		{"null", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskedEqual(tt.want, tt.got); got != tt.equal {
				t.Errorf("MaskedEqual(%v, %v) = %t, want %t", tt.want, tt.got, got, tt.equal)
			}
		})
	}
}

func TestRecordedText(t *testing.T) {
	raw := json.RawMessage(`{"errorMessage": "x <y>", "errorType": "E", "stackTrace": ["a", "b"], "n": 1}`)
	want := `{"errorMessage":"x <y>","errorType":"E","stackTrace":["a","b"],"n":1}`
	if got := recordedText(raw); got != want {
		t.Errorf("recordedText(%s) = %s, want %s", raw, got, want)
	}
	if got := recordedText(json.RawMessage(`"plain"`)); got != "plain" {
		t.Errorf("recordedText(\"plain\") = %s, want plain", got)
	}
}

func TestWriteTable(t *testing.T) {
	results := []Result{
		{Area: "base", Kind: KindJSONPath, Status: Pass},
		{Area: "base", Kind: KindJSONPath, Status: Fail},
		{Area: "services", Kind: KindMocked, Status: Pass},
		{Area: "services", Kind: KindMocked, Status: Skip},
	}
	var b strings.Builder
	if err := WriteTable(&b, results); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("WriteTable() mismatch (-want +got):\n%s", diff)
	}
}
