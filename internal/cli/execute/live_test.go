package execute

import (
	"bytes"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var at0 = time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)

// body is a failing health check's answer as the host script quotes it.
const body = `wave 1: v3 failed on 1 of 1 instances: staging-1: failed its local health check (not healthy after 4s: http://127.0.0.1:31172/healthz last answered 500 (want 200 and "version":"v3"), body: {"error":"SQL logic error: no such table: feature_flags (1)","status":"error"})`

// events is a deployment as the backend reports it: a first wave that
// succeeds, a second whose host command fails on one instance, the
// rollback, the record.
func events() []backend.Event {
	at := func(s float64) time.Time { return at0.Add(time.Duration(s * float64(time.Second))) }
	started := func(s float64, stage string) backend.Event {
		return backend.Event{Kind: backend.EventStageStarted, At: at(s), Stage: stage}
	}
	step := func(s float64, stage, status, msg string) backend.Event {
		return backend.Event{Kind: backend.EventStep, At: at(s), Stage: stage, Status: status, Message: msg}
	}
	stage := func(s float64, name, status string, took float64) backend.Event {
		return backend.Event{Kind: backend.EventStage, At: at(s), Stage: name, Status: status, Duration: time.Duration(took * float64(time.Second))}
	}
	wave := func(s float64, w backend.WaveProgress) backend.Event {
		stage := "rollout"
		if w.Action == "rollback" {
			stage = "rollback"
		}
		return backend.Event{Kind: backend.EventWave, At: at(s), Stage: stage, Wave: &w}
	}
	return []backend.Event{
		started(0, "preflight"), step(0.3, "preflight", "ok", "deploy v3 to staging: 3 instances in 2 waves, 1 pending migration, replacing v2"),
		stage(0.3, "preflight", "ok", 0.3),
		started(0.3, "lock"), step(0.4, "lock", "ok", "lease on demo/staging taken until 2026-12-08T03:03:13Z"), stage(0.4, "lock", "ok", 0.1),
		started(0.4, "rollout"), step(0.5, "rollout", "info", "wave 1: activating v3 on staging-1"),
		wave(0.6, backend.WaveProgress{Action: "activate", Wave: 1, Waves: 2, Instances: 1}),
		wave(1.2, backend.WaveProgress{Action: "activate", Wave: 1, Waves: 2, Instances: 1, Done: 1}),
		step(1.2, "rollout", "ok", "wave 1: v3 active on 1/1 instances"),
		step(1.3, "rollout", "info", "wave 2: activating v3 on staging-2, staging-3"),
		wave(1.4, backend.WaveProgress{Action: "activate", Wave: 2, Waves: 2, Instances: 2, Done: 1}),
		wave(2.0, backend.WaveProgress{Action: "activate", Wave: 2, Waves: 2, Instances: 2, Done: 2, Failed: 1}),
		step(2.0, "rollout", "failed", body),
		stage(2.0, "rollout", "failed", 1.6),
		started(2.0, "rollback"), step(2.1, "rollback", "info", "rollback after HealthCheckFailed: "+body+"; switching staging-1, staging-2, staging-3 back to v2"),
		wave(2.2, backend.WaveProgress{Action: "rollback", Waves: 2, Instances: 3, Done: 3}),
		step(2.6, "rollback", "ok", "3 instances switched back to v2"), step(2.7, "revert-schema", "skipped", "no migration ran"),
		stage(2.7, "rollback", "ok", 0.7),
		started(2.7, "record"), step(2.8, "record", "failed", "ROLLED_BACK: v3 failed (HealthCheckFailed: "+body+"). Rolled back: 3 instances switched back to v2."),
		stage(2.8, "record", "ok", 0.1),
	}
}

// success is a deployment that went well: nothing long repeats.
func success() []backend.Event {
	var out []backend.Event
	for _, e := range events()[:12] {
		if e.Kind != backend.EventWave {
			out = append(out, e)
		}
	}
	return append(out, backend.Event{Kind: backend.EventStep, At: at0.Add(3 * time.Second), Stage: "record", Status: "ok",
		Message: "SUCCEEDED: staging serves v3 on 3 instances; schema 2 → 3 after snapshot slipway-demo-staging-staging-v3; baked 120s with no alarm. Observed: 3 instances serve v3, healthy."},
		backend.Event{Kind: backend.EventStage, At: at0.Add(3 * time.Second), Stage: "record", Status: "ok", Duration: 100 * time.Millisecond})
}

func inUTC(t *testing.T) {
	t.Helper()
	local := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = local })
}

