package execute

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
	"golang.org/x/term"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/report"
)

// sink is where a command's progress goes: plain lines, or a live view on
// a terminal.
type sink interface {
	event(backend.Event)
	// line prints a line of its own: the first, and the outcome.
	line(string)
	// close ends the live part; lines after it are plain.
	close()
	// waves says whether the sink shows each wave's progress.
	waves() bool
}

// newSink returns a live view when w is a terminal, colour is not turned
// off (NO_COLOR, TERM=dumb) and the terminal's width is known; the plain
// Printer otherwise.
func newSink(w io.Writer) sink { return sinkFor(w, os.Getenv, term.IsTerminal) }

// sinkFor is newSink with the environment and the terminal test given.
func sinkFor(w io.Writer, getenv func(string) string, isTerminal func(fd int) bool) sink {
	f, ok := w.(*os.File)
	if !ok || getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" || !isTerminal(int(f.Fd())) {
		return &plain{w: w}
	}
	width := func() int {
		if c, _, err := term.GetSize(int(f.Fd())); err == nil && c > 20 {
			return c
		}
		return 80
	}
	return newLive(w, width, lipgloss.NewRenderer(w), 100*time.Millisecond)
}

// live shows the steps as plain lines do, coloured, under which a block
// is drawn again in place: one row per stage with its elapsed time, and the
// running wave's progress bar with its instance counts.
type live struct {
	w     io.Writer
	width func() int
	now   func() time.Time
	st    liveStyles

	mu       sync.Mutex
	events   eventLines
	collapse collapser
	stages   []*liveStage
	// above are the lines to print above the block at the next draw.
	above []string
	// drawn is how many lines the block took when last drawn.
	drawn  int
	frame  int
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

type liveStage struct {
	name    string
	status  string // "" while it runs
	started time.Time
	// took sums the stage's earlier runs (preflight runs again after
	// the lock, to ask the hosts).
	took time.Duration
	wave *backend.WaveProgress
}

type liveStyles struct {
	ok, failed, skipped, running, dim, bold lipgloss.Style
}

func newLive(w io.Writer, width func() int, r *lipgloss.Renderer, tick time.Duration) *live {
	l := &live{w: w, width: width, now: time.Now, stop: make(chan struct{}), done: make(chan struct{}),
		st: liveStyles{
			ok:      r.NewStyle().Foreground(lipgloss.ANSIColor(termenv.ANSIGreen)),
			failed:  r.NewStyle().Foreground(lipgloss.ANSIColor(termenv.ANSIRed)).Bold(true),
			skipped: r.NewStyle().Faint(true),
			running: r.NewStyle().Foreground(lipgloss.ANSIColor(termenv.ANSICyan)),
			dim:     r.NewStyle().Faint(true),
			bold:    r.NewStyle().Bold(true),
		}}
	go l.tick(tick)
	return l
}

// tick redraws the block while a stage runs, so its time moves.
func (l *live) tick(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if !l.closed && l.running() != nil {
				l.frame++
				l.draw()
			}
			l.mu.Unlock()
		}
	}
}

func (l *live) waves() bool { return true }

func (l *live) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s = l.collapse.text(s)
	if l.closed {
		fmt.Fprintln(l.w, s)
		return
	}
	l.above = append(l.above, s)
	l.draw()
}

func (l *live) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	now := l.now()
	for _, s := range l.stages {
		if s.status == "" { // the execution ended while it ran
			s.took += now.Sub(s.started)
			s.status = report.StatusInterrupted
		}
	}
	l.draw()
	l.mu.Unlock()
	close(l.stop)
	<-l.done
}

func (l *live) event(e backend.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e.Kind {
	case backend.EventStageStarted:
		s := l.stage(e.Stage)
		s.status, s.started = "", e.At
	case backend.EventWave:
		if s := l.stage(e.Stage); e.Wave != nil {
			w := *e.Wave
			s.wave = &w
		}
	}
	l.events.event(e, func(e backend.Event) {
		l.above = append(l.above, l.stepLine(e))
	}, func(e backend.Event) {
		s := l.stage(e.Stage)
		s.status = e.Status
		if s.started.IsZero() {
			s.started = e.At.Add(-e.Duration)
		}
		s.took += e.Duration
	})
	if e.Kind == backend.EventStage && e.Stage == "rollback" && e.Status == report.StatusSkipped {
		l.drop("rollback") // nothing was undone: no row, as no line
	}
	l.draw()
}

