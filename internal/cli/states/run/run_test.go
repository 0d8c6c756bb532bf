package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

func TestNewCmdRunFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     RunOptions
		wantCode int
	}{
		{
			name: "definition only",
			args: []string{"--definition", "flow.asl.json"},
			want: RunOptions{Definition: "flow.asl.json", Input: "{}"},
		},
		{
			name: "every flag",
			args: []string{"--definition", "flow.asl.json", "--input", "@in.json", "--history", "--real-time"},
			want: RunOptions{Definition: "flow.asl.json", Input: "@in.json", History: true, RealTime: true},
		},
		{
			name: "inline input",
			args: []string{"--definition=flow.asl.json", `--input={"a": 1}`},
			want: RunOptions{Definition: "flow.asl.json", Input: `{"a": 1}`},
		},
		{
			name: "mocks",
			args: []string{"--definition", "flow.asl.json", "--mock-config", "m.json", "--test-case", "Happy", "--state-machine-name", "Flow"},
			want: RunOptions{Definition: "flow.asl.json", Input: "{}", MockConfig: "m.json", TestCase: "Happy", StateMachineName: "Flow"},
		},
		{name: "mock config without test case", args: []string{"--definition", "f", "--mock-config", "m.json"}, wantCode: factory.ExitUsage},
		{name: "test case without mock config", args: []string{"--definition", "f", "--test-case", "Happy"}, wantCode: factory.ExitUsage},
		{name: "no definition", args: []string{"--input", "{}"}, wantCode: factory.ExitUsage},
		{name: "unknown flag", args: []string{"--definition", "f", "--histroy"}, wantCode: factory.ExitUsage},
		{name: "positional argument", args: []string{"--definition", "f", "extra"}, wantCode: factory.ExitUsage},
		{name: "missing flag value", args: []string{"--definition"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &factory.Factory{IO: testIO("")}
			var got *RunOptions
			cmd := NewCmdRun(f, func(o *RunOptions) error {
				got = o
				return nil
			})
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if code := factory.ExitCode(err); code != tt.wantCode {
				t.Fatalf("run %v: exit code %d (%v), want %d", tt.args, code, err, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			if diff := cmp.Diff(tt.want, *got, cmp.FilterPath(func(p cmp.Path) bool {
				name := p.Last().String()
				return name == ".IO" || name == ".Resolver" || name == ".Now"
			}, cmp.Ignore())); diff != "" {
				t.Errorf("run %v: options mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func testIO(stdin string) *factory.IOStreams {
	return &factory.IOStreams{In: strings.NewReader(stdin), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
}

const greetARN = "arn:aws:lambda:local:000000000000:function:greet"

// greet is a handler for the tests: it greets $.who, and fails with a
// NobodyError when there is no one to greet.
var greet = asl.HandlerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
	var in struct{ Who string }
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, err
	}
	if in.Who == "" {
		return nil, &NobodyError{}
	}
	return json.Marshal(map[string]string{"greeting": "hello " + in.Who})
})

// NobodyError is the error greet returns for no one.
type NobodyError struct{}

func (*NobodyError) Error() string { return "nobody to greet" }

// localResolver stands in for the embedded environment.
func localResolver(ctx context.Context) (asl.Resolver, map[string]string, func() error, error) {
	return asl.Handlers{greetARN: greet}, map[string]string{"GreetFunctionArn": greetARN}, func() error { return nil }, nil
}

func brokenResolver(ctx context.Context) (asl.Resolver, map[string]string, func() error, error) {
	return nil, nil, nil, errors.New("open the embedded environment: no such directory")
}

const (
	greetDef = `{"StartAt": "Greet", "States": {"Greet": {"Type": "Task", "Resource": "${GreetFunctionArn}", "End": true}}}`
	waitDef  = `{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
		"P": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": true}}}`
	failDef = `{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Refused", "Cause": "frozen"}}}`
	badDef  = `{"StartAt": "Deploy", "States": {"Deploy": {"Type": "Pass", "Next": "Nope"}}}`
	twoBad  = `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nope"}, "B": {"Type": "Wait", "End": true}}}`
)

func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	greetFile := write("greet.asl.json", greetDef)
	failFile := write("fail.asl.json", failDef)
	badFile := write("bad.asl.json", badDef)
	twoBadFile := write("twobad.asl.json", twoBad)
	notJSON := write("notjson.asl.json", `{"StartAt": `)
	inputFile := write("input.json", `{"who": "file"}`)
	mockFile := write("mocks.json", `{
		"StateMachines": {"greet": {"TestCases": {"Busy": {"Greet": "BusyThenHello"}, "Down": {"Greet": "Down"}}}},
		"MockedResponses": {
			"BusyThenHello": {"0": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}}, "1": {"Return": {"greeting": "mocked"}}},
			"Down": {"0-9": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "down"}}}
		}}`)
	retryFile := write("greet.json", `{"StartAt": "Greet", "States": {"Greet": {"Type": "Task", "Resource": "${GreetFunctionArn}", "End": true,
		"Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 60, "MaxAttempts": 2}]}}}`)
	badInputFile := write("badinput.json", `{"who": }`)

	tests := []struct {
		name       string
		resolver   func(context.Context) (asl.Resolver, map[string]string, func() error, error)
		args       []string
		stdin      string
		wantCode   int
		wantOut    string // JSON, compared as values
		wantErr    string // the returned error's text
		wantStderr string // a line expected on stderr
	}{
		{
			name:     "success",
			resolver: localResolver,
			args:     []string{"--definition", greetFile, "--input", `{"who": "ops"}`},
			wantOut:  `{"status": "SUCCEEDED", "output": {"greeting": "hello ops"}}`,
		},
		{
			name:     "mocked retry then return",
			resolver: localResolver,
			args:     []string{"--definition", retryFile, "--mock-config", mockFile, "--test-case", "Busy"},
			wantOut:  `{"status": "SUCCEEDED", "output": {"greeting": "mocked"}}`,
		},
		{
			name:     "mocked throw",
			resolver: localResolver,
			args:     []string{"--definition", greetFile, "--mock-config", mockFile, "--test-case", "Down"},
			wantCode: factory.ExitFailed,
			wantOut:  `{"status": "FAILED", "error": "Lambda.ServiceException", "cause": "down"}`,
		},
		{
			name:     "unknown test case",
			resolver: localResolver,
			args:     []string{"--definition", greetFile, "--mock-config", mockFile, "--test-case", "Nope"},
			wantCode: factory.ExitUsage,
			wantErr:  mockFile + `: find mock test case "Nope": state machine "greet" has no such test case`,
		},
		{
			name:     "input from a file",
			resolver: localResolver,
			args:     []string{"--definition", greetFile, "--input", "@" + inputFile},
			wantOut:  `{"status": "SUCCEEDED", "output": {"greeting": "hello file"}}`,
		},
		{
			name:     "input from standard input",
			resolver: localResolver,
			args:     []string{"--definition", greetFile, "--input", "@-"},
			stdin:    `{"who": "stdin"}`,
			wantOut:  `{"status": "SUCCEEDED", "output": {"greeting": "hello stdin"}}`,
		},
		{
			name:     "handler error",
			resolver: localResolver,
			args:     []string{"--definition", greetFile},
			wantCode: factory.ExitFailed,
			wantOut:  `{"status": "FAILED", "error": "NobodyError", "cause": "{\"errorMessage\":\"nobody to greet\",\"errorType\":\"NobodyError\"}"}`,
		},
		{
			name:     "Fail state",
			args:     []string{"--definition", failFile},
			wantCode: factory.ExitFailed,
			wantOut:  `{"status": "FAILED", "error": "Refused", "cause": "frozen"}`,
		},
		{
			name:       "no embedded environment",
			resolver:   brokenResolver,
			args:       []string{"--definition", greetFile, "--input", `{"who": "ops"}`},
			wantCode:   factory.ExitFailed,
			wantOut:    `{"status": "FAILED", "error": "States.Runtime", "cause": "An error occurred while executing the state 'Greet' (entered at the event id #2). No handler is registered for the resource '${GreetFunctionArn}' in the embedded engine."}`,
			wantStderr: "warning: open the embedded environment: no such directory; placeholders ${GreetFunctionArn} are left as they are, and Tasks that use them will fail",
		},
		{
			name:       "no resolver at all",
			args:       []string{"--definition", greetFile},
			wantCode:   factory.ExitFailed,
			wantOut:    `{"status": "FAILED", "error": "States.Runtime", "cause": "An error occurred while executing the state 'Greet' (entered at the event id #2). No handler is registered for the resource '${GreetFunctionArn}' in the embedded engine."}`,
			wantStderr: "warning: no embedded environment is configured; placeholders ${GreetFunctionArn} are left as they are, and Tasks that use them will fail",
		},
		{
			name: "placeholder without a substitution",
			resolver: func(ctx context.Context) (asl.Resolver, map[string]string, func() error, error) {
				return asl.Handlers{}, nil, nil, nil
			},
			args:     []string{"--definition", greetFile},
			wantCode: factory.ExitUsage,
			wantErr:  "definition " + greetFile + ": substitute definition: no value for ${GreetFunctionArn}",
		},
		{
			name:     "bad definition",
			args:     []string{"--definition", badFile},
			wantCode: factory.ExitUsage,
			wantErr:  "invalid definition " + badFile + `: state "Deploy": field "Next": state "Nope" does not exist`,
		},
		{
			name:     "several problems",
			args:     []string{"--definition", twoBadFile},
			wantCode: factory.ExitUsage,
			wantErr: "invalid definition " + twoBadFile + ": 3 problems:\n" +
				`  state "A": field "Next": state "Nope" does not exist` + "\n" +
				`  state "B": the state is not reachable from StartAt "A"` + "\n" +
				`  state "B": field "Seconds": a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath`,
		},
		{
			name:     "definition is not JSON",
			args:     []string{"--definition", notJSON},
			wantCode: factory.ExitUsage,
			wantErr:  "invalid definition " + notJSON + ": parse definition: invalid JSON at offset 12: unexpected end of JSON input",
		},
		{
			name:     "unreadable definition",
			args:     []string{"--definition", filepath.Join(dir, "missing.json")},
			wantCode: factory.ExitUsage,
			wantErr:  "read definition: open " + filepath.Join(dir, "missing.json") + ": no such file or directory",
		},
		{
			name:     "malformed input",
			resolver: localResolver,
			args:     []string{"--definition", greetFile, "--input", `{"who": "ops"`},
			wantCode: factory.ExitUsage,
			wantErr:  "--input: invalid JSON at offset 13: unexpected end of JSON input",
		},
		{
			name:     "malformed input file",
			resolver: localResolver,
			args:     []string{"--definition", greetFile, "--input", "@" + badInputFile},
			wantCode: factory.ExitUsage,
			wantErr:  "--input @" + badInputFile + ": invalid JSON at offset 9: invalid character '}' looking for beginning of value",
		},
		{
			name:     "unreadable input file",
			args:     []string{"--definition", greetFile, "--input", "@" + filepath.Join(dir, "nope.json")},
			wantCode: factory.ExitUsage,
			wantErr:  "read --input @" + filepath.Join(dir, "nope.json") + ": open " + filepath.Join(dir, "nope.json") + ": no such file or directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io := testIO(tt.stdin)
			f := &factory.Factory{IO: io, Resolver: tt.resolver}
			cmd := NewCmdRun(f, nil)
			cmd.SetArgs(tt.args)
			err := cmd.ExecuteContext(context.Background())
			if code := factory.ExitCode(err); code != tt.wantCode {
				t.Errorf("run %v: exit code %d (%v), want %d", tt.args, code, err, tt.wantCode)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("run %v: error = %v, want %q", tt.args, err, tt.wantErr)
				}
			}
			stdout := io.Out.(*bytes.Buffer).String()
			if tt.wantOut == "" {
				if stdout != "" {
					t.Errorf("run %v: stdout = %q, want nothing", tt.args, stdout)
				}
			} else {
				if diff := cmp.Diff(decodeJSON(t, tt.wantOut), decodeJSON(t, stdout)); diff != "" {
					t.Errorf("run %v: stdout mismatch (-want +got):\n%s", tt.args, diff)
				}
			}
			stderr := io.ErrOut.(*bytes.Buffer).String()
			if tt.wantStderr != "" && !strings.Contains(stderr, tt.wantStderr+"\n") {
				t.Errorf("run %v: stderr = %q, want a line %q", tt.args, stderr, tt.wantStderr)
			}
		})
	}
}

func decodeJSON(t *testing.T, text string) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", text, err)
	}
	if dec.More() {
		t.Fatalf("%q holds more than one JSON value", text)
	}
	return v
}

func TestRunHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "greet.asl.json")
	if err := os.WriteFile(path, []byte(greetDef), 0o600); err != nil {
		t.Fatal(err)
	}
	io := testIO("")
	cmd := NewCmdRun(&factory.Factory{IO: io, Resolver: localResolver}, nil)
	cmd.SetArgs([]string{"--definition", path, "--input", `{"who": "ops"}`, "--history"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Status  string
		History []struct {
			ID   int64  `json:"id"`
			Type string `json:"type"`
		}
	}
	if err := json.Unmarshal(io.Out.(*bytes.Buffer).Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var types []string
	for i, e := range got.History {
		if e.ID != int64(i+1) {
			t.Errorf("event %d has id %d", i+1, e.ID)
		}
		types = append(types, e.Type)
	}
	want := []string{"ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
		"LambdaFunctionSucceeded", "TaskStateExited", "ExecutionSucceeded"}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("history event types mismatch (-want +got):\n%s", diff)
	}
}

func TestRunUsesAVirtualClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wait.asl.json")
	if err := os.WriteFile(path, []byte(waitDef), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	io := testIO("")
	opts := &RunOptions{IO: io, Definition: path, Input: "{}", Now: func() time.Time { return start }}
	began := time.Now()
	if err := runRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(began); elapsed > 5*time.Second {
		t.Errorf("an hour's Wait took %v", elapsed)
	}
	want := `{"status": "SUCCEEDED", "output": {"entered": "2026-01-02T04:04:05.000Z"}}`
	if diff := cmp.Diff(decodeJSON(t, want), decodeJSON(t, io.Out.(*bytes.Buffer).String())); diff != "" {
		t.Errorf("stdout mismatch (-want +got):\n%s", diff)
	}
}
