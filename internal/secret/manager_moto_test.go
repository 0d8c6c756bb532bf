package secret

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/slipway-deploy/slipway/internal/moto"
)

func TestMain(m *testing.M) { moto.Main(m) }

// TestManagerOnMoto reads secrets from Secrets Manager as moto implements
// it: by name and by ARN, the current and the previous stage, a missing
// secret and a binary one.
func TestManagerOnMoto(t *testing.T) {
	ctx := context.Background()
	client := secretsmanager.NewFromConfig(moto.Shared(t).Config())
	const first, second = `{"engine":"postgres","password":"first"}`, `{"engine":"postgres","password":"second"}`
	created, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("slipway/moto/db"), SecretString: aws.String(first)})
	if err != nil {
		t.Fatalf("create secret in moto: %v", err)
	}
	if _, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: created.ARN, SecretString: aws.String(second)}); err != nil {
		t.Fatalf("put secret value in moto: %v", err)
	}
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("slipway/moto/binary"), SecretBinary: []byte{0, 1, 2}}); err != nil {
		t.Fatalf("create binary secret in moto: %v", err)
	}
	tests := []struct {
		name    string
		stage   string
		id      string
		want    string
		wantErr string
		notFnd  bool
	}{
		{name: "current by name", id: "slipway/moto/db", want: second},
		{name: "current by ARN", id: aws.ToString(created.ARN), want: second},
		{name: "previous stage", stage: "AWSPREVIOUS", id: "slipway/moto/db", want: first},
		{name: "missing", id: "slipway/moto/nope", notFnd: true},
		{name: "binary", id: "slipway/moto/binary", wantErr: "binary data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manager{Client: client, VersionStage: tt.stage}
			v, err := m.Get(ctx, tt.id)
			var nf *NotFoundError
			switch {
			case tt.notFnd:
				if !errors.As(err, &nf) {
					t.Errorf("Get(%s) = %v, want *NotFoundError", tt.id, err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Get(%s) = %v, want an error saying %q", tt.id, err, tt.wantErr)
				}
			case err != nil || v.Reveal() != tt.want:
				t.Errorf("Get(%s) = %q, %v; want %q", tt.id, v.Reveal(), err, tt.want)
			}
		})
	}
}
