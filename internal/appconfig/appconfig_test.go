package appconfig

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/secret"
)

const sentinel = "s3ntinel-Value-9f2"

func testManifest(t *testing.T) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Parse([]byte(`app: demo
service: {start: bin/app}
config:
  LOG_LEVEL: {default: info, values: {production: warn}}
  API_TOKEN:
    secret: true
    values: {staging: "secret:demo/staging/api#token", production: "secret:demo/production/api#token"}
  FEATURE_URL:
    values: {staging: "ssm:/demo/staging/feature-url"}
  OPTIONAL: {required: false}
`))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testStore(t *testing.T) *File {
	t.Helper()
	f := &secret.File{Path: filepath.Join(t.TempDir(), "secrets.json")}
	for k, v := range map[string]string{
		"demo/staging/api":          `{"token":"` + sentinel + `","n":3}`,
		"/demo/staging/feature-url": "http://x",
	} {
		if err := f.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return &File{Secrets: f}
}

func TestResolve(t *testing.T) {
	m := testManifest(t)
	vals, err := Resolve(context.Background(), "staging", Entries(m, "staging"), testStore(t))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range vals {
		got[k] = v.Reveal()
	}
	want := map[string]string{"LOG_LEVEL": "info", "API_TOKEN": sentinel, "FEATURE_URL": "http://x"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Resolve() values (-want +got):\n%s", d)
	}
	env := string(EnvFile(vals))
	for _, line := range []string{"API_TOKEN='" + sentinel + "'", "FEATURE_URL='http://x'", "LOG_LEVEL='info'"} {
		if !strings.Contains(env, line+"\n") {
			t.Errorf("EnvFile() lacks %q:\n%s", line, env)
		}
	}
}

func TestResolveReportsEveryProblemWithoutValues(t *testing.T) {
	m := testManifest(t)
	_, err := Resolve(context.Background(), "production", Entries(m, "production"), testStore(t))
	var re *ResolveError
	if !errors.As(err, &re) {
		t.Fatalf("Resolve() error = %v, want *ResolveError", err)
	}
	names := []string{}
	for _, p := range re.Problems {
		names = append(names, p.Name)
	}
	if d := cmp.Diff([]string{"API_TOKEN", "FEATURE_URL"}, names); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	for _, want := range []string{"secret:demo/production/api#token", "config.FEATURE_URL.values.production", "slipway local secret set demo/production/api"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	// A JSON key that is not there names the keys, never the values.
	s := testStore(t)
	if err := s.Secrets.Put("demo/production/api", `{"other":"`+sentinel+`"}`); err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(context.Background(), "production", Entries(m, "production")[:1], s)
	if err == nil || !strings.Contains(err.Error(), `no key "token" (its keys: "other")`) || strings.Contains(err.Error(), sentinel) {
		t.Errorf("Resolve() error = %v", err)
	}
}

func TestResolveRefusesLineBreaks(t *testing.T) {
	s := testStore(t)
	if err := s.Secrets.Put("demo/staging/api", `{"token":"a\nb"}`); err != nil {
		t.Fatal(err)
	}
	_, err := Resolve(context.Background(), "staging", Entries(testManifest(t), "staging"), s)
	if err == nil || !strings.Contains(err.Error(), "base64") {
		t.Errorf("Resolve() error = %v, want a line-break refusal", err)
	}
}

func TestFingerprint(t *testing.T) {
	key := []byte("k1")
	a := Values{"A": secret.NewValue("1"), "B": secret.NewValue(sentinel)}
	same := Values{"B": secret.NewValue(sentinel), "A": secret.NewValue("1")}
	shifted := Values{"A": secret.NewValue("1B"), "": secret.NewValue(sentinel)}
	if Fingerprint(key, a) != Fingerprint(key, same) {
		t.Error("equal sets have different fingerprints")
	}
	if Fingerprint(key, a) == Fingerprint(key, shifted) {
		t.Error("different sets share a fingerprint")
	}
	if Fingerprint(key, a) == Fingerprint([]byte("k2"), a) {
		t.Error("the fingerprint does not depend on the key")
	}
	if fp := Fingerprint(key, a); !strings.HasPrefix(fp, FingerprintPrefix) || strings.Contains(fp, sentinel) {
		t.Errorf("Fingerprint() = %q", fp)
	}
	before := KeyPrints(key, a)
	after := KeyPrints(key, Values{"A": secret.NewValue("2"), "C": secret.NewValue("x"), "B": secret.NewValue(sentinel)})
	if d := cmp.Diff([]string{"A", "C"}, Changed(before, after)); d != "" {
		t.Errorf("Changed() (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"A", "C"}, Changed(after, before)); d != "" {
		t.Errorf("Changed() reversed (-want +got):\n%s", d)
	}
}

func TestEnvFileReadByHostScriptRules(t *testing.T) {
	vals := Values{"Q": secret.NewValue("it's"), "S": secret.NewValue("a b $HOME `x`")}
	got := string(EnvFile(vals))
	if !strings.Contains(got, "Q=\"it's\"\n") || !strings.Contains(got, "S='a b $HOME `x`'\n") {
		t.Errorf("EnvFile() =\n%s", got)
	}
}
