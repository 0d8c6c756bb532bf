// Package skipcheck reads the event stream of `go test -json` and finds
// what CI must not let pass: a failed test or package, and a test that
// skipped itself when the allow-list does not say that skip is correct in
// CI. Under CI=true every tool a test needs is installed (.ci/run), so a
// skip there means a test silently did not run.
//
// It is not a test runner: `make test` runs `go test -json` and pipes the
// events through cmd/skipcheck, which prints what a person reads in a
// plain `go test` run (package results, the output of failures and skips).
package skipcheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Event is one line of `go test -json` (cmd/test2json).
type Event struct {
	Action      string  `json:"Action"`
	Package     string  `json:"Package"`
	Test        string  `json:"Test"`
	Output      string  `json:"Output"`
	Elapsed     float64 `json:"Elapsed"`
	ImportPath  string  `json:"ImportPath"`
	FailedBuild string  `json:"FailedBuild"`
}

// Skip is a test that skipped itself, with the lines it printed (the
// reason it gave, and the "--- SKIP" line).
type Skip struct {
	Package, Test string
	Output        []string
}

// Name is "package Test".
func (s Skip) Name() string { return s.Package + " " + s.Test }

// Result is what a stream held.
type Result struct {
	// Packages counts the packages that reported a result.
	Packages int
	// Failed lists the failed tests ("package Test") and packages
	// ("package"), in the order they failed.
	Failed []string
	// Skipped are the skipped tests (not packages without tests).
	Skipped []Skip
}

// Allowed is the allow-list: "package Test" to the reason the skip is
// correct in CI. "package Test/*" allows every subtest of Test.
type Allowed map[string]string

// Allows reports whether the allow-list names s.
func (a Allowed) Allows(s Skip) bool {
	if _, ok := a[s.Name()]; ok {
		return true
	}
	for i := strings.LastIndex(s.Test, "/"); i > 0; i = strings.LastIndex(s.Test[:i], "/") {
		if _, ok := a[s.Package+" "+s.Test[:i]+"/*"]; ok {
			return true
		}
	}
	return false
}

// ParseAllowed reads an allow-list: one skip a line, "package Test reason";
// blank lines and lines starting with # are ignored. A line without a
// reason is an error: whoever allows a skip says why.
func ParseAllowed(r io.Reader) (Allowed, error) {
	out := Allowed{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("read allow-list line %d: want \"package Test reason\", got %q", n, line)
		}
		out[f[0]+" "+f[1]] = strings.Join(f[2:], " ")
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read allow-list: %w", err)
	}
	return out, nil
}

// Check reads events from r, writes the lines a person reads to w (every
// package's result line, build errors, and the whole output of a test
// that failed or skipped) and returns what it found.
func Check(r io.Reader, w io.Writer) (*Result, error) {
	res := &Result{}
	type key struct{ pkg, test string }
	outputs := map[key][]string{}
	dec := json.NewDecoder(r)
	for {
		var e Event
		err := dec.Decode(&e)
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("read go test -json events: %w", err)
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "output":
			if e.Test == "" {
				// The package's own lines: "ok", "FAIL", "?", panics
				// outside a test. Test-level lines repeat within it
				// under -v only, which make test does not pass. "PASS"
				// repeats the "ok" line.
				if e.Output != "PASS\n" {
					fmt.Fprint(w, e.Output)
				}
				continue
			}
			outputs[k] = append(outputs[k], e.Output)
		case "pass":
			if e.Test == "" {
				res.Packages++
			}
			delete(outputs, k)
		case "skip":
			if e.Test == "" {
				res.Packages++ // no test files, or no tests
				continue
			}
			lines := outputs[k]
			delete(outputs, k)
			fmt.Fprint(w, strings.Join(lines, ""))
			trimmed := make([]string, 0, len(lines))
			for _, l := range lines {
				trimmed = append(trimmed, strings.TrimRight(l, "\n"))
			}
			res.Skipped = append(res.Skipped, Skip{Package: e.Package, Test: e.Test, Output: trimmed})
		case "fail":
			if e.Test == "" {
				// A test still running when its package failed (a panic,
				// a timeout) reported no result: show what it printed.
				for k2, lines := range outputs {
					if k2.pkg == e.Package {
						fmt.Fprint(w, strings.Join(lines, ""))
						delete(outputs, k2)
					}
				}
				res.Packages++
				res.Failed = append(res.Failed, e.Package)
				continue
			}
			fmt.Fprint(w, strings.Join(outputs[k], ""))
			delete(outputs, k)
			res.Failed = append(res.Failed, e.Package+" "+e.Test)
		}
	}
	return res, nil
}

// Unallowed returns the skips the allow-list does not name, sorted.
func (r *Result) Unallowed(a Allowed) []Skip {
	var out []Skip
	for _, s := range r.Skipped {
		if !a.Allows(s) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
