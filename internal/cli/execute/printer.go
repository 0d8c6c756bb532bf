package execute

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/report"
)

// Printer returns a progress sink that writes one line per ledger step,
// as it is written, and one line per stage when it ends, with its duration:
// the plain output, the same whether or not it goes to a terminal, for
// scripts and logs.
//
// A rollback that had nothing to undo (the deployment was refused or
// failed before it changed anything: its steps all skipped, the stage
// skipped) prints no line, so that a refusal does not read like a
// rollback. Its skipped steps are held until the stage says so.
//
// A failure's message (a health check's answer, say) is printed in full
// once; the steps after it that quote it again (the rollback's reason,
// the record, the outcome) quote its beginning only.
func Printer(w io.Writer) func(backend.Event) {
	p := &plain{w: w}
	return p.event
}

// plain is the Printer's sink, and what a live view shares with it.
type plain struct {
	w        io.Writer
	mu       sync.Mutex
	events   eventLines
	collapse collapser
}

func (p *plain) event(e backend.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events.event(e, func(e backend.Event) {
		fmt.Fprintf(p.w, "%s  %-15s %s %s\n", stamp(e.At), e.Stage, report.Mark(e.Status), p.collapse.message(e))
	}, func(e backend.Event) {
		fmt.Fprintf(p.w, "%s  %-15s %s %s\n", stamp(e.At), e.Stage, strings.Repeat("─", 2), stageVerb(e.Status)+" "+report.FormatSeconds(e.Duration))
	})
}

func (p *plain) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, p.collapse.text(s))
}

func (p *plain) close()      {}
func (p *plain) waves() bool { return false }

// stageVerb says how a stage ended.
func stageVerb(status string) string {
	switch status {
	case report.StatusFailed:
		return "failed after"
	case report.StatusSkipped:
		return "skipped in"
	}
	return "done in"
}

// eventLines decides which events make a line: every step and every
// stage's end, except a rollback that had nothing to undo.
type eventLines struct {
	held []backend.Event
}

// event calls step or stage for what e shows, after the steps it held.
func (l *eventLines) event(e backend.Event, step, stage func(backend.Event)) {
	flush := func() {
		for _, h := range l.held {
			step(h)
		}
		l.held = nil
	}
	switch e.Kind {
	case backend.EventStep:
		if rollbackStage(e.Stage) && e.Status == report.StatusSkipped {
			l.held = append(l.held, e)
			return
		}
		flush()
		step(e)
	case backend.EventStage:
		if e.Stage == "rollback" && e.Status == report.StatusSkipped {
			l.held = nil // nothing was undone: nothing to say
			return
		}
		flush()
		stage(e)
	}
}

// collapser shortens what a failed step already said in full when a later
// line quotes it: a failing health check's answer is printed once, not in
// the rollback's reason, the record and the outcome again.
type collapser struct {
	// said are the failed steps' messages printed so far.
	said []string
}

// minQuote is the shortest repeat worth collapsing; keepQuote, how much of
// its beginning a repeat keeps.
const (
	minQuote  = 80
	keepQuote = 48
)

// message returns e's message to print and remembers a failure's.
func (c *collapser) message(e backend.Event) string {
	msg := c.text(e.Message)
	if e.Kind == backend.EventStep && e.Status == report.StatusFailed && e.Stage != "record" && len(e.Message) >= minQuote {
		c.said = append(c.said, e.Message)
	}
	return msg
}

// text returns s with the longest stretch it shares with a failure
// already printed (at least minQuote bytes) cut to its beginning.
func (c *collapser) text(s string) string {
	best, bi := "", 0
	for _, said := range c.said {
		if q, i := longestCommon(s, said); len(q) > len(best) {
			best, bi = q, i
		}
	}
	if len(best) < minQuote {
		return s
	}
	head := best[:keepQuote]
	if sp := strings.LastIndexByte(head, ' '); sp > keepQuote/2 {
		head = head[:sp]
	}
	head = validPrefix(head)
	return s[:bi] + head + "… (as above)" + s[bi+len(best):]
}

// longestCommon returns the longest substring of a that b contains too,
// cut to whole UTF-8 characters, and where it starts in a.
func longestCommon(a, b string) (string, int) {
	if len(a) < minQuote || len(b) < minQuote {
		return "", 0
	}
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	bestLen, bestEnd := 0, 0
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
				if cur[j] > bestLen {
					bestLen, bestEnd = cur[j], i
				}
			} else {
				cur[j] = 0
			}
		}
		prev, cur = cur, prev
	}
	start, end := bestEnd-bestLen, bestEnd
	for start < end && !runeStart(a[start]) {
		start++
	}
	for end > start && end < len(a) && !runeStart(a[end]) {
		end--
	}
	return a[start:end], start
}

func runeStart(b byte) bool { return b&0xC0 != 0x80 }

// validPrefix drops a character cut in two at the end of s.
func validPrefix(s string) string {
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func stamp(t time.Time) string { return t.Local().Format("15:04:05.000") }
