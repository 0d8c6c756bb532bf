package appconfig

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/slipway-deploy/slipway/internal/moto"
)

func TestMain(m *testing.M) { moto.Main(m) }

// TestAWSOnMoto resolves a manifest against SSM and Secrets Manager as
// moto implements them: a SecureString parameter decrypted, a secret's
// JSON key, the fingerprint key, and a missing parameter and secret
// reported as ErrNotFound.
func TestAWSOnMoto(t *testing.T) {
	ctx := context.Background()
	cfg := moto.Shared(t).Config()
	s := &AWS{SSM: ssm.NewFromConfig(cfg), Secrets: secretsmanager.NewFromConfig(cfg)}
	if _, err := s.SSM.(*ssm.Client).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/demo/staging/feature-url"), Type: ssmtypes.ParameterTypeSecureString, Value: aws.String("http://x")}); err != nil {
		t.Fatalf("put parameter in moto: %v", err)
	}
	sm := s.Secrets.(*secretsmanager.Client)
	for name, v := range map[string]string{"demo/staging/api": `{"token":"` + sentinel + `"}`, KeySecretName("demo"): "0123456789abcdef0123456789abcdef"} {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(v)}); err != nil {
			t.Fatalf("create secret %s in moto: %v", name, err)
		}
	}
	vals, err := Resolve(ctx, "staging", Entries(testManifest(t), "staging"), s)
	if err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	if vals["API_TOKEN"].Reveal() != sentinel || vals["FEATURE_URL"].Reveal() != "http://x" || vals["LOG_LEVEL"].Reveal() != "info" {
		t.Errorf("Resolve() = API_TOKEN %q, FEATURE_URL %q, LOG_LEVEL %q", vals["API_TOKEN"].Reveal(), vals["FEATURE_URL"].Reveal(), vals["LOG_LEVEL"].Reveal())
	}
	if key, err := LoadKey(ctx, s, "demo"); err != nil || len(key) != 32 {
		t.Errorf("LoadKey() = %d bytes, %v", len(key), err)
	}
	if _, err := s.Parameter(ctx, "/demo/staging/nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Parameter(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.Secret(ctx, "demo/staging/nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Secret(missing) = %v, want ErrNotFound", err)
	}
}
