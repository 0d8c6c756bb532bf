package fleet

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTruncateOutput(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"short", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"keeps the tail", "abcdefgh", 3, "fgh"},
		{"counts characters, not bytes", "ééééé", 3, "ééé"},
		{"multibyte under the limit", "éé", 3, "éé"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := truncateOutput(tt.in, tt.limit); got != tt.want {
				t.Errorf("truncateOutput(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
		})
	}
	if got := len([]rune(truncateOutput(strings.Repeat("x", MaxOutput+10)+"END", MaxOutput))); got != MaxOutput {
		t.Errorf("len(truncateOutput(long, MaxOutput)) = %d, want %d", got, MaxOutput)
	}
}

func TestParseReport(t *testing.T) {
	tests := []struct {
		name    string
		output  string
		want    Report
		wantErr error
	}{
		{
			name:   "activate",
			output: "12:00:00 slipway-host.sh: current: v1 -> v2\n{\"action\":\"activate\",\"version\":\"v2\",\"previous\":\"v1\",\"current\":\"v2\",\"changed\":true}\n",
			want:   Report{Action: "activate", Version: "v2", Previous: "v1", Current: "v2", Changed: true},
		},
		{
			name:   "failure, then a line that is not JSON",
			output: "{\"action\":\"rollback\",\"version\":\"v0\",\"previous\":\"\",\"current\":\"v1\",\"changed\":false,\"error\":\"release v0 is not on this host (pruned?)\",\"exit_code\":7}\nembedded fleet: note\n",
			want:   Report{Action: "rollback", Version: "v0", Current: "v1", Error: "release v0 is not on this host (pruned?)", ExitCode: 7},
		},
		{
			name:   "the last JSON line wins",
			output: "{\"action\":\"status\",\"current\":\"v1\",\"previous\":\"\",\"releases\":[\"v1\"],\"root\":\"/r\"}\n{\"action\":\"status\",\"current\":\"v2\",\"previous\":\"v1\",\"releases\":[\"v1\",\"v2\"],\"root\":\"/r\"}",
			want:   Report{Action: "status", Current: "v2", Previous: "v1", Releases: []string{"v1", "v2"}, Root: "/r"},
		},
		{name: "none", output: "sh: 1: cannot open script\n{broken", wantErr: ErrNoReport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReport(tt.output)
			if err != tt.wantErr {
				t.Fatalf("ParseReport() error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseReport() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAggregate(t *testing.T) {
	inv := func(statuses ...string) []Invocation {
		var out []Invocation
		for _, s := range statuses {
			out = append(out, Invocation{Status: s})
		}
		return out
	}
	tests := []struct {
		name string
		in   []Invocation
		want string
	}{
		{"all succeeded", inv(StatusSuccess, StatusSuccess), StatusSuccess},
		{"one still running", inv(StatusSuccess, StatusInProgress, StatusFailed), StatusInProgress},
		{"one pending", inv(StatusPending), StatusInProgress},
		{"one failed", inv(StatusSuccess, StatusFailed), StatusFailed},
		{"one not delivered", inv(StatusDeliveryTimedOut, StatusSuccess), StatusFailed},
		{"one timed out", inv(StatusTimedOut), StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Aggregate(tt.in); got != tt.want {
				t.Errorf("Aggregate(%v) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}
