package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Marks for statuses in text.
var marks = map[string]string{
	StatusOK: "✓", StatusFailed: "✗", StatusSkipped: "–", StatusNotRun: "·", StatusPlanned: " ", StatusWaiting: "…", StatusInterrupted: "!", "info": "·",
}

// Mark is the one-character mark of a status in text output.
func Mark(status string) string {
	if m, ok := marks[status]; ok {
		return m
	}
	return "·"
}

// Text writes the report for people.
func (r *Report) Text(w io.Writer) error {
	t := &textWriter{w: w}
	r.header(t)
	r.outcome(t)
	r.section1(t)
	r.section2(t)
	r.section3(t)
	r.section4(t)
	r.section5(t)
	r.section6(t)
	r.extras(t)
	return t.err
}

// String is the report's text.
func (r *Report) String() string {
	var b strings.Builder
	_ = r.Text(&b)
	return b.String()
}

type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) printf(format string, a ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, a...)
	}
}

// field writes "   Label         value", continuing extra lines of value
// under the value.
func (t *textWriter) field(label string, lines ...string) {
	for i, l := range lines {
		if i == 0 {
			t.printf("   %-13s %s\n", label, l)
		} else {
			t.printf("   %-13s %s\n", "", l)
		}
	}
}

func (r *Report) header(t *textWriter) {
	what := "deploy " + r.Version
	if r.Kind == KindRollback {
		what = "roll back to " + orPlaceholder(r.Version, "the previous release")
	}
	prev := ""
	if r.PreviousVersion != "" {
		prev = ", replacing " + r.PreviousVersion
	}
	if r.Kind == KindPlan {
		t.printf("Plan: %s of %s to %s%s\n", what, r.App, r.Environment, prev)
		t.printf("Generated %s; nothing was changed.\n", r.GeneratedAt.UTC().Format(time.RFC3339))
		if r.Plan.Refusal != "" {
			t.printf("\nREFUSED (%s): %s\n", r.Plan.RefusalKind, r.Plan.Refusal)
		}
		return
	}
	t.printf("Deployment %s: %s of %s to %s%s\n", r.DeploymentID, what, r.App, r.Environment, prev)
	trig := r.Trigger.Source
	if trig == "" {
		trig = "unknown"
	}
	if r.Trigger.Actor != "" {
		trig += " by " + r.Trigger.Actor
	}
	if r.Trigger.Reason != "" {
		trig += ": " + r.Trigger.Reason
	}
	t.printf("Triggered by %s\n", trig)
}

func (r *Report) outcome(t *textWriter) {
	o := r.Outcome
	if o == nil {
		return
	}
	t.printf("\nOutcome: %s", o.Status)
	if !o.FinishedAt.IsZero() {
		t.printf(" in %s", formatSeconds(o.Seconds))
	}
	t.printf(" (started %s)\n", o.StartedAt.UTC().Format(time.RFC3339))
	if o.Summary != "" {
		t.printf("   %s\n", o.Summary)
	}
	if o.Error != "" {
		t.printf("   Error: %s: %s\n", o.Error, CauseMessage(o.Cause))
	}
}

