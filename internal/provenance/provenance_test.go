package provenance

import (
	"strings"
	"testing"
)

func TestParseReports(t *testing.T) {
	for _, tt := range []struct {
		name, report string
		want         Tests
		err          string
	}{
		{name: "junit passed", report: `<?xml version="1.0"?><testsuites><testsuite name="a"><testcase classname="shop" name="TestA"/><testcase classname="shop" name="TestB"><skipped/></testcase></testsuite></testsuites>`,
			want: Tests{Passed: true, Total: 2, Skipped: 1}},
		{name: "junit failed, nested suites", report: `<testsuite name="a"><testsuite name="b"><testcase classname="shop" name="TestA"><failure message="x"/></testcase><testcase name="TestC"><error/></testcase></testsuite></testsuite>`,
			want: Tests{Passed: false, Total: 2, Failed: 2, FailedNames: []string{"shop.TestA", "TestC"}}},
		{name: "junit without cases", report: `<testsuites></testsuites>`, err: "no test case"},
		{name: "other XML", report: `<html></html>`, err: "root element is <html>"},
		{name: "go test -json passed", report: `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"skip","Package":"p","Test":"TestB"}
{"Action":"pass","Package":"p"}`, want: Tests{Passed: true, Total: 2, Skipped: 1}},
		{name: "go test -json failed", report: `{"Action":"fail","Package":"p","Test":"TestA/sub"}
{"Action":"fail","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestB"}
{"Action":"fail","Package":"p"}`, want: Tests{Passed: false, Total: 3, Failed: 2, FailedNames: []string{"p.TestA/sub", "p.TestA"}}},
		{name: "go test -json build failure", report: `{"Action":"output","Package":"p","Output":"build failed"}
{"Action":"fail","Package":"p"}`, want: Tests{Passed: false, FailedNames: []string{"p (the package failed)"}}},
		{name: "broken JSON line", report: "{\"Action\":\"pass\"}\n{not json", err: "line 2"},
		{name: "plain text", report: "ok  \tshop\t0.1s", err: "not a JUnit XML report nor `go test -json` output"},
		{name: "empty", report: "  ", err: "empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.report))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse = %+v, %v; want an error saying %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got.Passed != tt.want.Passed || got.Total != tt.want.Total || got.Failed != tt.want.Failed || got.Skipped != tt.want.Skipped ||
				strings.Join(got.FailedNames, ",") != strings.Join(tt.want.FailedNames, ",") {
				t.Fatalf("Parse = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestTested(t *testing.T) {
	sum := strings.Repeat("a", 64)
	for _, tt := range []struct {
		name string
		r    *Record
		ok   bool
		says string
	}{
		{"no record", nil, false, "--tests-passed"},
		{"other bytes", &Record{SHA256: strings.Repeat("b", 64), Tests: &Tests{Passed: true}}, false, "for other bytes"},
		{"no test result", &Record{SHA256: sum}, false, "no test result"},
		{"failed", &Record{SHA256: sum, Tests: &Tests{Passed: false, Total: 3, Failed: 1, Source: "r.xml", FailedNames: []string{"shop.TestA"}}}, false, "FAILED (3 tests, 1 failed; from r.xml): shop.TestA"},
		{"passed", &Record{SHA256: sum, Tests: &Tests{Passed: true, Source: "--tests-passed"}}, true, ""},
	} {
		ok, why := tt.r.Tested(sum)
		if ok != tt.ok || !strings.Contains(why, tt.says) {
			t.Errorf("%s: Tested = %v, %q; want %v saying %q", tt.name, ok, why, tt.ok, tt.says)
		}
	}
}