// TestPrinterGolden pins the plain output scripts read: one line per step
// and per stage's end, in the columns it always had; a failure's body is
// quoted in full once.
func TestPrinterGolden(t *testing.T) {
	inUTC(t)
	for _, tt := range []struct {
		name   string
		events []backend.Event
	}{{"plain-succeeded.golden", success()}, {"plain-rolled-back.golden", events()}} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := Printer(&buf)
			for _, e := range tt.events {
				p(e)
			}
			backendtest.Golden(t, tt.name, buf.Bytes(), *update)
		})
	}
}

func TestCollapse(t *testing.T) {
	var buf bytes.Buffer
	p := &plain{w: &buf}
	for _, e := range events() {
		p.event(e)
	}
	p.line("staging-v3 v3 ROLLED_BACK in 2.8s: v3 failed (HealthCheckFailed: " + body + "). Rolled back: 3 instances switched back to v2.")
	out := buf.String()
	if n := strings.Count(out, "no such table: feature_flags"); n != 1 {
		t.Errorf("the failing body is printed %d times, want once:\n%s", n, out)
	}
	for _, want := range []string{
		"rollback after HealthCheckFailed: wave 1: v3 failed on 1 of 1 instances:… (as above); switching staging-1, staging-2, staging-3 back to v2",
		"ROLLED_BACK: v3 failed (HealthCheckFailed: wave 1: v3 failed on 1 of 1 instances:… (as above)). Rolled back: 3 instances switched back to v2.",
		"staging-v3 v3 ROLLED_BACK in 2.8s: v3 failed (HealthCheckFailed: wave 1: v3 failed on 1 of 1 instances:… (as above)). Rolled back: 3 instances switched back to v2.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	var c collapser
	if got := c.text("short"); got != "short" {
		t.Errorf("collapser.text with nothing said = %q", got)
	}
	c.said = []string{strings.Repeat("é", 60)}
	if got := c.text("x " + strings.Repeat("é", 60) + " y"); got != "x "+strings.Repeat("é", 24)+"… (as above) y" {
		t.Errorf("collapser.text cut a character in two or kept too much: %q", got)
	}
}

// screen plays the live view's output as a terminal would (cursor up,
// erase below) and returns the lines left on it.
func screen(out string) []string {
	var lines []string
	cur := ""
	for i := 0; i < len(out); {
		switch {
		case strings.HasPrefix(out[i:], "\x1b[J"):
			cur = ""
			i += 3
		case strings.HasPrefix(out[i:], "\x1b[") && strings.IndexByte(out[i:], 'A') > 0 && strings.IndexByte(out[i:], 'A') < 8:
			j := strings.IndexByte(out[i:], 'A')
			n := 1
			if s := out[i+2 : i+j]; s != "" {
				n = 0
				for _, d := range s {
					n = n*10 + int(d-'0')
				}
			}
			lines = lines[:max(len(lines)-n, 0)]
			i += j + 1
		case out[i] == '\r':
			cur = ""
			i++
		case out[i] == '\n':
			lines = append(lines, ansi.Strip(cur))
			cur = ""
			i++
		default:
			cur += out[i : i+1]
			i++
		}
	}
	return lines
}

// TestLive draws a deployment as a terminal shows it: the step lines
// once, coloured, and under them the stage list, redrawn in place with
// each stage's time and, while a wave runs, its progress bar.
func TestLive(t *testing.T) {
	inUTC(t)
	var buf bytes.Buffer
	r := lipgloss.NewRenderer(&buf)
	r.SetColorProfile(termenv.ANSI)
	l := newLive(&buf, func() int { return 120 }, r, time.Hour)
	clock := at0
	l.now = func() time.Time { return clock }
	l.line("18:00:00.000  deploy v3 to staging on the embedded environment: deployment staging-v3")
	var midWave []string
	for _, e := range events() {
		clock = e.At
		l.event(e)
		if e.Kind == backend.EventWave && e.Wave.Wave == 2 && e.Wave.Failed == 0 {
			midWave = screen(buf.String())
		}
	}
	clock = at0.Add(3 * time.Second)
	l.close()
	l.line("staging-v3 v3 ROLLED_BACK in 2.8s")
	out := buf.String()
	if !strings.Contains(out, "\x1b[32m✓") || !strings.Contains(out, "\x1b[31;1m✗") && !strings.Contains(out, "\x1b[1;31m✗") {
		t.Errorf("no green ✓ and red ✗ in the live output:\n%q", out)
	}
	wantMid := []string{
		"  ✓ preflight          0.3s",
		"  ✓ lock               0.1s",
		"  ⠋ rollout            1.0s  wave 2 of 2    ━━━━━━━━━━━━──────────── 1/2 instances",
	}
	if got := midWave[len(midWave)-3:]; strings.Join(got, "\n") != strings.Join(wantMid, "\n") {
		t.Errorf("the block during wave 2 =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantMid, "\n"))
	}
	final := screen(out)
	wantEnd := []string{
		"  ✓ preflight          0.3s",
		"  ✓ lock               0.1s",
		"  ✗ rollout            1.6s  wave 2 of 2    ━━━━━━━━━━━━━━━━━━━━━━━━ 2/2 instances, 1 failed",
		"  ✓ rollback           0.7s",
		"  ✓ record             0.1s",
		"staging-v3 v3 ROLLED_BACK in 2.8s",
	}
	if got := final[len(final)-len(wantEnd):]; strings.Join(got, "\n") != strings.Join(wantEnd, "\n") {
		t.Errorf("the screen at the end ends with\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantEnd, "\n"))
	}
	text := strings.Join(final, "\n")
	for _, step := range []string{"wave 1: v3 active on 1/1 instances", "lease on demo/staging taken", "no migration ran"} {
		if n := strings.Count(text, step); n != 1 {
			t.Errorf("step %q is on the screen %d times, want once:\n%s", step, n, text)
		}
	}
	if n := strings.Count(text, "no such table"); n != 1 {
		t.Errorf("the failing body is on the screen %d times, want once", n)
	}
	if strings.Contains(text, "── done in") {
		t.Errorf("the live view printed the plain stage lines:\n%s", text)
	}
	if !strings.HasPrefix(text, "18:00:00.000  deploy v3 to staging") {
		t.Errorf("the screen starts with %q, want the deployment's first line", final[0])
	}
}

// TestLiveRefusal: a rollback that undid nothing has no row, as it has
// no line in plain output.
func TestLiveRefusal(t *testing.T) {
	var buf bytes.Buffer
	l := newLive(&buf, func() int { return 100 }, lipgloss.NewRenderer(&buf), time.Hour)
	for _, e := range []backend.Event{
		{Kind: backend.EventStageStarted, At: at0, Stage: "lock"},
		{Kind: backend.EventStep, At: at0, Stage: "lock", Status: report.StatusFailed, Message: "held by grace"},
		{Kind: backend.EventStage, At: at0, Stage: "lock", Status: report.StatusFailed, Duration: time.Second},
		{Kind: backend.EventStageStarted, At: at0, Stage: "rollback"},
		{Kind: backend.EventStep, At: at0, Stage: "rollback", Status: report.StatusSkipped, Message: "no instance was switched"},
		{Kind: backend.EventStage, At: at0, Stage: "rollback", Status: report.StatusSkipped},
	} {
		l.event(e)
	}
	l.close()
	text := strings.Join(screen(buf.String()), "\n")
	if strings.Contains(text, "rollback") {
		t.Errorf("a refusal shows a rollback:\n%s", text)
	}
	if !strings.Contains(text, "✗ lock") {
		t.Errorf("the lock's failure is not shown:\n%s", text)
	}
}

// TestSinkFor: a terminal gets the live view unless NO_COLOR is set or
// TERM is dumb; anything else, the plain lines.
func TestSinkFor(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "tty")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	terminal := func(int) bool { return true }
	tests := []struct {
		name     string
		w        io.Writer
		env      map[string]string
		terminal func(int) bool
		live     bool
	}{
		{"a terminal", f, nil, terminal, true},
		{"a terminal with NO_COLOR", f, map[string]string{"NO_COLOR": "1"}, terminal, false},
		{"a dumb terminal", f, map[string]string{"TERM": "dumb"}, terminal, false},
		{"a file", f, nil, func(int) bool { return false }, false},
		{"a buffer", &bytes.Buffer{}, nil, terminal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sinkFor(tt.w, func(k string) string { return tt.env[k] }, tt.terminal)
			defer s.close()
			if _, live := s.(*live); live != tt.live {
				t.Errorf("sinkFor(%s) is live = %t, want %t", tt.name, live, tt.live)
			}
		})
	}
}

// TestNewSinkPlainWhenNotATerminal: a pipe, a file or a buffer gets the
// plain lines.
func TestNewSinkPlainWhenNotATerminal(t *testing.T) {
	if _, ok := newSink(&bytes.Buffer{}).(*plain); !ok {
		t.Error("newSink(buffer) is not the plain printer")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := newSink(f).(*plain); !ok {
		t.Error("newSink(file) is not the plain printer")
	}
}
