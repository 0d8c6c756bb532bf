package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// The tests share one synth of the fixture configuration: jsii starts Node
// for every app, and a synth takes seconds. Tests that need no synth (the
// configuration, the repository checks, the matcher) do not trigger it.

const fixtureConfig = "testdata/config.json"

var (
	synthOnce sync.Once
	synthed   *synthResult
	synthErr  error
	tempDirs  []string
)

type synthResult struct {
	stack     *Stack
	outdir    string
	template  map[string]any
	findings  []Finding
	paths     map[string]string // logical id -> construct path below the stack
	assertion assertions.Template
	// lint is cfn-lint's verdict on the template, started as soon as the
	// template is written so that it runs while the other tests do.
	lint <-chan lintResult
}

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// synth synthesizes the fixture stack once, with the AwsSolutions checks,
// as `make synth` does.
func synth(t *testing.T) *synthResult {
	t.Helper()
	synthOnce.Do(func() { synthed, synthErr = doSynth() })
	if synthErr != nil {
		t.Fatalf("synth: %v", synthErr)
	}
	return synthed
}

func doSynth() (*synthResult, error) {
	cfg, err := LoadConfig(fixtureConfig)
	if err != nil {
		return nil, err
	}
	return synthConfig(cfg)
}

// synthEdited synthesizes the fixture as edit changes it, and fails t on
// a configuration error, a synthesis error or a cdk-nag finding.
func synthEdited(t *testing.T, edit func(m map[string]any)) *synthResult {
	t.Helper()
	m := fixture(t)
	edit(m)
	b, _ := json.Marshal(m)
	cfg, err := ParseConfig(t.Name()+".json", b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := synthConfig(cfg)
	if err != nil {
		t.Fatalf("synth: %v", err)
	}
	for _, f := range s.findings {
		t.Errorf("cdk-nag: %s", f)
	}
	return s
}

// synthConfig synthesizes the stack of cfg, with the AwsSolutions checks.
func synthConfig(cfg *Config) (_ *synthResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	root, err := FindRoot(".")
	if err != nil {
		return nil, err
	}
	dist, err := distDir(root)
	if err != nil {
		return nil, err
	}
	repo, err := ReadRepo(root, dist)
	if err != nil {
		return nil, err
	}
	outdir, err := os.MkdirTemp("", "slipway-cdk-out-")
	if err != nil {
		return nil, err
	}
	tempDirs = append(tempDirs, outdir)
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir: jsii.String(outdir),
		// As the CDK CLI does: record each resource's construct path.
		Context: &map[string]any{"aws:cdk:enable-path-metadata": true},
	})
	s, err := New(app, cfg, repo)
	if err != nil {
		return nil, err
	}
	Check(app)
	app.Synth(nil)
	r := &synthResult{stack: s, outdir: outdir, paths: map[string]string{}}
	b, err := os.ReadFile(filepath.Join(outdir, Name(cfg)+".template.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &r.template); err != nil {
		return nil, err
	}
	r.lint = startCfnLint(filepath.Join(outdir, Name(cfg)+".template.json"), cfg.Region)
	for id, res := range r.resources() {
		if p, ok := res.metadata()["aws:cdk:path"].(string); ok {
			p = strings.TrimPrefix(p, Name(cfg)+"/")
			r.paths[id] = strings.TrimSuffix(p, "/Resource")
		}
	}
	if r.findings, err = Findings(outdir); err != nil {
		return nil, err
	}
	r.assertion = assertions.Template_FromJSON(&r.template, nil)
	return r, nil
}

// distDir is where the built functions are: $SLIPWAY_DIST, else the
// repository's dist/ when `make build` filled it, else a temporary
// directory the functions are built into now (the real code, never a
// stand-in).
func distDir(root string) (string, error) {
	if d := os.Getenv("SLIPWAY_DIST"); d != "" {
		return d, nil
	}
	fns, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return "", err
	}
	complete := true
	for _, f := range fns {
		if f.IsDir() && !fileExists(filepath.Join(root, "dist", f.Name(), "bootstrap")) {
			complete = false
		}
	}
	for _, a := range ResolverArches {
		if !fileExists(filepath.Join(root, "dist", "slipway-env", "linux-"+a, "slipway-env")) {
			complete = false
		}
	}
	if complete {
		return filepath.Join(root, "dist"), nil
	}
	dir, err := os.MkdirTemp("", "slipway-dist-")
	if err != nil {
		return "", err
	}
	tempDirs = append(tempDirs, dir)
	// The go command on PATH (the one make and go test run), or the one
	// in $GOROOT where that is set.
	goBin := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		goBin = filepath.Join(root, "bin", "go")
	}
	for _, f := range fns {
		if !f.IsDir() {
			continue
		}
		cmd := exec.Command(goBin, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w",
			"-o", filepath.Join(dir, f.Name(), "bootstrap"), "./functions/"+f.Name())
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build functions/%s (dist/ is incomplete; `make build` fills it): %v\n%s", f.Name(), err, out)
		}
	}
	for _, a := range ResolverArches {
		cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", "-s -w",
			"-o", filepath.Join(dir, "slipway-env", "linux-"+a, "slipway-env"), "./cmd/slipway-env")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+a)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build cmd/slipway-env for %s (dist/ is incomplete; `make build` fills it): %v\n%s", a, err, out)
		}
	}
	return dir, nil
}

