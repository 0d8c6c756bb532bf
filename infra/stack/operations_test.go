package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The functions' IAM roles follow from their code. Each function's test in
// the root module (functions/<name>/main_test.go) runs the function's
// handler, wired as its main wires it, through the scenarios of
// internal/lambdaenv/lambdaenvtest: the real state machine definitions on
// the embedded engine, against AWS faked on the wire. An SDK middleware
// records every call and the IAM grants it needs (action and resource),
// into testdata/operations/<name>.json. The tests here check the
// synthesized roles against those files, in both directions.

// operationsFile is a function's operations file (lambdaenvtest.File).
type operationsFile struct {
	Function     string                       `json:"function"`
	Settings     map[string]string            `json:"settings"`
	Operations   map[string][]string          `json:"operations"`
	ResourceTags map[string]map[string]string `json:"resource_tags"`
	Events       map[string]string            `json:"events"`
}

// grant is one recorded authorization: an action on a resource.
type grant struct{ action, resource string }

func (g grant) String() string { return g.action + " on " + g.resource }

func readOperations(t *testing.T) map[string]operationsFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "operations", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]operationsFile{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f operationsFile
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if want := strings.TrimSuffix(filepath.Base(p), ".json"); f.Function != want {
			t.Fatalf("%s is for function %q", p, f.Function)
		}
		out[f.Function] = f
	}
	return out
}

// unissued are the actions a role may hold although its function's code
// never calls them: AWS uses them with the function's role on its behalf.
// requires, when set, is an action the function must issue for the
// exception to apply; vpc limits it to functions in the VPC, failureQueue
// to functions with a failure destination.
var unissued = map[string]struct {
	reason       string
	requires     string
	vpc          bool
	failureQueue bool
}{
	"logs:CreateLogStream":           {reason: "Lambda writes the function's logs with its role"},
	"logs:PutLogEvents":              {reason: "Lambda writes the function's logs with its role"},
	"xray:PutTraceSegments":          {reason: "active tracing: Lambda sends the function's traces with its role"},
	"xray:PutTelemetryRecords":       {reason: "active tracing: Lambda sends the function's traces with its role"},
	"ec2:CreateNetworkInterface":     {reason: "Lambda manages a VPC function's network interfaces with its role", vpc: true},
	"ec2:DeleteNetworkInterface":     {reason: "Lambda manages a VPC function's network interfaces with its role", vpc: true},
	"ec2:AssignPrivateIpAddresses":   {reason: "Lambda manages a VPC function's network interfaces with its role", vpc: true},
	"ec2:UnassignPrivateIpAddresses": {reason: "Lambda manages a VPC function's network interfaces with its role", vpc: true},
	"ec2:DescribeNetworkInterfaces":  {reason: "Lambda manages a VPC function's network interfaces with its role", vpc: true},
	"ec2:DescribeSubnets":            {reason: "Lambda manages a VPC function's network interfaces with its role", vpc: true},
	"kms:GenerateDataKey":            {reason: "SNS encrypts what the function publishes to the topic with the stack's key, as the caller", requires: "sns:Publish"},
	"kms:Decrypt":                    {reason: "SNS (the topic's key) or Secrets Manager (a secret's customer managed key) decrypts for the caller", requires: "sns:Publish|secretsmanager:GetSecretValue"},
	"s3:ListBucket":                  {reason: "S3 answers a missing release 404, not 403, only to a caller that may list the bucket; the artifact store reads the 404 as \"not published\"", requires: "s3:GetObject"},
	"sqs:SendMessage":                {reason: "Lambda sends an asynchronous invocation that failed to the function's failure queue with its role", failureQueue: true},
}

// roleCheck is what the check knows of one function.
type roleCheck struct {
	function     string
	file         operationsFile
	statements   []statement
	replace      *strings.Replacer // world names -> the stack's
	vpc          bool
	failureQueue bool
}

// missing returns the recorded grants no statement allows, and the
// problems that stop the check.
func (c roleCheck) missing() []string {
	var out []string
	for _, op := range sortedKeys(c.file.Operations) {
		for _, raw := range c.file.Operations[op] {
			action, resource, ok := strings.Cut(raw, " ")
			if !ok {
				out = append(out, fmt.Sprintf("%s: malformed grant %q", op, raw))
				continue
			}
			g := grant{action, c.replace.Replace(resource)}
			allowed, problem := c.allows(g, resource)
			if problem != "" {
				out = append(out, problem)
			} else if !allowed {
				out = append(out, fmt.Sprintf("%s (%s) is not allowed", g, op))
			}
		}
	}
	return out
}

