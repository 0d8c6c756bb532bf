package stack

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// cfnLintIgnored are the cfn-lint rules the stack's template is not held
// to, each with its reason.
var cfnLintIgnored = map[string]string{
	// The CDK gives a function (and a state machine) a DependsOn on its role
	// and on the role's policy, so that the function is created with its
	// permissions in place; the dependency on the role is also implied by
	// the GetAtt of its ARN. It is redundant, not wrong, and the CDK writes it.
	"W3005": "redundant DependsOn that the CDK writes next to a GetAtt of the same role",
}

type lintResult struct {
	out     string
	err     error
	missing bool
}

// startCfnLint lints template in the background; the channel gets the
// result. Every rule applies, in the stack's region, but cfnLintIgnored.
func startCfnLint(template, region string) <-chan lintResult {
	ch := make(chan lintResult, 1)
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		ch <- lintResult{missing: true}
		return ch
	}
	var ignore []string
	for rule := range cfnLintIgnored {
		ignore = append(ignore, rule)
	}
	go func() {
		out, err := exec.Command(bin, "--regions", region, "--ignore-checks", strings.Join(ignore, ","), "--format", "parseable", "--", template).CombinedOutput()
		ch <- lintResult{out: string(out), err: err}
	}()
	return ch
}

// TestCfnLint: cfn-lint (the CloudFormation linter, AWS's resource
// specifications and rules) finds nothing in the synthesized template:
// no error, no warning, nothing informational, but the rules ignored with
// their reason above.
func TestCfnLint(t *testing.T) {
	s := synth(t)
	r := <-s.lint
	if r.missing {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is not installed (CI installs it)")
		}
		t.Skip("cfn-lint is not installed: pip install cfn-lint")
	}
	var exit *exec.ExitError
	if r.err != nil && !errors.As(r.err, &exit) {
		t.Fatalf("run cfn-lint: %v", r.err)
	}
	if r.err != nil || strings.TrimSpace(r.out) != "" {
		t.Errorf("cfn-lint on the synthesized template (%v):\n%s", r.err, r.out)
	}
}
