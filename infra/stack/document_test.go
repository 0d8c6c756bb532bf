package stack

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHostDocument(t *testing.T) {
	s := synth(t)
	_, doc := s.byPath(t, "HostDocument")
	p := doc.props()
	if p["Name"] != "slipway-demo-host" || p["DocumentType"] != "Command" || p["UpdateMethod"] != "NewVersion" {
		t.Errorf("document Name, DocumentType, UpdateMethod = %v, %v, %v", p["Name"], p["DocumentType"], p["UpdateMethod"])
	}
	content := s.resolve(p["Content"]).(map[string]any)
	if content["schemaVersion"] != "2.2" {
		t.Errorf("schemaVersion = %v, want 2.2", content["schemaVersion"])
	}
	params := content["parameters"].(map[string]any)
	var names []string
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"action", "artifactKey", "configEnv", "configFingerprint", "deploymentId", "executionTimeout", "hook", "keep", "resolver", "sha256", "version"}, names); diff != "" {
		t.Errorf("parameters (-want +got):\n%s", diff)
	}

	steps := content["mainSteps"].([]any)
	if len(steps) != 4 {
		t.Fatalf("%d steps, want 4", len(steps))
	}
	// The configuration resolver, one per architecture, only when asked.
	for i, arch := range []string{"amd64", "arm64"} {
		r := steps[i].(map[string]any)
		inputs := r["inputs"].(map[string]any)
		if r["action"] != "aws:downloadContent" || r["name"] != "DownloadResolver"+strings.ToUpper(arch[:1])+arch[1:] ||
			fmt.Sprint(r["precondition"]) != "map[StringEquals:[{{ resolver }} download]]" ||
			inputs["destinationPath"] != "/var/lib/slipway/demo/download/slipway-env-"+arch ||
			!strings.HasPrefix(fmt.Sprint(inputs["sourceInfo"]), `{"path":"https://s3.eu-west-1.amazonaws.com/`) {
			t.Errorf("resolver step %d = %v", i, r)
		}
	}
	steps = steps[2:]
	download := steps[0].(map[string]any)
	wantDownload := map[string]any{
		"action":       "aws:downloadContent",
		"name":         "DownloadRelease",
		"precondition": map[string]any{"StringEquals": []any{"{{ action }}", "activate"}},
		"inputs": map[string]any{
			"sourceType":      "S3",
			"sourceInfo":      `{"path":"https://s3.eu-west-1.amazonaws.com/<Artifacts>/{{ artifactKey }}"}`,
			"destinationPath": "/var/lib/slipway/demo/download/{{ version }}.tar.gz",
		},
	}
	if diff := cmp.Diff(wantDownload, download); diff != "" {
		t.Errorf("download step (-want +got):\n%s", diff)
	}
	run := steps[1].(map[string]any)
	inputs := run["inputs"].(map[string]any)
	if run["action"] != "aws:runShellScript" || inputs["timeoutSeconds"] != "{{ executionTimeout }}" {
		t.Errorf("run step = %v %v", run["action"], inputs["timeoutSeconds"])
	}
	var lines []string
	for _, l := range inputs["runCommand"].([]any) {
		lines = append(lines, l.(string))
	}
	script := strings.Join(lines, "\n") + "\n"

	// The host script is embedded byte for byte.
	start := strings.Index(script, "<<'"+hostScriptEOF+"'\n")
	end := strings.Index(script, "\n"+hostScriptEOF+"\n")
	if start < 0 || end < 0 {
		t.Fatalf("no here-document with the host script in the run step")
	}
	embedded := script[start+len("<<'"+hostScriptEOF+"'\n") : end+1]
	host, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "slipway-host.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if embedded != string(host) {
		t.Errorf("the embedded host script differs from scripts/slipway-host.sh")
	}
	for _, want := range []string{
		"SLIPWAY_ROOT=/opt/demo",
		"SLIPWAY_DEPLOYMENT_ID='{{ deploymentId }}'",
		"SLIPWAY_CONFIG_FINGERPRINT='{{ configFingerprint }}'",
		"SLIPWAY_CONFIG_ENV='{{ configEnv }}'",
		`SLIPWAY_CONFIG_RESOLVER="$dir/slipway-env"`,
		`"$script" activate "$version" "$artifact" '{{ sha256 }}'`,
		`exec "$script" rollback "$version"`,
		`exec "$script" status`,
		`exec "$script" hook '{{ hook }}' "$version"`,
		`exec "$script" prune "$keep"`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("run step lacks %q", want)
		}
	}

	// With parameters filled in, the run step is valid sh.
	filled := regexp.MustCompile(`\{\{ (\w+) \}\}`).ReplaceAllStringFunc(script, func(m string) string {
		return map[string]string{"{{ action }}": "activate", "{{ version }}": "v2", "{{ sha256 }}": strings.Repeat("a", 64),
			"{{ deploymentId }}": "staging-v2-1", "{{ keep }}": "5", "{{ artifactKey }}": "demo/v2.tar.gz",
			"{{ configFingerprint }}": "hmac-sha256:0123456789abcdef0123456789abcdef", "{{ configEnv }}": "staging", "{{ resolver }}": "download", "{{ hook }}": "before_traffic"}[m]
	})
	cmd := exec.Command("sh", "-n")
	cmd.Stdin = strings.NewReader(filled)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sh -n on the run step: %v\n%s", err, out)
	}

	// Parameters can only carry characters that are inert in a
	// single-quoted shell word and in a URL path.
	hostile := []string{"v1'; rm -rf /; '", "$(reboot)", "a b", "../../etc/passwd", "`id`", "x\ny"}
	valid := map[string]string{"version": "v2.0.1+build-7", "artifactKey": "demo/3f9a1c2d.tar.gz", "sha256": strings.Repeat("F", 64),
		"deploymentId": "staging-v2-20261126T012504Z-91c2", "keep": "5", "executionTimeout": "600",
		"configFingerprint": "hmac-sha256:0123456789abcdef0123456789abcdef", "configEnv": "staging", "resolver": "download", "hook": "after_traffic"}
	for name, raw := range params {
		def := raw.(map[string]any)
		if name == "action" {
			if fmt.Sprint(def["allowedValues"]) != "[activate rollback status hook prune]" {
				t.Errorf("action allowedValues = %v", def["allowedValues"])
			}
			continue
		}
		re, err := regexp.Compile(def["allowedPattern"].(string))
		if err != nil {
			t.Errorf("%s: allowedPattern: %v", name, err)
			continue
		}
		if !re.MatchString(valid[name]) {
			t.Errorf("%s: allowedPattern rejects %q", name, valid[name])
		}
		if d := def["default"].(string); !re.MatchString(d) {
			t.Errorf("%s: allowedPattern rejects its default %q", name, d)
		}
		for _, h := range hostile {
			if re.MatchString(h) {
				t.Errorf("%s: allowedPattern accepts %q", name, h)
			}
		}
	}
	if re := regexp.MustCompile(params["artifactKey"].(map[string]any)["allowedPattern"].(string)); re.MatchString("billing/v2.tar.gz") {
		t.Errorf("artifactKey accepts another app's bundle")
	}
}