func (r *Report) section1(t *textWriter) {
	p := r.Plan
	t.printf("\n1. Deployment Plan\n")
	a := p.Artifact
	switch {
	case a.URI != "":
		t.field("Release", fmt.Sprintf("%s, %s, sha256 %s", r.Version, Bytes(a.Size), a.SHA256), a.URI)
	default:
		t.field("Release", orPlaceholder(r.Version, "?")+" (not located)")
	}
	tags := formatTags(p.Tags)
	switch {
	case len(p.Targets) == 0:
		t.field("Targets", strings.TrimSpace(tags+" no instances resolved"))
	default:
		lines := []string{fmt.Sprintf("%s%s", prefixed(tags, ": "), plural(len(p.Targets), "instance"))}
		for _, tg := range p.Targets {
			state := "online"
			if !tg.Online {
				state = "OFFLINE"
			}
			l := fmt.Sprintf("  %-20s %s", tg.ID, state)
			if tg.Serves != "" {
				l += "  serves " + tg.Serves
			}
			lines = append(lines, strings.TrimRight(l, " "))
		}
		t.field("Targets", lines...)
	}
	if len(p.Waves) > 0 {
		var lines []string
		for i, w := range p.Waves {
			lines = append(lines, fmt.Sprintf("%d. %s", i+1, strings.Join(w, ", ")))
		}
		t.field("Waves", lines...)
	} else {
		t.field("Waves", "not planned")
	}
	m := p.Migrations
	if m.EngineWarning != "" {
		t.field("Engine", "WARNING: "+m.EngineWarning)
	}
	switch {
	case !m.Known:
		t.field("Migrations", "unknown: the database was not read")
	case len(m.Pending) == 0:
		t.field("Migrations", fmt.Sprintf("none pending; the schema is at %d", m.Current))
	default:
		eng := ""
		if m.Engine != "" {
			eng = " (" + m.Engine + ")"
		}
		lines := []string{fmt.Sprintf("schema %d → %d, %d pending%s", m.Current, m.Target, len(m.Pending), eng)}
		for _, mg := range m.Pending {
			rev := "reversible"
			if !mg.Reversible {
				rev = "NOT reversible"
			}
			l := fmt.Sprintf("  %-28s %-11s %-14s %s", mg.Key(), orPlaceholder(mg.Class, "not linted"), rev, mg.Mode)
			if mg.Allowed {
				l += "  allowed by the manifest"
			}
			lines = append(lines, strings.TrimRight(l, " "))
			for _, f := range mg.Findings {
				sev := f.Severity
				if f.Ignored {
					sev = "ignored"
				}
				fl := fmt.Sprintf("    %-8s %s:%d %s: %s", sev, f.File, f.Line, f.Rule, f.Message)
				if f.Ignored && f.Reason != "" {
					fl += " (" + f.Reason + ")"
				}
				lines = append(lines, fl)
			}
		}
		if len(m.Ahead) > 0 {
			lines = append(lines, fmt.Sprintf("  applied but unknown to this release: %v", m.Ahead))
		}
		t.field("Migrations", lines...)
	}
	if c := p.Config; c != nil {
		t.field("Configuration", configLines(c)...)
	}
	if p.ApprovalRequired {
		t.field("Approval", "required: the run waits for `slipway approve` before it takes the lock")
	} else {
		t.field("Approval", "not required")
	}
}

func (r *Report) section2(t *textWriter) {
	k := r.Risk
	t.printf("\n2. Risk Assessment: %d/100, %s\n", k.Score, k.Level)
	for _, f := range k.Factors {
		t.printf("   %+4d  %-12s %s\n", f.Points, f.Input, f.Reason)
	}
}

func (r *Report) section3(t *textWriter) {
	t.printf("\n3. Execution Steps\n")
	for i, s := range r.Steps {
		if r.Kind == KindPlan {
			t.printf("   %2d. %-10s %s\n", i+1, s.Stage, s.Description)
			continue
		}
		t.printf("   %2d. %-10s %s %-8s %s\n", i+1, s.Stage, Mark(s.Status), s.Status, s.Description)
		for _, m := range s.Messages {
			t.printf("         %s  %s %s\n", m.At.UTC().Format("15:04:05"), Mark(m.Status), m.Message)
		}
	}
}

func (r *Report) section4(t *textWriter) {
	c := r.Checklist
	t.printf("\n4. Validation Checklist\n")
	for _, ch := range c.Checks {
		l := fmt.Sprintf("   [%s] %s", Mark(ch.Status), ch.What)
		if ch.Status != StatusPlanned && r.Kind != KindPlan {
			l += " — " + ch.Status
		}
		if ch.Detail != "" {
			l += ": " + ch.Detail
		}
		t.printf("%s\n", l)
	}
}

func (r *Report) section5(t *textWriter) {
	rp := r.Rollback
	t.printf("\n5. Rollback Procedure\n")
	t.field("Automatic", rp.Automatic)
	if rp.Target != "" {
		t.field("Target", fmt.Sprintf("%s (%s)", rp.Target, rp.TargetOnHosts))
	} else {
		t.field("Target", rp.TargetOnHosts)
	}
	if len(rp.Commands) > 0 {
		t.field("Commands", rp.Commands...)
	}
	if len(rp.Schema) > 0 {
		var lines []string
		for _, s := range rp.Schema {
			lines = append(lines, s.Migration+": "+s.How)
		}
		t.field("Schema", lines...)
	}
	if rp.Snapshot != "" {
		t.field("Snapshot", rp.Snapshot)
	}
	if rp.Restore != "" {
		t.field("Restore", strings.Split(strings.TrimSpace(rp.Restore), "\n")...)
	}
}

