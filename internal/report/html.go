package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
)

//go:embed html.tmpl
var htmlSource string

// htmlTemplate is parsed on first use: a binary that never writes HTML
// (the Lambdas, most CLI runs) does not pay for it at start.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"mark":    Mark,
		"class":   statusClass,
		"seconds": formatSeconds,
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"clock":   func(t time.Time) string { return t.UTC().Format("15:04:05") },
		"bytes":   Bytes,
		"tags":    formatTags,
		"plural":  plural,
		"cause":   CauseMessage,
		"lines":   func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") },
		"config":  configLines,
		"join":    strings.Join,
		"add":     func(a, b int) int { return a + b },
		"or":      orPlaceholder,
	}).Parse(htmlSource))
})

// HTML writes the report as one self-contained HTML page: the same data
// as Text (the six sections, the outcome, timings, per-instance results,
// what a rollback reverted), with the stages and waves drawn on a
// timeline in inline SVG. The page loads nothing: no script, no
// stylesheet, no font, no image from elsewhere.
func (r *Report) HTML(w io.Writer) error {
	data := struct {
		*Report
		Title        string
		Trigger      string
		OutcomeClass string
		Timeline     Timeline
		CanaryChart  *CanaryChart
	}{Report: r, Title: r.title(), Trigger: r.triggerText(), OutcomeClass: r.outcomeClass(), Timeline: NewTimeline(r), CanaryChart: NewCanaryChart(r)}
	if err := htmlTemplate().Execute(w, data); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	return nil
}

// title is the header's first line without the deployment id.
func (r *Report) title() string {
	what := "deploy " + r.Version
	if r.Kind == KindRollback {
		what = "roll back to " + orPlaceholder(r.Version, "the previous release")
	}
	s := fmt.Sprintf("%s of %s to %s", what, r.App, r.Environment)
	if r.PreviousVersion != "" {
		s += ", replacing " + r.PreviousVersion
	}
	return s
}

func (r *Report) triggerText() string {
	s := orPlaceholder(r.Trigger.Source, "unknown")
	if r.Trigger.Actor != "" {
		s += " by " + r.Trigger.Actor
	}
	if r.Trigger.Reason != "" {
		s += ": " + r.Trigger.Reason
	}
	return s
}

// outcomeClass is the colour of the outcome: green when it did what it
// was started for (a rollback execution that rolled back too), red when it
// did not, orange when it was stopped or killed part way.
func (r *Report) outcomeClass() string {
	if r.Outcome == nil {
		return "notrun"
	}
	switch r.Outcome.Status {
	case contract.StatusSucceeded:
		return "ok"
	case contract.StatusRolledBack:
		if r.Kind == KindRollback {
			return "ok"
		}
		return "failed"
	case contract.StatusRunning:
		return "waiting"
	case contract.StatusStopped, contract.StatusAbandoned:
		return "interrupted"
	}
	return "failed"
}

// statusClass is the CSS class (and colour) of a stage's, step's, check's
// or instance's status.
func statusClass(status string) string {
	switch status {
	case StatusOK, "Success", "info":
		return "ok"
	case StatusFailed, "Failed", "TimedOut", "Cancelled", "Undeliverable", "Terminated":
		return "failed"
	case StatusSkipped:
		return "skipped"
	case StatusInterrupted:
		return "interrupted"
	case StatusWaiting, StatusPlanned, "InProgress", "Pending", "Delayed":
		return "waiting"
	}
	return "notrun"
}

// Timeline is the report's stages and waves laid out on one time axis,
// in the coordinates of an SVG drawing.
type Timeline struct {
	Width, Height int
	// Left is where the bars' axis starts; Right where it ends.
	Left, Right int
	Rows        []TimelineRow
	Ticks       []TimelineTick
	// Span is the time the axis covers.
	Span string
}

// TimelineRow is one bar: a stage, or one wave's (or the rollback's)
// host commands.
type TimelineRow struct {
	Label string
	// Wave is set for a row of host commands, drawn under its stage.
	Wave  bool
	Class string
	Y     int
	X, W  float64
	// Text is the duration written after the bar; Title, the tooltip.
	Text, Title string
}

// TimelineTick is one mark of the time axis.
type TimelineTick struct {
	X     float64
	Label string
}

const (
	timelineWidth = 1000
	timelineLeft  = 190
	timelineRight = 930
	timelineRowH  = 24
	timelineTop   = 28
)

type span struct {
	label, class, title string
	wave                bool
	start               time.Time
	seconds             float64
}

