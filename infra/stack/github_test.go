package stack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGitHubActionsRole synthesizes the fixture with github_actions, with
// and without the OIDC provider: the role trusts only the configured
// repository's branch, through GitHub's provider, for sts.amazonaws.com;
// it may publish the app's releases and put slipway.git events, nothing
// else; cdk-nag stays quiet.
func TestGitHubActionsRole(t *testing.T) {
	for _, create := range []bool{true, false} {
		t.Run(fmt.Sprintf("create_oidc_provider=%v", create), func(t *testing.T) {
			s := synthEdited(t, func(m map[string]any) {
				m["github_actions"] = map[string]any{"repository": "acme/demo", "branch": "main", "create_oidc_provider": create}
			})
			want := []statement{
				{Sid: "PublishReleases", Effect: "Allow", Actions: []string{"s3:GetObject", "s3:PutObject"}, Resources: []string{"<Artifacts.Arn>/demo/*"}},
				{Sid: "ListReleases", Effect: "Allow", Actions: []string{"s3:ListBucket"}, Resources: []string{"<Artifacts.Arn>"},
					Conditions: map[string]any{"StringLike": map[string]any{"s3:prefix": "demo/*"}}},
				{Sid: "PutPushEvents", Effect: "Allow", Actions: []string{"events:PutEvents"}, Resources: []string{"arn:aws:events:eu-west-1:111111111111:event-bus/default"},
					Conditions: map[string]any{"StringEquals": map[string]any{"events:source": "slipway.git"}}},
			}
			if diff := cmp.Diff(sortStatements(want), sortStatements(s.roleStatements(t, "GitHubActionsRole"))); diff != "" {
				t.Errorf("GitHub Actions role statements (-want +got):\n%s", diff)
			}

			_, role := s.byPath(t, "GitHubActionsRole")
			trust := s.statements(role.props()["AssumeRolePolicyDocument"])
			provider := "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
			if create {
				provider = "<GitHubOIDCProvider.Arn>"
			}
			wantTrust := []statement{{Effect: "Allow", Actions: []string{"sts:AssumeRoleWithWebIdentity"}, Conditions: map[string]any{"StringEquals": map[string]any{
				"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
				"token.actions.githubusercontent.com:sub": "repo:acme/demo:ref:refs/heads/main",
			}}}}
			if diff := cmp.Diff(wantTrust, trust); diff != "" {
				t.Errorf("trust policy (-want +got):\n%s", diff)
			}
			var doc strings.Builder
			enc := json.NewEncoder(&doc)
			enc.SetEscapeHTML(false)
			enc.Encode(s.resolve(role.props()["AssumeRolePolicyDocument"]))
			if !strings.Contains(doc.String(), `"Federated":"`+provider+`"`) {
				t.Errorf("trust policy %s: want the principal Federated %s", doc.String(), provider)
			}

			providers := s.ofType("AWS::IAM::OIDCProvider")
			if got := len(providers) == 1; got != create {
				t.Fatalf("%d OIDC providers, want one only when create_oidc_provider", len(providers))
			}
			for _, p := range providers {
				props := p.props()
				if props["Url"] != "https://token.actions.githubusercontent.com" || fmt.Sprint(props["ClientIdList"]) != "[sts.amazonaws.com]" {
					t.Errorf("OIDC provider %v", props)
				}
			}
			if outputs, _ := s.template["Outputs"].(map[string]any); outputs["GitHubActionsRoleArn"] == nil {
				t.Error("no output GitHubActionsRoleArn")
			}
		})
	}
}

func TestGitHubActionsConfig(t *testing.T) {
	tests := []struct {
		name    string
		gh      map[string]any
		wantErr string
	}{
		{name: "owner/name", gh: map[string]any{"repository": "acme/demo", "branch": "main"}},
		{name: "no owner", gh: map[string]any{"repository": "demo", "branch": "main"}, wantErr: `github_actions.repository: "demo" is not a GitHub repository: want owner/name`},
		{name: "a URL", gh: map[string]any{"repository": "github.com/acme/demo", "branch": "main"}, wantErr: "github_actions.repository"},
		{name: "no branch", gh: map[string]any{"repository": "acme/demo"}, wantErr: `github_actions.branch: "" is not a branch name`},
		{name: "a wildcard branch", gh: map[string]any{"repository": "acme/demo", "branch": "*"}, wantErr: "github_actions.branch"},
		{name: "unknown key", gh: map[string]any{"repository": "acme/demo", "branch": "main", "environment": "prod"}, wantErr: "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixture(t)
			m["github_actions"] = tt.gh
			b, _ := json.Marshal(m)
			_, err := ParseConfig("github-actions.json", b)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ParseConfig() = %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("ParseConfig() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestGitHubPullRequestRole: with pull_requests, a second role trusts the
// repository's pull_request runs only, may read the app's releases and
// publish pr- builds, and may not put events (a pull request never
// deploys).
func TestGitHubPullRequestRole(t *testing.T) {
	s := synthEdited(t, func(m map[string]any) {
		m["github_actions"] = map[string]any{"repository": "acme/demo", "branch": "main", "pull_requests": true}
	})
	want := []statement{
		{Sid: "ReadReleases", Effect: "Allow", Actions: []string{"s3:GetObject"}, Resources: []string{"<Artifacts.Arn>/demo/*"}},
		{Sid: "PublishPullRequestBuilds", Effect: "Allow", Actions: []string{"s3:PutObject"}, Resources: []string{"<Artifacts.Arn>/demo/pr-*"}},
		{Sid: "ListReleases", Effect: "Allow", Actions: []string{"s3:ListBucket"}, Resources: []string{"<Artifacts.Arn>"},
			Conditions: map[string]any{"StringLike": map[string]any{"s3:prefix": "demo/*"}}},
	}
	if diff := cmp.Diff(sortStatements(want), sortStatements(s.roleStatements(t, "GitHubPullRequestRole"))); diff != "" {
		t.Errorf("pull request role statements (-want +got):\n%s", diff)
	}
	_, role := s.byPath(t, "GitHubPullRequestRole")
	trust := s.statements(role.props()["AssumeRolePolicyDocument"])
	wantTrust := []statement{{Effect: "Allow", Actions: []string{"sts:AssumeRoleWithWebIdentity"}, Conditions: map[string]any{"StringEquals": map[string]any{
		"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
		"token.actions.githubusercontent.com:sub": "repo:acme/demo:pull_request",
	}}}}
	if diff := cmp.Diff(wantTrust, trust); diff != "" {
		t.Errorf("trust policy (-want +got):\n%s", diff)
	}
	if outputs, _ := s.template["Outputs"].(map[string]any); outputs["GitHubPullRequestRoleArn"] == nil {
		t.Error("no output GitHubPullRequestRoleArn")
	}
}