// TestHostDocumentTakesTheAdaptersParameters reads the SSM adapter's
// parameter names (the SSMParam* constants of package internal/fleet) and
// checks that they are exactly the parameters the document declares. The
// infra module does not import the root module, so it reads the source.
func TestHostDocumentTakesTheAdaptersParameters(t *testing.T) {
	consts, err := stringConsts(filepath.Join(repoRoot(t), "internal", "fleet"), "SSMParam")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"SSMParamAction": ParamAction, "SSMParamVersion": ParamVersion, "SSMParamArtifactKey": ParamArtifactKey,
		"SSMParamSHA256": ParamSHA256, "SSMParamDeploymentID": ParamDeploymentID, "SSMParamKeep": ParamKeep,
		"SSMParamExecutionTimeout": ParamExecutionTimeout, "SSMParamHook": ParamHook,
		"SSMParamConfigFingerprint": ParamConfigFingerprint, "SSMParamConfigEnv": ParamConfigEnv, "SSMParamResolver": ParamResolver,
	}
	if diff := cmp.Diff(want, consts); diff != "" {
		t.Errorf("internal/fleet SSMParam* constants (-document +adapter):\n%s", diff)
	}
}

// TestLedgerTableMatchesAdapter reads the exported Dynamo* constants of
// package internal/ledger (the table design's source of truth) and checks
// the stack's copies.
func TestLedgerTableMatchesAdapter(t *testing.T) {
	consts, err := stringConsts(filepath.Join(repoRoot(t), "internal", "ledger"), "Dynamo")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"DynamoPartitionKey": TablePartitionKey, "DynamoSortKey": TableSortKey,
		"DynamoGSIByEnv": IndexByEnv, "DynamoGSIByEnvPartitionKey": IndexByEnvPartKey, "DynamoGSIByEnvSortKey": IndexByEnvSortKey,
		"DynamoGSIByApp": IndexByApp, "DynamoGSIByAppPartitionKey": IndexByAppPartKey, "DynamoGSIByAppSortKey": IndexByAppSortKey,
		"DynamoTTLAttribute": TableTTLAttribute,
	}
	if diff := cmp.Diff(want, consts); diff != "" {
		t.Errorf("internal/ledger Dynamo* constants (-stack +adapter):\n%s", diff)
	}
}

// TestStringConsts: the reader above finds constants in any file of the
// package, grouped or not, and ignores tests, other prefixes, unexported
// names and non-string constants; a missing package is an error.
func TestStringConsts(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.go":      "package p\n\nconst (\n\tPreA = \"a\"\n\tpreB = \"b\"\n\tOtherC = \"c\"\n\tPreN = 3\n)\n",
		"b.go":      "package p\n\nconst PreD, PreE = \"d\", `e`\n",
		"a_test.go": "package p\n\nconst PreT = \"t\"\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := stringConsts(dir, "Pre")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"PreA": "a", "PreD": "d", "PreE": "e"}, got); diff != "" {
		t.Errorf("stringConsts (-want +got):\n%s", diff)
	}
	if _, err := stringConsts(filepath.Join(dir, "missing"), "Pre"); err == nil {
		t.Errorf("stringConsts(missing directory) = nil error, want one")
	}
}

// stringConsts returns the exported string constants whose names start
// with prefix, declared in the non-test Go files of the package in dir.
func stringConsts(dir, prefix string) (map[string]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("read package %s: no Go files", dir)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, prefix) || !n.IsExported() || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						out[n.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	return out, nil
}