// allows reports whether an Allow statement of the role allows g.
// Conditions are evaluated for ssm:resourceTag/<key> (from the recorded
// tags of worldResource); any other condition key on a statement that
// would allow g is a problem, since the check cannot tell.
func (c roleCheck) allows(g grant, worldResource string) (bool, string) {
	for _, st := range c.statements {
		if st.Effect != "Allow" || !anyMatch(st.Actions, g.action) || !anyMatch(st.Resources, g.resource) {
			continue
		}
		ok := true
		for op, m := range st.Conditions {
			for key, want := range m.(map[string]any) {
				tag, isTag := strings.CutPrefix(key, "ssm:resourceTag/")
				if !isTag || (op != "StringEquals" && op != "StringLike") {
					return false, fmt.Sprintf("%s: statement %q has condition %s %s, which this check cannot evaluate", g, st.Sid, op, key)
				}
				got, has := c.file.ResourceTags[worldResource][tag]
				if !has || !anyMatch(strs(want), got) {
					ok = false
				}
			}
		}
		if ok {
			return true, ""
		}
	}
	return false, ""
}

// unneeded returns the actions of the role its function never issues,
// the documented exceptions aside.
func (c roleCheck) unneeded() []string {
	issued := map[string]bool{}
	for _, gs := range c.file.Operations {
		for _, raw := range gs {
			a, _, _ := strings.Cut(raw, " ")
			issued[a] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, st := range c.statements {
		for _, a := range st.Actions {
			if issued[a] || seen[a] {
				continue
			}
			seen[a] = true
			ex, ok := unissued[a]
			switch {
			case !ok:
			case ex.vpc && !c.vpc, ex.failureQueue && !c.failureQueue:
			case ex.requires != "" && !slices.ContainsFunc(strings.Split(ex.requires, "|"), func(r string) bool { return issued[r] }):
			default:
				continue
			}
			out = append(out, fmt.Sprintf("%s (statement %q) is never issued by the function", a, st.Sid))
		}
	}
	return out
}

// anyMatch reports whether value matches one of patterns, with IAM's
// wildcards (* any run of characters, ? one).
func anyMatch(patterns []string, value string) bool {
	for _, p := range patterns {
		if p == value || wildcard(p).MatchString(value) {
			return true
		}
	}
	return false
}

var (
	wildcardsMu sync.Mutex
	wildcards   = map[string]*regexp.Regexp{}
)

func wildcard(p string) *regexp.Regexp {
	wildcardsMu.Lock()
	defer wildcardsMu.Unlock()
	if re, ok := wildcards[p]; ok {
		return re
	}
	var b strings.Builder
	b.WriteString("^")
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	re := regexp.MustCompile(b.String())
	wildcards[p] = re
	return re
}

// roleChecks builds the check of every function's role from the synthesized
// template and the operations files.
func roleChecks(t *testing.T, s *synthResult) []roleCheck {
	t.Helper()
	files := readOperations(t)
	cfg := s.stack.Config
	// A template ARN written as a GetAtt becomes the ARN it stands for, so
	// that it reads like the ARNs recorded in the world.
	var arnOf []string
	for id, r := range s.resources() {
		name := s.name(id)
		switch r.typ() {
		case "AWS::DynamoDB::Table":
			arnOf = append(arnOf, "<"+name+".Arn>", fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/<%s>", cfg.Region, cfg.Account, name))
		case "AWS::S3::Bucket":
			arnOf = append(arnOf, "<"+name+".Arn>", "arn:aws:s3:::<"+name+">")
		}
	}
	templateARNs := strings.NewReplacer(arnOf...)
	var out []roleCheck
	for _, f := range s.stack.Repo.Functions {
		file, ok := files[f]
		if !ok {
			t.Errorf("functions/%s has no testdata/operations/%s.json: give it a main_test.go that calls lambdaenvtest.Operations (see functions/lock), then run go test ./functions/%s -update in the root module", f, f, f)
			continue
		}
		_, fn := s.byPath(t, pascal(f)+"Function")
		vars, _ := s.resolve(fn.props()["Environment"]).(map[string]any)["Variables"].(map[string]any)
		var pairs []string
		for _, k := range sortedKeys(file.Settings) {
			world, stack := file.Settings[k], fmt.Sprint(vars[k])
			switch {
			case world == stack:
			case strings.HasPrefix(stack, "<") && strings.HasSuffix(stack, ">") && !strings.Contains(stack[1:], "<"):
				pairs = append(pairs, world, stack)
			default:
				t.Errorf("%s: setting %s is %q in the world of its operations file but %q in the stack: the scenarios must run with the stack's settings (lambdaenvtest.SlipwayConfig and the names in world.go)", f, k, world, stack)
			}
		}
		replace := strings.NewReplacer(longestFirst(pairs)...)
		var sts []statement
		for _, st := range s.roleStatements(t, pascal(f)+"Role") {
			for i, r := range st.Resources {
				st.Resources[i] = templateARNs.Replace(r)
			}
			sts = append(sts, st)
		}
		_, hasDLQ := fn.props()["DeadLetterConfig"]
		out = append(out, roleCheck{function: f, file: file, statements: sts, replace: replace,
			vpc: Specs[f].VPC, failureQueue: hasDLQ || s.hasFailureDestination(f)})
	}
	for f := range files {
		if !slices.Contains(s.stack.Repo.Functions, f) {
			t.Errorf("testdata/operations/%s.json is for a function that does not exist: remove it", f)
		}
	}
	return out
}

// hasFailureDestination reports whether the function's asynchronous
// invocations send failures to a destination (its EventInvokeConfig).
func (s *synthResult) hasFailureDestination(function string) bool {
	for _, r := range s.ofType("AWS::Lambda::EventInvokeConfig") {
		p := r.props()
		if fmt.Sprint(s.resolve(p["FunctionName"])) == "<"+pascal(function)+"Function>" {
			dc, _ := p["DestinationConfig"].(map[string]any)
			_, ok := dc["OnFailure"]
			return ok
		}
	}
	return false
}

// longestFirst orders old/new pairs for strings.NewReplacer so that a
// longer old string wins over one it contains.
func longestFirst(pairs []string) []string {
	type pair struct{ old, new string }
	var ps []pair
	for i := 0; i+1 < len(pairs); i += 2 {
		ps = append(ps, pair{pairs[i], pairs[i+1]})
	}
	sort.Slice(ps, func(i, j int) bool { return len(ps[i].old) > len(ps[j].old) })
	var out []string
	for _, p := range ps {
		out = append(out, p.old, p.new)
	}
	return out
}

// TestRolesAllowRecordedOperations: every AWS call a function's handler
// makes is allowed by its role, on the resource it makes it on.
func TestRolesAllowRecordedOperations(t *testing.T) {
	s := synth(t)
	for _, c := range roleChecks(t, s) {
		t.Run(c.function, func(t *testing.T) {
			for _, m := range c.missing() {
				t.Errorf("%s", m)
			}
		})
	}
}

// TestRolesHoldOnlyIssuedActions: a role holds no action its function
// never issues, but those AWS uses with the role on the function's behalf
// (unissued, each with its reason).
func TestRolesHoldOnlyIssuedActions(t *testing.T) {
	s := synth(t)
	for _, c := range roleChecks(t, s) {
		t.Run(c.function, func(t *testing.T) {
			for _, u := range c.unneeded() {
				t.Errorf("%s: remove it from the function's spec (infra/stack/functions.go), or add a scenario in which the code issues it", u)
			}
		})
	}
}

// TestRoleCheckCatchesEveryRemoval proves the check above: for every
// statement of every role, taking one of its actions out, or one of its
// resources, must make the check report a call that is no longer allowed.
// An action AWS uses on the function's behalf (unissued) is not recorded,
// so its removal cannot be seen here; everything else can.
func TestRoleCheckCatchesEveryRemoval(t *testing.T) {
	s := synth(t)
	for _, c := range roleChecks(t, s) {
		t.Run(c.function, func(t *testing.T) {
			if m := c.missing(); len(m) > 0 {
				t.Skipf("the role already misses grants (TestRolesAllowRecordedOperations): %v", m)
			}
			mutated := func(i int, edit func(st *statement)) roleCheck {
				cp := c
				cp.statements = slices.Clone(c.statements)
				st := cp.statements[i]
				st.Actions, st.Resources = slices.Clone(st.Actions), slices.Clone(st.Resources)
				edit(&st)
				cp.statements[i] = st
				return cp
			}
			for i, st := range c.statements {
				if !slices.ContainsFunc(st.Actions, func(a string) bool { _, ex := unissued[a]; return !ex }) {
					continue // only actions AWS uses on the function's behalf
				}
				for j, a := range st.Actions {
					if _, ex := unissued[a]; ex {
						continue
					}
					m := mutated(i, func(st *statement) { st.Actions = slices.Delete(st.Actions, j, j+1) })
					if len(m.missing()) == 0 {
						t.Errorf("removing %s from statement %q goes unnoticed", a, st.Sid)
					}
				}
				if len(st.Resources) < 2 {
					continue
				}
				for j, r := range st.Resources {
					m := mutated(i, func(st *statement) { st.Resources = slices.Delete(st.Resources, j, j+1) })
					if len(m.missing()) == 0 {
						t.Errorf("removing resource %s from statement %q goes unnoticed", r, st.Sid)
					}
				}
			}
		})
	}
}
