package asl

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSubstitute(t *testing.T) {
	def := []byte(`{"Resource": "${DeployFunctionArn}", "Other": "${Bucket}/${Bucket}", "Path.$": "$.a", "Format.$": "States.Format('{}', $.x)"}`)
	tests := []struct {
		name    string
		subs    map[string]string
		want    string
		wantErr string
	}{
		{
			name: "all filled",
			subs: map[string]string{"DeployFunctionArn": "arn:aws:lambda:us-east-1:1:function:deploy", "Bucket": "b", "Unused": "u"},
			want: `{"Resource": "arn:aws:lambda:us-east-1:1:function:deploy", "Other": "b/b", "Path.$": "$.a", "Format.$": "States.Format('{}', $.x)"}`,
		},
		{
			name:    "some missing",
			subs:    map[string]string{"Bucket": "b"},
			want:    `{"Resource": "${DeployFunctionArn}", "Other": "b/b", "Path.$": "$.a", "Format.$": "States.Format('{}', $.x)"}`,
			wantErr: "substitute definition: no value for ${DeployFunctionArn}",
		},
		{
			name:    "none given",
			want:    string(def),
			wantErr: "substitute definition: no value for ${Bucket}, ${DeployFunctionArn}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Substitute(def, tt.subs)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Errorf("Substitute(%v) error = %v, want %q", tt.subs, err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("Substitute(%v) = %s, want %s", tt.subs, got, tt.want)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		def  string
		want []string
	}{
		{`{"a": "${B}", "b": "${A}-${B}", "c": "$.x", "d": "{}", "e": "${ spaced }"}`, []string{"A", "B"}},
		{`{}`, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Placeholders([]byte(tt.def))); diff != "" {
			t.Errorf("Placeholders(%s) mismatch (-want +got):\n%s", tt.def, diff)
		}
	}
}
