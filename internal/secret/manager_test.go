package secret

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
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// fakeSecretsManager speaks Secrets Manager's JSON 1.1 protocol.
type fakeSecretsManager struct {
	mu       sync.Mutex
	requests []map[string]string
	answer   func(n int, req map[string]string) (int, string)
}

func (f *fakeSecretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := map[string]string{}
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

func smError(code, msg string) (int, string) {
	return http.StatusBadRequest, fmt.Sprintf(`{"__type":"%s","message":"%s"}`, code, msg)
}

func smValue(name, stage, value string) (int, string) {
	b, _ := json.Marshal(map[string]any{
		"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf", "Name": name,
		"SecretString": value, "VersionId": "v-1", "VersionStages": []string{stage}, "CreatedDate": 1.7e9,
	})
	return http.StatusOK, string(b)
}

func newManager(t *testing.T, f *fakeSecretsManager) *Manager {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &Manager{Client: secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxBackoff = 5 * time.Millisecond
		}),
	})}
}

var rdsSecret = `{"username":"app","password":"` + sentinel + `","engine":"postgres","host":"db.internal","port":5432,"dbname":"app"}`

func TestManagerOnTheWire(t *testing.T) {
	tests := []struct {
		name      string
		stage     string
		answer    func(n int, req map[string]string) (int, string)
		wantErr   string
		wantCalls int
		notFound  bool
		transient bool
	}{
		{name: "current", answer: func(n int, r map[string]string) (int, string) {
			return smValue(r["SecretId"], r["VersionStage"], rdsSecret)
		}, wantCalls: 1},
		{name: "previous stage", stage: "AWSPREVIOUS", answer: func(n int, r map[string]string) (int, string) {
			if r["VersionStage"] != "AWSPREVIOUS" {
				return smError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
			}
			return smValue(r["SecretId"], r["VersionStage"], rdsSecret)
		}, wantCalls: 1},
		{name: "throttled, then served", answer: func(n int, r map[string]string) (int, string) {
			if n == 1 {
				return smError("ThrottlingException", "Rate exceeded")
			}
			return smValue(r["SecretId"], r["VersionStage"], rdsSecret)
		}, wantCalls: 2},
		{name: "throttled throughout", answer: func(n int, r map[string]string) (int, string) { return smError("ThrottlingException", "Rate exceeded") },
			wantErr: "ThrottlingException (transient)", wantCalls: 3, transient: true},
		{name: "not found", answer: func(n int, r map[string]string) (int, string) {
			return smError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		}, wantErr: `secret "slipway/demo/staging/database" not found in Secrets Manager (stage AWSCURRENT)`, wantCalls: 1, notFound: true},
		{name: "access denied", answer: func(n int, r map[string]string) (int, string) {
			return smError("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/x is not authorized")
		}, wantErr: "needs secretsmanager:GetSecretValue", wantCalls: 1},
		{name: "binary secret", answer: func(n int, r map[string]string) (int, string) {
			return http.StatusOK, `{"Name":"x","SecretBinary":"AAEC","VersionStages":["AWSCURRENT"]}`
		}, wantErr: "holds binary data", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSecretsManager{answer: tt.answer}
			m := newManager(t, f)
			m.VersionStage = tt.stage
			ctx := context.Background()
			v, err := m.Get(ctx, "slipway/demo/staging/database")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Get() error = %v, want %q", err, tt.wantErr)
				}
				var nf *NotFoundError
				if tt.notFound != errors.As(err, &nf) {
					t.Errorf("Get() error %T: *NotFoundError = %v, want %v", err, !tt.notFound, tt.notFound)
				}
				var ae smithy.APIError
				if tt.transient && !errors.As(err, &ae) {
					t.Errorf("Get() error does not wrap the API error, so the pipeline cannot see it is transient")
				}
			} else {
				if err != nil || v.Reveal() != rdsSecret {
					t.Fatalf("Get() = %v, want the secret", err)
				}
				// Cached once per container: no second request.
				if _, err := m.Get(ctx, "slipway/demo/staging/database"); err != nil {
					t.Fatal(err)
				}
				d, err := ParseDatabase("slipway/demo/staging/database", v)
				if err != nil || d.Host != "db.internal" || d.Port != 5432 || d.Password.Reveal() != sentinel {
					t.Errorf("ParseDatabase() = %+v, %v", d, err)
				}
			}
			if len(f.requests) != tt.wantCalls {
				t.Errorf("requests = %d, want %d", len(f.requests), tt.wantCalls)
			}
			want := map[string]string{"target": "secretsmanager.GetSecretValue", "SecretId": "slipway/demo/staging/database", "VersionStage": "AWSCURRENT"}
			if tt.stage != "" {
				want["VersionStage"] = tt.stage
			}
			if diff := cmp.Diff(want, f.requests[0]); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			if err != nil && strings.Contains(err.Error(), sentinel) {
				t.Errorf("Get() error shows the secret: %v", err)
			}
		})
	}
}

func TestManagerErrorNeverEchoesTheValue(t *testing.T) {
	// A malformed RDS secret: the parse error must not quote it.
	f := &fakeSecretsManager{answer: func(n int, r map[string]string) (int, string) {
		return smValue(r["SecretId"], "AWSCURRENT", `{"password":"`+sentinel+`", "port": "not a number", "engine":"postgres"}`)
	}}
	v, err := newManager(t, f).Get(context.Background(), "db")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseDatabase("db", v)
	if err == nil || strings.Contains(err.Error(), sentinel) {
		t.Errorf("ParseDatabase() error = %v, want an error without the secret", err)
	}
	if s := fmt.Sprintf("%v %+v %#v", v, v, v); strings.Contains(s, sentinel) {
		t.Errorf("formatting the value shows it: %s", s)
	}
}
