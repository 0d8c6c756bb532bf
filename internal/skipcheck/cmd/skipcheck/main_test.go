package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const skipped = `{"Action":"output","Package":"p","Test":"TestTool","Output":"    p_test.go:9: wget is not installed\n"}
{"Action":"skip","Package":"p","Test":"TestTool","Elapsed":0}
{"Action":"pass","Package":"p","Elapsed":0.01}
`

const failed = `{"Action":"fail","Package":"p","Test":"TestBad","Elapsed":0}
{"Action":"fail","Package":"p","Elapsed":0.01}
`

func TestRun(t *testing.T) {
	dir := t.TempDir()
	allow := filepath.Join(dir, "skips")
	if err := os.WriteFile(allow, []byte("p TestTool wget is never installed here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("p TestTool\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		in         string
		wantCode   int
		wantStderr string
	}{
		{"skip outside CI", []string{"-ci=false"}, skipped, 0, ""},
		{"skip in CI", []string{"-ci"}, skipped, 1, "1 tests skipped under CI=true"},
		{"allowed skip in CI", []string{"-ci", "-allow", allow}, skipped, 0, ""},
		{"failure", []string{"-ci=false"}, failed, 1, "2 failed:\n  p TestBad\n  p\n"},
		{"nothing ran", []string{"-ci"}, "", 2, "no package reported a result"},
		{"allow-list without reason", []string{"-ci", "-allow", bad}, skipped, 2, "want \"package Test reason\""},
		{"missing allow-list", []string{"-ci", "-allow", filepath.Join(dir, "none")}, skipped, 2, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.in), &out, &errOut)
			if code != tt.wantCode {
				t.Errorf("run(%v) = %d, want %d; stderr:\n%s", tt.args, code, tt.wantCode, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.wantStderr) {
				t.Errorf("run(%v) stderr = %q, want it to contain %q", tt.args, errOut.String(), tt.wantStderr)
			}
		})
	}
}
