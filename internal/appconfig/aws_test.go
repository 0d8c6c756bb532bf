package appconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// fakeAWS speaks the JSON 1.1 protocol of SSM and Secrets Manager: it
// records each request's target and body and answers what answer says.
type fakeAWS struct {
	mu       sync.Mutex
	requests []map[string]any
	answer   func(n int, req map[string]any) (int, string)
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := map[string]any{}
	json.Unmarshal(body, &req)
	req["target"] = r.Header.Get("X-Amz-Target")
	f.mu.Lock()
	f.requests = append(f.requests, req)
	n := len(f.requests)
	f.mu.Unlock()
	code, out := f.answer(n, req)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(code)
	fmt.Fprint(w, out)
}

func awsError(code, msg string) (int, string) {
	return http.StatusBadRequest, fmt.Sprintf(`{"__type":"%s","message":"%s"}`, code, msg)
}

func newAWSStore(t *testing.T, f *fakeAWS) *AWS {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	creds := credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 5 * time.Millisecond })
	}
	return &AWS{
		SSM:     ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds, Retryer: retryer()}),
		Secrets: secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds, Retryer: retryer()}),
	}
}

func ssmParameter(name, value string) (int, string) {
	b, _ := json.Marshal(map[string]any{"Parameter": map[string]any{
		"Name": name, "Type": "SecureString", "Value": value, "Version": 3,
		"ARN": "arn:aws:ssm:us-east-1:123456789012:parameter" + name, "DataType": "text", "LastModifiedDate": 1.7e9,
	}})
	return http.StatusOK, string(b)
}

func smSecret(name, value string) (int, string) {
	b, _ := json.Marshal(map[string]any{
		"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf", "Name": name,
		"SecretString": value, "VersionId": "v-1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
	})
	return http.StatusOK, string(b)
}

func TestAWSParameterOnTheWire(t *testing.T) {
	const name = "/demo/production/api-url"
	tests := []struct {
		name      string
		answer    func(n int, req map[string]any) (int, string)
		wantErr   []string
		notFound  bool
		transient bool
		wantCalls int
	}{
		{name: "decrypted value", answer: func(int, map[string]any) (int, string) { return ssmParameter(name, sentinel) }, wantCalls: 1},
		{name: "throttled, then served", answer: func(n int, _ map[string]any) (int, string) {
			if n == 1 {
				return awsError("ThrottlingException", "Rate exceeded")
			}
			return ssmParameter(name, sentinel)
		}, wantCalls: 2},
		{name: "not found", answer: func(int, map[string]any) (int, string) { return awsError("ParameterNotFound", "") },
			wantErr: []string{"SSM parameter /demo/production/api-url does not exist", "aws ssm put-parameter --name /demo/production/api-url", "fix the reference"}, notFound: true, wantCalls: 1},
		{name: "access denied", answer: func(int, map[string]any) (int, string) {
			return awsError("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/preflight is not authorized to perform: ssm:GetParameter")
		}, wantErr: []string{"access denied", "ssm:GetParameter", "kms:Decrypt"}, wantCalls: 1},
		{name: "throttled throughout", answer: func(int, map[string]any) (int, string) { return awsError("ThrottlingException", "Rate exceeded") },
			wantErr: []string{"ThrottlingException (transient"}, transient: true, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAWS{answer: tt.answer}
			v, err := newAWSStore(t, f).Parameter(context.Background(), name)
			checkStoreResult(t, v.Reveal(), err, tt.wantErr, tt.notFound, tt.transient)
			if len(f.requests) != tt.wantCalls {
				t.Errorf("requests = %d, want %d", len(f.requests), tt.wantCalls)
			}
			want := map[string]any{"target": "AmazonSSM.GetParameter", "Name": name, "WithDecryption": true}
			if d := cmp.Diff(want, f.requests[0]); d != "" {
				t.Errorf("request (-want +got):\n%s", d)
			}
		})
	}
}

