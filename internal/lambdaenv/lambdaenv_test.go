package lambdaenv

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestNew(t *testing.T) {
	lambdaVars := map[string]string{
		"SLIPWAY_CONFIG":        `{"app":"demo","environments":{"staging":{}}}`,
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "ASIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_SESSION_TOKEN":     "token",
		"AWS_EXECUTION_ENV":     "AWS_Lambda_provided.al2023",
		Table:                   "slipway-demo-ledger",
	}
	tests := []struct {
		name    string
		unset   []string
		set     map[string]string
		wantErr string
	}{
		{name: "as Lambda sets it"},
		{name: "no configuration", unset: []string{"SLIPWAY_CONFIG"}, wantErr: "SLIPWAY_CONFIG is not set"},
		{name: "no region", unset: []string{"AWS_REGION"}, wantErr: "AWS_REGION not set"},
		{name: "the old region variable", unset: []string{"AWS_REGION"}, set: map[string]string{"AWS_DEFAULT_REGION": "eu-west-1"}},
		{name: "no credentials", unset: []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, wantErr: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set"},
		{name: "an endpoint", set: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range lambdaVars {
				vars[k] = v
			}
			for _, k := range tt.unset {
				delete(vars, k)
			}
			for k, v := range tt.set {
				vars[k] = v
			}
			env, err := New(func(k string) string { return vars[k] }, slog.New(slog.DiscardHandler))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			if env.AWS.Region != "eu-west-1" || env.Config.App != "demo" {
				t.Errorf("New() = region %q, app %q; want eu-west-1, demo", env.AWS.Region, env.Config.App)
			}
			creds, err := env.AWS.Credentials.Retrieve(t.Context())
			if err != nil || creds.AccessKeyID != "ASIAEXAMPLE" || creds.SessionToken != "token" {
				t.Errorf("credentials = %+v, %v; want the role's from the environment", creds, err)
			}
			if got, want := aws.ToString(env.AWS.BaseEndpoint), tt.set["AWS_ENDPOINT_URL"]; got != want {
				t.Errorf("BaseEndpoint = %q, want %q", got, want)
			}
			if err := env.Require(Table, TopicARN); err == nil || !strings.Contains(err.Error(), TopicARN) || strings.Contains(err.Error(), Table) {
				t.Errorf("Require(%s, %s) = %v, want it to name only %s", Table, TopicARN, err, TopicARN)
			}
			if env.HealthPort() != 80 || env.CommandTimeout() != 600 {
				t.Errorf("defaults = %d, %d; want 80, 600", env.HealthPort(), env.CommandTimeout())
			}
		})
	}
}

// TestHasTargetGroups: a function builds an ELBv2 client only for a
// configuration where some environment sits behind a load balancer.
func TestHasTargetGroups(t *testing.T) {
	for cfg, want := range map[string]bool{
		`{"app":"demo","environments":{"staging":{}}}`: false,
		`{"app":"demo","environments":{"staging":{},"production":{"target_groups":["arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-production/0123456789abcdef"]}}}`: true,
		`{"app":"demo","environments":{"production":{"blue_green":{"listener":"arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/demo/50dc6c495c0c9188/f2f7dc8efc522ab2",` +
			`"blue":{"target_group":"arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-blue/0123456789abcdef","tags":{"side":"blue"}},` +
			`"green":{"target_group":"arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-green/fedcba9876543210","tags":{"side":"green"}}}}}}`: true,
	} {
		env, err := New(func(k string) string {
			return map[string]string{"SLIPWAY_CONFIG": cfg, "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"}[k]
		}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if got := env.HasTargetGroups(); got != want {
			t.Errorf("HasTargetGroups() = %v for %s, want %v", got, cfg, want)
		}
	}
}