// stage returns the row of a stage, adding it.
func (l *live) stage(name string) *liveStage {
	for _, s := range l.stages {
		if s.name == name {
			return s
		}
	}
	s := &liveStage{name: name, started: l.now()}
	l.stages = append(l.stages, s)
	return s
}

func (l *live) drop(name string) {
	for i, s := range l.stages {
		if s.name == name {
			l.stages = append(l.stages[:i], l.stages[i+1:]...)
			return
		}
	}
}

func (l *live) running() *liveStage {
	for _, s := range l.stages {
		if s.status == "" {
			return s
		}
	}
	return nil
}

// stepLine is a step as the Printer writes it, with its mark coloured.
func (l *live) stepLine(e backend.Event) string {
	msg := l.collapse.message(e)
	return fmt.Sprintf("%s  %-15s %s %s", l.st.dim.Render(stamp(e.At)), e.Stage, l.mark(e.Status), msg)
}

func (l *live) mark(status string) string {
	m := report.Mark(status)
	switch status {
	case report.StatusOK:
		return l.st.ok.Render(m)
	case report.StatusFailed:
		return l.st.failed.Render(m)
	case report.StatusInterrupted:
		return l.st.failed.Render(m)
	case report.StatusSkipped, "info":
		return l.st.dim.Render(m)
	}
	return m
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// draw prints the lines waiting above, then the block again in place of
// the last one. The caller holds mu.
func (l *live) draw() {
	var b strings.Builder
	if l.drawn > 0 {
		b.WriteString(ansi.CursorUp(l.drawn))
	}
	b.WriteString("\r" + ansi.EraseScreenBelow)
	for _, a := range l.above {
		b.WriteString(a + "\n")
	}
	l.above = nil
	width := l.width() - 1
	rows := l.block()
	for _, r := range rows {
		b.WriteString(ansi.Truncate(r, width, "…") + "\n")
	}
	l.drawn = len(rows)
	io.WriteString(l.w, b.String())
}

// block is one row per stage so far: its mark, name and time; the stage
// that runs has a spinner and its time so far, and the host command it
// waits for, a progress bar.
func (l *live) block() []string {
	now := l.now()
	rows := make([]string, 0, len(l.stages))
	for _, s := range l.stages {
		took := s.took
		mark := l.mark(s.status)
		name := fmt.Sprintf("%-15s", s.name)
		if s.status == "" {
			took += now.Sub(s.started)
			mark = l.st.running.Render(spinner[l.frame%len(spinner)])
			name = l.st.bold.Render(name)
		}
		row := fmt.Sprintf("  %s %s %7s", mark, name, report.FormatSeconds(took))
		if s.wave != nil && (s.status == "" || s.wave.Failed > 0) {
			row += "  " + l.bar(*s.wave)
		}
		rows = append(rows, row)
	}
	return rows
}

const barWidth = 24

// bar is a host command's progress: which wave of how many, a bar of the
// instances done (red for those that failed), and the counts.
func (l *live) bar(w backend.WaveProgress) string {
	what := "switching back"
	if w.Action == "activate" {
		what = fmt.Sprintf("wave %d", w.Wave)
		if w.Waves > 0 {
			what += fmt.Sprintf(" of %d", w.Waves)
		}
	}
	n := max(w.Instances, 1)
	failed := w.Failed * barWidth / n
	ok := (w.Done - w.Failed) * barWidth / n
	if w.Done == w.Instances {
		ok = barWidth - failed // rounding never leaves a finished bar short
	}
	bar := l.st.ok.Render(strings.Repeat("━", ok)) + l.st.failed.Render(strings.Repeat("━", failed)) +
		l.st.dim.Render(strings.Repeat("─", max(barWidth-ok-failed, 0)))
	counts := fmt.Sprintf("%d/%d instances", w.Done, w.Instances)
	if w.Failed > 0 {
		counts += ", " + l.st.failed.Render(fmt.Sprintf("%d failed", w.Failed))
	}
	return fmt.Sprintf("%-14s %s %s", what, bar, counts)
}
