package skipcheck

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stream is the shape of `go test -json` for a package p with a passing,
// a skipped and (when fail) a failing test, and a package without tests.
const stream = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestOK"}
{"Action":"output","Package":"p","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"p","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestOK","Elapsed":0}
{"Action":"run","Package":"p","Test":"TestTool"}
{"Action":"output","Package":"p","Test":"TestTool","Output":"=== RUN   TestTool\n"}
{"Action":"output","Package":"p","Test":"TestTool","Output":"    p_test.go:9: wget is not installed\n"}
{"Action":"output","Package":"p","Test":"TestTool","Output":"--- SKIP: TestTool (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestTool","Elapsed":0}
{"Action":"run","Package":"p","Test":"TestTable/sub"}
{"Action":"output","Package":"p","Test":"TestTable/sub","Output":"    --- SKIP: TestTable/sub (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestTable/sub","Elapsed":0}
{"Action":"pass","Package":"p","Test":"TestTable","Elapsed":0}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.01s\n"}
{"Action":"pass","Package":"p","Elapsed":0.01}
{"Action":"output","Package":"q","Output":"?   \tq\t[no test files]\n"}
{"Action":"skip","Package":"q","Elapsed":0}
`

const failing = `{"Action":"run","Package":"r","Test":"TestBad"}
{"Action":"output","Package":"r","Test":"TestBad","Output":"    r_test.go:3: got 1, want 2\n"}
{"Action":"output","Package":"r","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"r","Test":"TestBad","Elapsed":0}
{"Action":"run","Package":"r","Test":"TestHangs"}
{"Action":"output","Package":"r","Test":"TestHangs","Output":"panic: test timed out after 1s\n"}
{"Action":"output","Package":"r","Output":"FAIL\tr\t1.00s\n"}
{"Action":"fail","Package":"r","Elapsed":1}
{"ImportPath":"s","Action":"build-output","Output":"s/s.go:1:1: expected 'package'\n"}
{"ImportPath":"s","Action":"build-fail"}
{"Action":"output","Package":"s","Output":"FAIL\ts [setup failed]\n"}
{"Action":"fail","Package":"s","Elapsed":0,"FailedBuild":"s"}
`

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     Result
		wantText string
	}{
		{
			name: "skips",
			in:   stream,
			want: Result{Packages: 2, Skipped: []Skip{
				{Package: "p", Test: "TestTool", Output: []string{"=== RUN   TestTool", "    p_test.go:9: wget is not installed", "--- SKIP: TestTool (0.00s)"}},
				{Package: "p", Test: "TestTable/sub", Output: []string{"    --- SKIP: TestTable/sub (0.00s)"}},
			}},
			wantText: "=== RUN   TestTool\n    p_test.go:9: wget is not installed\n--- SKIP: TestTool (0.00s)\n" +
				"    --- SKIP: TestTable/sub (0.00s)\n" + "ok  \tp\t0.01s\n" + "?   \tq\t[no test files]\n",
		},
		{
			name: "failures",
			in:   failing,
			want: Result{Packages: 2, Failed: []string{"r TestBad", "r", "s"}},
			wantText: "    r_test.go:3: got 1, want 2\n--- FAIL: TestBad (0.00s)\n" + "FAIL\tr\t1.00s\n" + "panic: test timed out after 1s\n" +
				"s/s.go:1:1: expected 'package'\n" + "FAIL\ts [setup failed]\n",
		},
		{name: "empty", in: "", want: Result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			got, err := Check(strings.NewReader(tt.in), &out)
			if err != nil {
				t.Fatalf("Check() error = %v", err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("Check() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantText, out.String()); diff != "" {
				t.Errorf("Check() printed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckBadStream(t *testing.T) {
	if _, err := Check(strings.NewReader("ok  \tp\t0.1s\n"), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "go test -json") {
		t.Errorf("Check(plain go test output) error = %v, want one that names go test -json", err)
	}
}

func TestUnallowed(t *testing.T) {
	r := &Result{Skipped: []Skip{{Package: "p", Test: "TestTool"}, {Package: "p", Test: "TestTable/sub"}, {Package: "a", Test: "TestPort"}}}
	tests := []struct {
		name    string
		allowed Allowed
		want    []string
	}{
		{"none allowed", Allowed{}, []string{"a TestPort", "p TestTable/sub", "p TestTool"}},
		{"one allowed", Allowed{"a TestPort": "the port was taken"}, []string{"p TestTable/sub", "p TestTool"}},
		{"parent does not allow a subtest", Allowed{"p TestTable": "x", "p TestTool": "x", "a TestPort": "x"}, []string{"p TestTable/sub"}},
		{"every subtest", Allowed{"p TestTable/*": "x"}, []string{"a TestPort", "p TestTool"}},
		{"every subtest, not the test", Allowed{"p TestTool/*": "x", "p TestTable/sub/*": "x"}, []string{"a TestPort", "p TestTable/sub", "p TestTool"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range r.Unallowed(tt.allowed) {
				got = append(got, s.Name())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Unallowed() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAllowed(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Allowed
		wantErr string
	}{
		{"entries and comments", "# why\n\np TestA  the port was taken again\n  q TestB/sub reason\n",
			Allowed{"p TestA": "the port was taken again", "q TestB/sub": "reason"}, ""},
		{"no reason", "p TestA\n", nil, `line 1: want "package Test reason"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAllowed(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseAllowed() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseAllowed() (-want +got):\n%s", diff)
			}
		})
	}
}
