package eventpattern

import "testing"

// The cases follow the examples of EventBridge's "Event patterns" and
// "Content filtering" documentation.
func TestMatch(t *testing.T) {
	event := `{
		"source": "aws.ec2",
		"detail-type": "EC2 Instance State-change Notification",
		"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0"],
		"detail": {
			"instance-id": "i-1234567890abcdef0",
			"state": "running",
			"count": 3,
			"spot": false,
			"owner": null,
			"tags": ["web", "blue"],
			"empty": [],
			"location": {"az": "us-east-1a"}
		}
	}`
	tests := []struct {
		name    string
		pattern string
		want    bool
	}{
		{"one field", `{"source": ["aws.ec2"]}`, true},
		{"alternatives", `{"source": ["aws.s3", "aws.ec2"]}`, true},
		{"wrong value", `{"source": ["aws.s3"]}`, false},
		{"case-sensitive", `{"source": ["AWS.EC2"]}`, false},
		{"every field must match", `{"source": ["aws.ec2"], "detail-type": ["Other"]}`, false},
		{"nested", `{"detail": {"state": ["running"], "location": {"az": ["us-east-1a"]}}}`, true},
		{"nested mismatch", `{"detail": {"location": {"az": ["us-east-1b"]}}}`, false},
		{"missing field", `{"detail": {"reason": ["x"]}}`, false},
		{"missing object", `{"detail": {"placement": {"az": ["us-east-1a"]}}}`, false},
		{"object pattern on a scalar", `{"detail": {"state": {"value": ["running"]}}}`, false},
		{"event array: any element", `{"detail": {"tags": ["blue"]}}`, true},
		{"event array: no element", `{"detail": {"tags": ["green"]}}`, false},
		{"resources array", `{"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0"]}`, true},
		{"number", `{"detail": {"count": [3]}}`, true},
		{"number is not a string", `{"detail": {"count": ["3"]}}`, false},
		{"bool", `{"detail": {"spot": [false]}}`, true},
		{"null matches null", `{"detail": {"owner": [null]}}`, true},
		{"null does not match missing", `{"detail": {"reason": [null]}}`, false},
		{"prefix", `{"detail": {"instance-id": [{"prefix": "i-12"}]}}`, true},
		{"prefix mismatch", `{"detail": {"instance-id": [{"prefix": "i-99"}]}}`, false},
		{"prefix on array", `{"detail": {"tags": [{"prefix": "bl"}]}}`, true},
		{"anything-but value", `{"detail": {"state": [{"anything-but": "stopped"}]}}`, true},
		{"anything-but excluded", `{"detail": {"state": [{"anything-but": ["running", "stopped"]}]}}`, false},
		{"anything-but prefix", `{"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}`, false},
		{"anything-but needs the field", `{"detail": {"reason": [{"anything-but": "x"}]}}`, false},
		{"exists true", `{"detail": {"state": [{"exists": true}]}}`, true},
		{"exists false on present", `{"detail": {"state": [{"exists": false}]}}`, false},
		{"exists false on missing", `{"detail": {"reason": [{"exists": false}]}}`, true},
		{"empty array does not exist", `{"detail": {"empty": [{"exists": true}]}}`, false},
		{"value or operator", `{"detail": {"state": ["stopped", {"prefix": "run"}]}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Match([]byte(tt.pattern), []byte(event))
			if err != nil {
				t.Fatalf("Match(%s) error: %v", tt.pattern, err)
			}
			if got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.pattern, got, tt.want)
			}
		})
	}
}

func TestMatchRejectsMalformedPatterns(t *testing.T) {
	event := `{"source": "aws.ec2", "detail": {"state": "running"}}`
	for _, pattern := range []string{
		`{}`,
		`{"source": "aws.ec2"}`,
		`{"source": []}`,
		`{"detail": {}}`,
		`{"detail": {"state": [{"numeric": [">", 0]}]}}`,
		`{"detail": {"state": [{"wildcard": "run*"}]}}`,
		`{"detail": {"state": [{"prefix": "a", "exists": true}]}}`,
		`{"detail": {"state": [{"exists": "yes"}]}}`,
		`{"detail": {"state": [{"anything-but": []}]}}`,
		// A malformed field is reported even when another field fails first.
		`{"source": ["aws.s3"], "detail": {"state": "running"}}`,
	} {
		if _, err := Match([]byte(pattern), []byte(event)); err == nil {
			t.Errorf("Match(%s) succeeded, want an error", pattern)
		}
	}
}
