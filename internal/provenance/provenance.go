// Package provenance is what `slipway release publish` records with a
// bundle: where it was built from (commit, branch, build URL, when) and
// the test result it was given (--tests-passed, or a JUnit XML or
// `go test -json` report it read and summarised). Preflight reads it back
// to enforce the manifest's `require: tested`; the plan and the report
// show it.
//
// A record is as trustworthy as the credentials that may publish: whoever
// may put a bundle in the artifact store may put its record beside it. It
// names the bundle's SHA-256, so a record never vouches for other bytes.
package provenance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Record is a published release's provenance.
type Record struct {
	Version string `json:"version"`
	// SHA256 is the bundle's: the record is about these bytes only.
	SHA256   string    `json:"sha256"`
	Commit   string    `json:"commit,omitempty"`
	Branch   string    `json:"branch,omitempty"`
	BuildURL string    `json:"build_url,omitempty"`
	BuiltAt  time.Time `json:"built_at"`
	// PublishedBy is who ran the publish (the AWS caller or $USER).
	PublishedBy string `json:"published_by,omitempty"`
	// Tests is the test result the publish was given; nil when none was.
	Tests *Tests `json:"tests,omitempty"`
}

// Tests summarises a test run.
type Tests struct {
	Passed  bool `json:"passed"`
	Total   int  `json:"total"`
	Failed  int  `json:"failed"`
	Skipped int  `json:"skipped"`
	// Source is where the result came from: "--tests-passed", or the
	// report files' names.
	Source string `json:"source"`
	// FailedNames are the first failed tests' names (at most 10).
	FailedNames []string `json:"failed_names,omitempty"`
}

// Summary is one line for a person: "passed (412 tests, 3 skipped; from
// report.xml)".
func (t *Tests) Summary() string {
	if t == nil {
		return "no test result recorded"
	}
	if t.Total == 0 {
		return fmt.Sprintf("%s (%s)", word(t.Passed), t.Source)
	}
	s := fmt.Sprintf("%s (%d tests", word(t.Passed), t.Total)
	if t.Failed > 0 {
		s += fmt.Sprintf(", %d failed", t.Failed)
	}
	if t.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped", t.Skipped)
	}
	s += "; from " + t.Source + ")"
	if len(t.FailedNames) > 0 {
		s += ": " + strings.Join(t.FailedNames, ", ")
	}
	return s
}

func word(passed bool) string {
	if passed {
		return "passed"
	}
	return "FAILED"
}

// Tested reports whether r says the bundle's tests passed, and, when not,
// what is missing, in words that say what to do.
func (r *Record) Tested(sha256 string) (bool, string) {
	switch {
	case r == nil:
		return false, "it has no provenance record: publish it with `slipway release publish FILE --version V --tests-passed` (or --test-report FILE) from the build that tested it"
	case r.SHA256 != sha256:
		return false, fmt.Sprintf("its provenance record is for other bytes (sha256 %s, the bundle's is %s): publish it again with its test result", short(r.SHA256), short(sha256))
	case r.Tests == nil:
		return false, "its provenance record has no test result: publish it again with --tests-passed or --test-report FILE"
	case !r.Tests.Passed:
		return false, "its tests did not pass: " + r.Tests.Summary()
	}
	return true, ""
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// ReadReports reads test reports (JUnit XML, or `go test -json` output)
// and sums them up. A report that is neither is an error naming the file.
func ReadReports(paths []string) (*Tests, error) {
	if len(paths) == 0 {
		return nil, errors.New("no test report given")
	}
	t := &Tests{Passed: true}
	var names []string
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read test report: %w", err)
		}
		one, err := Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("test report %s: %w", p, err)
		}
		t.Total += one.Total
		t.Failed += one.Failed
		t.Skipped += one.Skipped
		t.Passed = t.Passed && one.Passed
		for _, n := range one.FailedNames {
			if len(t.FailedNames) < 10 {
				t.FailedNames = append(t.FailedNames, n)
			}
		}
		names = append(names, filepath.Base(p))
	}
	t.Source = strings.Join(names, ", ")
	return t, nil
}

// Parse reads one report: JUnit XML (<testsuites> or <testsuite>) or the
// JSON lines of `go test -json`.
func Parse(raw []byte) (*Tests, error) {
	trimmed := bytes.TrimSpace(raw)
	switch {
	case len(trimmed) == 0:
		return nil, errors.New("the report is empty")
	case trimmed[0] == '<':
		return parseJUnit(trimmed)
	case trimmed[0] == '{':
		return parseGoTest(trimmed)
	}
	return nil, errors.New("not a JUnit XML report nor `go test -json` output")
}

