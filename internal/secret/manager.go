package secret

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// ManagerAPI is the part of *secretsmanager.Client that Manager uses.
type ManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ ManagerAPI = (*secretsmanager.Client)(nil)

// Manager reads secrets from AWS Secrets Manager. A value is fetched once per
// container (Lambda cold start) and then served from memory.
type Manager struct {
	Client ManagerAPI
	// VersionStage is the stage to read; empty means AWSCURRENT.
	VersionStage string
	cache        cache
}

// Get returns the secret's string value.
func (m *Manager) Get(ctx context.Context, name string) (Value, error) {
	stage := m.VersionStage
	if stage == "" {
		stage = "AWSCURRENT"
	}
	key := name + "\x00" + stage
	if v, ok := m.cache.get(key); ok {
		return v, nil
	}
	out, err := m.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionStage: aws.String(stage)})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return Value{}, &NotFoundError{Name: name, Where: "Secrets Manager (stage " + stage + ")"}
		}
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "AccessDeniedException":
				return Value{}, fmt.Errorf("get secret %q: access denied: the function's role needs secretsmanager:GetSecretValue on it (and kms:Decrypt on its key)", name)
			case "DecryptionFailure":
				return Value{}, fmt.Errorf("get secret %q: Secrets Manager could not decrypt it with its KMS key: check the key policy", name)
			case "ThrottlingException", "InternalServiceError":
				return Value{}, fmt.Errorf("get secret %q: %s (transient): %w", name, ae.ErrorCode(), err)
			}
		}
		return Value{}, fmt.Errorf("get secret %q: %w", name, err)
	}
	if out.SecretString == nil {
		return Value{}, fmt.Errorf("get secret %q: it holds binary data; Slipway needs a string (RDS-style JSON)", name)
	}
	v := NewValue(aws.ToString(out.SecretString))
	m.cache.put(key, v)
	return v, nil
}