func (r *Report) section6(t *textWriter) {
	m := r.Monitoring
	t.printf("\n6. Monitoring Points\n")
	if len(m.Alarms) > 0 {
		t.field("Alarms", m.Alarms...)
	} else {
		t.field("Alarms", "none watched")
	}
	if len(m.Dashboards) > 0 {
		t.field("Dashboards", m.Dashboards...)
	}
	if len(m.LogGroups) > 0 {
		t.field("Logs", m.LogGroups...)
	}
	t.field("Commands", m.Commands...)
}

func (r *Report) extras(t *textWriter) {
	r.canaryText(t)
	if len(r.Timings) > 0 {
		t.printf("\nTimings\n")
		for _, s := range r.Timings {
			t.printf("   %-14s %8s  %s %s\n", s.Stage, formatSeconds(s.Seconds), Mark(s.Status), s.Status)
		}
	}
	if len(r.Instances) > 0 {
		t.printf("\nPer-instance results\n")
		tw := tabwriter.NewWriter(&errWriter{t}, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "   WAVE\tINSTANCE\tACTION\tVERSION\tSTATUS\tEXIT\tTIME\tDETAIL\n")
		for _, i := range r.Instances {
			wave := "-"
			if i.Wave > 0 {
				wave = fmt.Sprint(i.Wave)
			}
			fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", wave, i.Instance, i.Action, i.Version, i.Status, i.ExitCode, formatSeconds(i.Seconds), i.Detail)
		}
		tw.Flush()
	}
	if rb := r.RolledBack; rb != nil {
		t.printf("\nRollback\n")
		t.field("Triggered by", rb.TriggeredBy)
		t.field("Reverted", bullets(rb.Reverted, "nothing")...)
		t.field("Not reverted", bullets(rb.NotReverted, "nothing: everything this deployment changed was put back")...)
		if rb.Restore != "" && rb.Restore != r.Rollback.Restore {
			t.field("Restore", strings.Split(strings.TrimSpace(rb.Restore), "\n")...)
		}
	}
	if len(r.Notes) > 0 {
		t.printf("\nNotes\n")
		for _, n := range r.Notes {
			t.printf("   - %s\n", n)
		}
	}
}

// errWriter lets a tabwriter write through a textWriter.
type errWriter struct{ t *textWriter }

func (e *errWriter) Write(p []byte) (int, error) {
	e.t.printf("%s", p)
	return len(p), e.t.err
}

func bullets(items []string, empty string) []string {
	if len(items) == 0 {
		return []string{empty}
	}
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = "- " + s
	}
	return out
}

func formatTags(tags map[string]string) string {
	kv := make([]string, 0, len(tags))
	for k, v := range tags {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func prefixed(s, sep string) string {
	if s == "" {
		return ""
	}
	return s + sep
}

// formatSeconds renders a duration in seconds for people: 0.4s, 12.3s, 2m05s.
func formatSeconds(s float64) string {
	if s < 60 {
		return fmt.Sprintf("%.1fs", s)
	}
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	m := int(d.Minutes())
	return fmt.Sprintf("%dm%02ds", m, int(d.Seconds())%60)
}

// FormatSeconds renders a duration for people as reports do.
func FormatSeconds(d time.Duration) string { return formatSeconds(seconds(d)) }

// configLines describes a plan's configuration: keys and environments,
// never a value.
func configLines(c *ConfigChange) []string {
	first := plural(len(c.Keys), "variable")
	if c.Fingerprint != "" {
		first += ", fingerprint " + c.Fingerprint
	}
	lines := []string{first}
	switch {
	case c.Previous == "" && len(c.Added)+len(c.Removed)+len(c.Changed) == 0:
		lines = append(lines, "  first configuration deployed here")
	case len(c.Added)+len(c.Removed)+len(c.Changed) == 0:
		lines = append(lines, "  unchanged since the deployed release")
	default:
		for _, k := range []struct {
			what string
			keys []string
		}{{"added", c.Added}, {"removed", c.Removed}, {"changed", c.Changed}} {
			if len(k.keys) > 0 {
				lines = append(lines, fmt.Sprintf("  %-8s %s", k.what, strings.Join(k.keys, ", ")))
			}
		}
	}
	for _, d := range c.Declarations {
		l := fmt.Sprintf("  manifest: %s %s", d.Name, d.Change)
		if len(d.Environments) > 0 {
			l += " (" + strings.Join(d.Environments, ", ") + ")"
		}
		lines = append(lines, l)
	}
	if c.Note != "" {
		lines = append(lines, "  "+c.Note)
	}
	return lines
}