type junitCase struct {
	Name      string    `xml:"name,attr"`
	ClassName string    `xml:"classname,attr"`
	Failure   *struct{} `xml:"failure"`
	Error     *struct{} `xml:"error"`
	Skipped   *struct{} `xml:"skipped"`
}

type junitSuite struct {
	Cases  []junitCase  `xml:"testcase"`
	Suites []junitSuite `xml:"testsuite"`
}

func parseJUnit(raw []byte) (*Tests, error) {
	var root struct {
		XMLName xml.Name
		junitSuite
	}
	if err := xml.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("not JUnit XML: %v", err)
	}
	if root.XMLName.Local != "testsuites" && root.XMLName.Local != "testsuite" {
		return nil, fmt.Errorf("not JUnit XML: the root element is <%s>, not <testsuites> or <testsuite>", root.XMLName.Local)
	}
	t := &Tests{}
	var walk func(s junitSuite)
	walk = func(s junitSuite) {
		for _, c := range s.Cases {
			t.Total++
			switch {
			case c.Failure != nil || c.Error != nil:
				t.Failed++
				if len(t.FailedNames) < 10 {
					t.FailedNames = append(t.FailedNames, strings.TrimPrefix(c.ClassName+"."+c.Name, "."))
				}
			case c.Skipped != nil:
				t.Skipped++
			}
		}
		for _, sub := range s.Suites {
			walk(sub)
		}
	}
	walk(root.junitSuite)
	if t.Total == 0 {
		return nil, errors.New("the JUnit report holds no test case")
	}
	t.Passed = t.Failed == 0
	return t, nil
}

// parseGoTest reads `go test -json` events: a test's last pass, fail or
// skip decides it; a package that fails without a failed test (a build
// error, a panic in TestMain) fails the run too.
func parseGoTest(raw []byte) (*Tests, error) {
	type event struct {
		Action  string `json:"Action"`
		Package string `json:"Package"`
		Test    string `json:"Test"`
	}
	result := map[string]string{}
	var order []string
	pkgFailed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var ev event
		if err := json.Unmarshal(b, &ev); err != nil {
			return nil, fmt.Errorf("line %d is not a `go test -json` event: %v", line, err)
		}
		switch ev.Action {
		case "pass", "fail", "skip":
		default:
			continue
		}
		if ev.Test == "" {
			if ev.Action == "fail" {
				pkgFailed[ev.Package] = true
			}
			continue
		}
		key := ev.Package + "." + ev.Test
		if _, ok := result[key]; !ok {
			order = append(order, key)
		}
		result[key] = ev.Action
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	t := &Tests{Total: len(order)}
	for _, k := range order {
		switch result[k] {
		case "fail":
			t.Failed++
			if len(t.FailedNames) < 10 {
				t.FailedNames = append(t.FailedNames, k)
			}
		case "skip":
			t.Skipped++
		}
	}
	for p := range pkgFailed {
		if t.Failed == 0 {
			t.FailedNames = append(t.FailedNames, p+" (the package failed)")
		}
	}
	if t.Total == 0 && len(pkgFailed) == 0 {
		return nil, errors.New("the `go test -json` output holds no test result")
	}
	t.Passed = t.Failed == 0 && len(pkgFailed) == 0
	return t, nil
}

// Line says in one line what the record holds: the commit, branch, build,
// when it was published and the test result; on a nil record, that there
// is none and how to record one.
func (r *Record) Line() string {
	if r == nil {
		return "none recorded (publish the release with --tests-passed or --test-report to record one)"
	}
	var parts []string
	if r.Commit != "" {
		parts = append(parts, "commit "+r.Commit)
	}
	if r.Branch != "" {
		parts = append(parts, "branch "+r.Branch)
	}
	if r.BuildURL != "" {
		parts = append(parts, "build "+r.BuildURL)
	}
	if !r.BuiltAt.IsZero() {
		parts = append(parts, "published "+r.BuiltAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if r.Tests == nil {
		parts = append(parts, "no test result")
	} else {
		parts = append(parts, "tests "+r.Tests.Summary())
	}
	return strings.Join(parts, ", ")
}
