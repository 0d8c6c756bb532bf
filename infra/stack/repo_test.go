package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRepo writes a minimal repository: functions with a main.go and a
// built bootstrap, definitions, and the host script.
func fakeRepo(t *testing.T, functions []string, definitions map[string]string) string {
	t.Helper()
	root := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range functions {
		write("functions/"+f+"/main.go", "package main\n")
		write("dist/"+f+"/bootstrap", "binary")
	}
	for _, a := range ResolverArches {
		write("dist/slipway-env/linux-"+a+"/slipway-env", "binary")
	}
	for name, def := range definitions {
		write("statemachine/"+name+".asl.json", def)
	}
	write("scripts/slipway-host.sh", "#!/bin/sh\n")
	return root
}

const task = `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${%s}","TimeoutSeconds":%s,"End":true}}}`

func def(placeholder, timeout string) string {
	return strings.Replace(strings.Replace(task, "%s", placeholder, 1), "%s", timeout, 1)
}

func TestReadRepo(t *testing.T) {
	root := fakeRepo(t, []string{"lock", "health-check"}, map[string]string{
		"deploy": `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${LockFunctionArn}","TimeoutSeconds":30,"Next":"P"},
			"P":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"${HealthCheckFunctionArn}","TimeoutSeconds":20,"End":true}}}],"End":true}}}`,
		"rollback": def("LockFunctionArn", "10"),
	})
	r, err := ReadRepo(root, filepath.Join(root, "dist"))
	if err != nil {
		t.Fatalf("ReadRepo: %v", err)
	}
	if got := strings.Join(r.Functions, ","); got != "health-check,lock" {
		t.Errorf("Functions = %s", got)
	}
	d := r.Definitions["deploy"]
	if strings.Join(d.Placeholders, ",") != "HealthCheckFunctionArn,LockFunctionArn" || strings.Join(d.Functions, ",") != "health-check,lock" {
		t.Errorf("deploy: placeholders %v, functions %v", d.Placeholders, d.Functions)
	}
	if d.TaskTimeouts["health-check"] != 20 || d.TaskTimeouts["lock"] != 30 || r.Definitions["rollback"].TaskTimeouts["lock"] != 10 {
		t.Errorf("task timeouts: deploy %v, rollback %v", d.TaskTimeouts, r.Definitions["rollback"].TaskTimeouts)
	}
}

func TestReadRepoRefuses(t *testing.T) {
	tests := []struct {
		name      string
		functions []string
		defs      map[string]string
		edit      func(root string)
		want      string
	}{
		{"placeholder without a function", []string{"lock"},
			map[string]string{"deploy": `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${LockFunctionArn}","Next":"B"},"B":{"Type":"Task","Resource":"${UnlockFunctionArn}","End":true}}}`},
			nil, "placeholder ${UnlockFunctionArn} has no function"},
		{"function not built", []string{"lock"},
			map[string]string{"deploy": def("LockFunctionArn", "30")},
			func(root string) { os.RemoveAll(filepath.Join(root, "dist")) }, "run `make build` first"},
		{"not JSON", []string{"lock"}, map[string]string{"deploy": `{"States": ${LockFunctionArn}`}, nil, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeRepo(t, tt.functions, tt.defs)
			if tt.edit != nil {
				tt.edit(root)
			}
			_, err := ReadRepo(root, filepath.Join(root, "dist"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadRepo = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckSpecs(t *testing.T) {
	root := fakeRepo(t, []string{"lock", "mystery", "record"}, map[string]string{
		"deploy": `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${LockFunctionArn}","TimeoutSeconds":270,"Next":"B"},"B":{"Type":"Task","Resource":"${MysteryFunctionArn}","End":true}}}`,
	})
	r, err := ReadRepo(root, filepath.Join(root, "dist"))
	if err != nil {
		t.Fatal(err)
	}
	err = checkSpecs(r)
	if err == nil {
		t.Fatal("checkSpecs succeeded, want errors")
	}
	for _, want := range []string{
		"functions/mystery has no FunctionSpec",
		"functions/record: no state machine definition calls it",
		"functions/lock: Lambda timeout 270s is not shorter than the 270s TimeoutSeconds",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("checkSpecs = %v, want it to contain %q", err, want)
		}
	}
}

// TestSpecsFitTheRepository: the real repository's functions all have
// specs that fit its definitions.
func TestSpecsFitTheRepository(t *testing.T) {
	root := repoRoot(t)
	r, err := ReadRepo(root, t.TempDir())
	if err != nil && !strings.Contains(err.Error(), "make build") {
		t.Fatal(err)
	}
	if r == nil { // only bootstraps missing: read again, ignoring them
		r = &Repo{Root: root, Definitions: map[string]*Definition{}}
		byPlaceholder := map[string]string{}
		entries, _ := os.ReadDir(filepath.Join(root, "functions"))
		for _, e := range entries {
			if e.IsDir() {
				r.Functions = append(r.Functions, e.Name())
				byPlaceholder[PlaceholderFor(e.Name())] = e.Name()
			}
		}
		paths, _ := filepath.Glob(filepath.Join(root, "statemachine", "*.asl.json"))
		for _, p := range paths {
			d, problems := readDefinition(p, byPlaceholder)
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			r.Definitions[d.Name] = d
		}
	}
	if err := checkSpecs(r); err != nil {
		t.Error(err)
	}
	for f := range Specs {
		found := false
		for _, g := range r.Functions {
			found = found || f == g
		}
		if !found {
			t.Errorf("Specs has %s, which is not under functions/", f)
		}
	}
}

func TestPlaceholderFor(t *testing.T) {
	for in, want := range map[string]string{"preflight": "PreflightFunctionArn", "health-check": "HealthCheckFunctionArn", "a_b": "ABFunctionArn"} {
		if got := PlaceholderFor(in); got != want {
			t.Errorf("PlaceholderFor(%s) = %s, want %s", in, got, want)
		}
	}
}
