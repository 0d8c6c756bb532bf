package appconfig

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheck(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	c := Check(ctx, testManifest(t), "staging", s)
	if len(c.Problems) != 1 || c.Problems[0].Name != KeyProblem || !strings.Contains(c.Problems[0].Reason, "slipway local secret set slipway/demo/config-key") {
		t.Fatalf("Check() without the key: problems %+v, want the key's", c.Problems)
	}
	if err := s.Secrets.Put(KeySecretName("demo"), "0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	c = Check(ctx, testManifest(t), "staging", s)
	if !c.OK() || !strings.HasPrefix(c.Fingerprint, FingerprintPrefix) || len(c.Keys) != 3 {
		t.Fatalf("Check() = %+v, want no problem, a fingerprint and 3 key prints", c)
	}
	b, _ := json.Marshal(c)
	if strings.Contains(string(b), sentinel) || strings.Contains(string(b), "http://x") {
		t.Errorf("Check() JSON shows a value: %s", b)
	}
	c = Check(ctx, testManifest(t), "production", s)
	if c.OK() || c.Fingerprint != "" || c.Err() == nil {
		t.Errorf("Check(production) = %+v, want problems and no fingerprint", c)
	}
}

func TestDiff(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for k, v := range map[string]string{
		KeySecretName("demo"):       "0123456789abcdef0123456789abcdef",
		"demo/production/api":       `{"token":"` + sentinel + `"}`,
		"/demo/staging/feature-url": "http://x",
	} {
		if err := s.Secrets.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Diff(ctx, testManifest(t), "staging", "production", s)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res.Rows)
	want := `[{"name":"API_TOKEN","secret":true,"staging":"set","production":"set","same":true},` +
		`{"name":"FEATURE_URL","secret":false,"staging":"set","production":"missing","same":false},` +
		`{"name":"LOG_LEVEL","secret":false,"staging":"default","production":"set","same":false},` +
		`{"name":"OPTIONAL","secret":false,"staging":"missing","production":"missing","same":true}]`
	if d := cmp.Diff(want, string(got)); d != "" {
		t.Errorf("Diff() rows (-want +got):\n%s", d)
	}
	if p := res.Problems["production"]; len(p) != 1 || p[0].Name != "FEATURE_URL" {
		t.Errorf("Diff() problems = %+v, want production's FEATURE_URL", res.Problems)
	}
	if _, err := Diff(ctx, testManifest(t), "staging", "staging", s); err == nil {
		t.Error("Diff(staging, staging) = nil error")
	}
}