func TestAWSSecretOnTheWire(t *testing.T) {
	const name = "demo/production/api"
	tests := []struct {
		name      string
		answer    func(n int, req map[string]any) (int, string)
		wantErr   []string
		notFound  bool
		transient bool
		wantCalls int
	}{
		{name: "current value", answer: func(int, map[string]any) (int, string) { return smSecret(name, sentinel) }, wantCalls: 1},
		{name: "not found", answer: func(int, map[string]any) (int, string) {
			return awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		}, wantErr: []string{"secret demo/production/api does not exist in Secrets Manager", "create-secret --name demo/production/api"}, notFound: true, wantCalls: 1},
		{name: "access denied", answer: func(int, map[string]any) (int, string) {
			return awsError("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/preflight is not authorized")
		}, wantErr: []string{"access denied", "secretsmanager:GetSecretValue", "kms:Decrypt"}, wantCalls: 1},
		{name: "decryption failure", answer: func(int, map[string]any) (int, string) {
			return awsError("DecryptionFailure", "Secrets Manager can't decrypt the protected secret text using the provided KMS key.")
		}, wantErr: []string{"kms:Decrypt on the key"}, wantCalls: 1},
		{name: "throttled throughout", answer: func(int, map[string]any) (int, string) { return awsError("ThrottlingException", "Rate exceeded") },
			wantErr: []string{"ThrottlingException (transient"}, transient: true, wantCalls: 3},
		{name: "binary", answer: func(int, map[string]any) (int, string) {
			return http.StatusOK, `{"Name":"x","SecretBinary":"AAEC","VersionStages":["AWSCURRENT"]}`
		}, wantErr: []string{"binary data"}, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAWS{answer: tt.answer}
			v, err := newAWSStore(t, f).Secret(context.Background(), name)
			checkStoreResult(t, v.Reveal(), err, tt.wantErr, tt.notFound, tt.transient)
			if len(f.requests) != tt.wantCalls {
				t.Errorf("requests = %d, want %d", len(f.requests), tt.wantCalls)
			}
			want := map[string]any{"target": "secretsmanager.GetSecretValue", "SecretId": name, "VersionStage": "AWSCURRENT"}
			if d := cmp.Diff(want, f.requests[0]); d != "" {
				t.Errorf("request (-want +got):\n%s", d)
			}
		})
	}
}

func checkStoreResult(t *testing.T, got string, err error, wantErr []string, notFound, transient bool) {
	t.Helper()
	if len(wantErr) == 0 {
		if err != nil || got != sentinel {
			t.Fatalf("read = %q, %v; want the value", got, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("read = %q, nil; want an error", got)
	}
	for _, w := range wantErr {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if errors.Is(err, ErrNotFound) != notFound {
		t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, !notFound, notFound)
	}
	var ae smithy.APIError
	if transient && !errors.As(err, &ae) {
		t.Errorf("error does not wrap the API error, so the pipeline cannot see it is transient")
	}
	if strings.Contains(err.Error(), sentinel) {
		t.Errorf("error shows the value: %v", err)
	}
}

// TestResolveOnAWS resolves a manifest through the AWS store: a literal
// never calls AWS, a JSON key is picked out of a secret, and a missing
// parameter is a problem naming the variable and its reference.
func TestResolveOnAWS(t *testing.T) {
	f := &fakeAWS{answer: func(_ int, req map[string]any) (int, string) {
		switch req["target"] {
		case "secretsmanager.GetSecretValue":
			return smSecret("demo/staging/api", `{"token":"`+sentinel+`"}`)
		default:
			return awsError("ParameterNotFound", "")
		}
	}}
	_, err := Resolve(context.Background(), "staging", Entries(testManifest(t), "staging"), newAWSStore(t, f))
	var re *ResolveError
	if !errors.As(err, &re) || len(re.Problems) != 1 || re.Problems[0].Name != "FEATURE_URL" || re.Problems[0].From != "ssm:/demo/staging/feature-url" {
		t.Fatalf("Resolve() = %v, want one problem with FEATURE_URL from ssm:/demo/staging/feature-url", err)
	}
	if len(f.requests) != 2 {
		t.Errorf("requests = %d, want 2 (the literal needs none)", len(f.requests))
	}
}
