package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestHTMLGolden renders the plan and the rolled-back deployment as the
// HTML page `slipway show --html` writes.
func TestHTMLGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    *Report
	}{
		{"plan.html.golden", NewPlan(planInput())},
		{"rolled-back.html.golden", NewDeployment(rolledBack())},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.r.HTML(&buf); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, buf.Bytes())
		})
	}
}

// external matches what would make a browser load something: a src or
// srcset attribute, a <link>, a <script>, CSS url() and @import.
var external = regexp.MustCompile(`(?i)\bsrc(set)?\s*=|<link\b|<script\b|url\(|@import|<iframe\b|<object\b|<embed\b|<img\b`)

// TestHTMLSelfContained checks the page loads nothing from anywhere and
// carries the six sections, the report's extras and the timeline.
func TestHTMLSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := NewDeployment(rolledBack()).HTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if m := external.FindString(page); m != "" {
		t.Errorf("the page loads something: %q", m)
	}
	for _, want := range []string{"<h2>1. Deployment Plan</h2>", "<h2>2. Risk Assessment</h2>", "<h2>3. Execution Steps</h2>",
		"<h2>4. Validation Checklist</h2>", "<h2>5. Rollback Procedure</h2>", "<h2>6. Monitoring Points</h2>",
		"<h2>Timeline</h2>", "<svg class=\"timeline\"", "<h2>Timings</h2>", "<h2>Per-instance results</h2>", "<h2>Rollback</h2>",
		"ROLLED_BACK", "i-0c3 answered 503"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestTimeline(t *testing.T) {
	r := NewDeployment(rolledBack())
	// What Observe asked the instances at the end is not a command.
	r.Instances = append(r.Instances, InstanceResult{Instance: "i-0a1", Action: "observe", Status: "Healthy", StartedAt: t0.Add(464 * time.Second), Seconds: 1})
	tl := NewTimeline(r)
	type row struct{ Label, Class, Text string }
	var got []row
	for _, r := range tl.Rows {
		got = append(got, row{r.Label, r.Class, r.Text})
	}
	want := []row{
		{"preflight", "ok", "3.1s"},
		{"approval", "ok", "1m32s"},
		{"lock", "ok", "0.4s"},
		{"snapshot", "ok", "3m35s"},
		{"migrate", "ok", "8.0s"},
		{"rollout", "failed", "1m53s"},
		{"wave 1 (1 instance)", "ok", "15.0s"},
		{"wave 2 (3 instances)", "ok", "15.0s"},
		{"rollback", "ok", "33.0s"},
		{"switch back (4 instances)", "ok", "14.0s"},
		{"record", "failed", "1.0s"},
		{"unlock", "ok", "0.2s"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NewTimeline rows (-want +got):\n%s", diff)
	}
	first, last := tl.Rows[0], tl.Rows[len(tl.Rows)-1]
	if first.X != float64(tl.Left) {
		t.Errorf("the first stage starts at x=%v, want the axis' start %d", first.X, tl.Left)
	}
	if end := last.X + last.W; end < float64(tl.Right)-2 || end > float64(tl.Right)+0.5 {
		t.Errorf("the last stage ends at x=%v, want the axis' end %d", end, tl.Right)
	}
	for i := 1; i < len(tl.Rows); i++ {
		if tl.Rows[i].Y <= tl.Rows[i-1].Y {
			t.Errorf("row %d (%s) at y=%d is not below row %d at y=%d", i, tl.Rows[i].Label, tl.Rows[i].Y, i-1, tl.Rows[i-1].Y)
		}
	}
	if n := len(tl.Ticks); n < 4 || n > 11 {
		t.Errorf("%d ticks on the axis, want 4 to 11", n)
	}
	if plan := NewTimeline(NewPlan(planInput())); len(plan.Rows) != 0 {
		t.Errorf("a plan's timeline has %d rows, want none", len(plan.Rows))
	}
}

func TestTickLabel(t *testing.T) {
	for _, tt := range []struct {
		s    float64
		want string
	}{{0, "0"}, {0.5, "0.5s"}, {15, "15s"}, {60, "1m"}, {90, "1m30s"}, {3600, "60m"}} {
		if got := tickLabel(tt.s); got != tt.want {
			t.Errorf("tickLabel(%v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}