// resource is one template resource.
type resource map[string]any

func (r resource) typ() string              { s, _ := r["Type"].(string); return s }
func (r resource) props() map[string]any    { m, _ := r["Properties"].(map[string]any); return m }
func (r resource) metadata() map[string]any { m, _ := r["Metadata"].(map[string]any); return m }
func (s *synthResult) resources() map[string]resource {
	out := map[string]resource{}
	for id, v := range s.template["Resources"].(map[string]any) {
		out[id] = resource(v.(map[string]any))
	}
	return out
}

// ofType returns the resources of a type, by logical id.
func (s *synthResult) ofType(typ string) map[string]resource {
	out := map[string]resource{}
	for id, r := range s.resources() {
		if r.typ() == typ {
			out[id] = r
		}
	}
	return out
}

// byPath returns the resource at a construct path below the stack.
func (s *synthResult) byPath(t *testing.T, path string) (string, resource) {
	t.Helper()
	for id, p := range s.paths {
		if p == path {
			return id, s.resources()[id]
		}
	}
	t.Fatalf("no resource at %s", path)
	return "", nil
}

// resolve turns CloudFormation intrinsics into readable strings:
// {"Ref": "AWS::Partition"} is "aws", {"Ref": X} is "<path of X>",
// {"Fn::GetAtt": [X, "Arn"]} is "<path of X>.Arn", Fn::Join is joined.
func (s *synthResult) resolve(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			if ref, ok := v["Ref"].(string); ok {
				switch ref {
				case "AWS::Partition":
					return "aws"
				case "AWS::URLSuffix":
					return "amazonaws.com"
				}
				return "<" + s.name(ref) + ">"
			}
			if att, ok := v["Fn::GetAtt"].([]any); ok && len(att) == 2 {
				return fmt.Sprintf("<%s.%s>", s.name(att[0].(string)), att[1])
			}
			if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
				var parts []string
				for _, p := range join[1].([]any) {
					parts = append(parts, fmt.Sprint(s.resolve(p)))
				}
				return strings.Join(parts, join[0].(string))
			}
		}
		out := map[string]any{}
		for k, x := range v {
			out[k] = s.resolve(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = s.resolve(x)
		}
		return out
	}
	return v
}

func (s *synthResult) name(logicalID string) string {
	if p, ok := s.paths[logicalID]; ok {
		return p
	}
	return logicalID
}

// statement is a policy statement, resolved, with lists sorted.
type statement struct {
	Sid        string
	Effect     string
	Actions    []string
	Resources  []string
	Conditions map[string]any
}

func (s *synthResult) statements(doc any) []statement {
	d := s.resolve(doc).(map[string]any)
	var out []statement
	for _, raw := range d["Statement"].([]any) {
		m := raw.(map[string]any)
		st := statement{Effect: fmt.Sprint(m["Effect"]), Actions: strs(m["Action"]), Resources: strs(m["Resource"])}
		st.Sid, _ = m["Sid"].(string)
		st.Conditions, _ = m["Condition"].(map[string]any)
		out = append(out, st)
	}
	return out
}

func strs(v any) []string {
	var out []string
	switch v := v.(type) {
	case nil:
	case []any:
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
	default:
		out = append(out, fmt.Sprint(v))
	}
	sort.Strings(out)
	return out
}

// roleStatements returns the statements of every policy attached to the
// role at path (inline policies and AWS::IAM::Policy resources).
func (s *synthResult) roleStatements(t *testing.T, rolePath string) []statement {
	t.Helper()
	roleID, role := s.byPath(t, rolePath)
	var out []statement
	for _, p := range asSlice(role.props()["Policies"]) {
		out = append(out, s.statements(p.(map[string]any)["PolicyDocument"])...)
	}
	for _, p := range s.ofType("AWS::IAM::Policy") {
		for _, r := range asSlice(p.props()["Roles"]) {
			if ref, ok := r.(map[string]any)["Ref"]; ok && ref == roleID {
				out = append(out, s.statements(p.props()["PolicyDocument"])...)
			}
		}
	}
	if len(asSlice(role.props()["ManagedPolicyArns"])) > 0 {
		t.Errorf("role %s has managed policies %v, want none", rolePath, role.props()["ManagedPolicyArns"])
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// must runs an assertions call, which panics on failure, as a test error.
func must(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}