// NewTimeline lays out r's stage timings and, under the rollout and
// rollback stages, one bar per wave of host commands (from the first
// command's start to the last one's end). A report without timings (a
// plan) has no rows.
func NewTimeline(r *Report) Timeline {
	waves := waveSpans(r.Instances)
	var spans []span
	placed := map[string]bool{}
	for _, s := range r.Timings {
		spans = append(spans, span{label: s.Stage, class: statusClass(s.Status), start: s.StartedAt, seconds: s.Seconds,
			title: fmt.Sprintf("%s: %s, %s", s.Stage, formatSeconds(s.Seconds), s.Status)})
		if (s.Stage == contract.StageRollout || s.Stage == contract.StageRollback) && !placed[s.Stage] {
			placed[s.Stage] = true
			spans = append(spans, waves[s.Stage]...)
		}
	}
	for _, stage := range []string{"rollout", "rollback"} {
		if !placed[stage] {
			spans = append(spans, waves[stage]...)
		}
	}
	t := Timeline{Width: timelineWidth, Left: timelineLeft, Right: timelineRight}
	if len(spans) == 0 {
		return t
	}
	begin, end := spans[0].start, spans[0].start
	if r.Outcome != nil && !r.Outcome.StartedAt.IsZero() {
		begin, end = r.Outcome.StartedAt, r.Outcome.StartedAt
		if r.Outcome.FinishedAt.After(end) {
			end = r.Outcome.FinishedAt
		}
	}
	for _, s := range spans {
		if s.start.Before(begin) {
			begin = s.start
		}
		if e := s.start.Add(dur(s.seconds)); e.After(end) {
			end = e
		}
	}
	total := end.Sub(begin).Seconds()
	if total <= 0 {
		total = 1
	}
	scale := float64(timelineRight-timelineLeft) / total
	for i, s := range spans {
		// A bar is at least 2 wide, so that a stage of no time shows;
		// it never runs past the axis.
		x, w := timelineLeft+s.start.Sub(begin).Seconds()*scale, max(s.seconds*scale, 2)
		x = min(x, timelineRight-w)
		t.Rows = append(t.Rows, TimelineRow{
			Label: s.label, Wave: s.wave, Class: s.class, Y: timelineTop + i*timelineRowH,
			X: round1(x), W: round1(w), Text: formatSeconds(s.seconds), Title: s.title,
		})
	}
	t.Height = timelineTop + len(spans)*timelineRowH + 8
	step := tickStep(total)
	for s := 0.0; s <= total+step/1000; s += step {
		t.Ticks = append(t.Ticks, TimelineTick{X: round1(timelineLeft + s*scale), Label: tickLabel(s)})
	}
	t.Span = formatSeconds(total)
	return t
}

// waveSpans groups the host commands that switch releases by wave:
// "rollout" holds one span per wave of the rollout (activate), "rollback"
// one for the rollback's commands.
func waveSpans(results []InstanceResult) map[string][]span {
	type group struct {
		start, end time.Time
		n, failed  int
	}
	groups := map[int]*group{}
	for _, i := range results {
		if i.StartedAt.IsZero() || i.Action != "activate" && i.Action != "rollback" {
			continue // the observation's answers are not a command that moved anything
		}
		g := groups[i.Wave]
		if g == nil {
			g = &group{start: i.StartedAt, end: i.StartedAt}
			groups[i.Wave] = g
		}
		if i.StartedAt.Before(g.start) {
			g.start = i.StartedAt
		}
		if e := i.StartedAt.Add(dur(i.Seconds)); e.After(g.end) {
			g.end = e
		}
		g.n++
		if statusClass(i.Status) != "ok" {
			g.failed++
		}
	}
	keys := make([]int, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := map[string][]span{}
	for _, k := range keys {
		g := groups[k]
		s := span{wave: true, class: "ok", start: g.start, seconds: g.end.Sub(g.start).Seconds()}
		stage := "rollout"
		if k == 0 {
			stage, s.label = "rollback", "switch back"
		} else {
			s.label = fmt.Sprintf("wave %d", k)
		}
		s.label += " (" + plural(g.n, "instance") + ")"
		s.title = fmt.Sprintf("%s: %s, %d of %d succeeded", s.label, formatSeconds(s.seconds), g.n-g.failed, g.n)
		if g.failed > 0 {
			s.class = "failed"
		}
		out[stage] = append(out[stage], s)
	}
	return out
}

func dur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }

// tickStep is a round interval that puts four to ten ticks on the axis.
func tickStep(total float64) float64 {
	for _, s := range []float64{0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200} {
		if total/s <= 10 {
			return s
		}
	}
	return total / 10
}

func tickLabel(s float64) string {
	switch {
	case s == 0:
		return "0"
	case s < 60 && s != float64(int(s)):
		return fmt.Sprintf("%.1fs", s)
	case s < 60:
		return fmt.Sprintf("%ds", int(s))
	case int(s)%60 == 0:
		return fmt.Sprintf("%dm", int(s)/60)
	}
	return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
}
