package appconfig

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/slipway-deploy/slipway/internal/secret"
)

// SSMAPI is the part of *ssm.Client that AWS uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var _ SSMAPI = (*ssm.Client)(nil)

// AWS is the Store on AWS: SSM Parameter Store (GetParameter, decrypted)
// and Secrets Manager (GetSecretValue, stage AWSCURRENT). Nothing is
// cached: a check reads what a host activating now would read. Its errors
// name the reference and what to do, never a value; a throttled or failed
// call wraps the API error, so that the pipeline can see it is transient.
type AWS struct {
	SSM     SSMAPI
	Secrets secret.ManagerAPI
}

var _ Store = (*AWS)(nil)

// Parameter reads an SSM parameter, decrypting a SecureString.
func (a *AWS) Parameter(ctx context.Context, name string) (secret.Value, error) {
	out, err := a.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		var nf *ssmtypes.ParameterNotFound
		if errors.As(err, &nf) {
			return secret.Value{}, fmt.Errorf("SSM parameter %s does not exist: create it (aws ssm put-parameter --name %s --type SecureString --value ...), or fix the reference in slipway.yaml: %w", name, name, ErrNotFound)
		}
		return secret.Value{}, apiError(err, "SSM parameter "+name, "ssm:GetParameter on the parameter (and kms:Decrypt on its key, for a SecureString)")
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return secret.Value{}, fmt.Errorf("SSM parameter %s has no value", name)
	}
	return secret.NewValue(aws.ToString(out.Parameter.Value)), nil
}

// Secret reads a secret's current string value.
func (a *AWS) Secret(ctx context.Context, name string) (secret.Value, error) {
	out, err := a.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return secret.Value{}, fmt.Errorf("secret %s does not exist in Secrets Manager: create it (aws secretsmanager create-secret --name %s --secret-string ...), or fix the reference in slipway.yaml: %w", name, name, ErrNotFound)
		}
		return secret.Value{}, apiError(err, "secret "+name, "secretsmanager:GetSecretValue on the secret (and kms:Decrypt on its key)")
	}
	if out.SecretString == nil {
		return secret.Value{}, fmt.Errorf("secret %s holds binary data: an environment variable needs a string (store it as SecretString, base64 encoded if need be)", name)
	}
	return secret.NewValue(aws.ToString(out.SecretString)), nil
}

// apiError explains an AWS error on what ("SSM parameter /x"). The API's
// own message is kept only for transient errors (which it wraps): access
// denied messages name the caller's role, which the advice already says.
func apiError(err error, what, needs string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied":
			return fmt.Errorf("read %s: access denied: the role needs %s", what, needs)
		case "DecryptionFailure", "InvalidKeyId":
			return fmt.Errorf("read %s: its KMS key could not decrypt it (%s): the role needs kms:Decrypt on the key, and the key policy must allow it", what, ae.ErrorCode())
		case "ThrottlingException", "Throttling", "TooManyRequestsException", "InternalServiceError", "InternalServerError":
			return fmt.Errorf("read %s: %s (transient, try again): %w", what, ae.ErrorCode(), err)
		}
	}
	return fmt.Errorf("read %s: %w", what, err)
}
