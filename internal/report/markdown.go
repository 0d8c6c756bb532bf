package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/slipway-deploy/slipway/internal/canary"
)

// Markdown renders the report for a pull request comment or a release
// note (GitHub-flavoured Markdown): the summary first, breaking changes
// called out, then the migrations with their class and findings, the
// configuration keys that change (names only), what to keep in mind while
// it deploys, and the rollback procedure with the snapshot restore where a
// migration is not reversible. It is written for people who read it in a
// browser; the text form (String) stays the one for terminals.
func (r *Report) Markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	what := "Deployment"
	switch r.Kind {
	case "plan":
		what = "Plan"
	case "rollback":
		what = "Rollback"
	}
	w("### Slipway %s: `%s` to %s", strings.ToLower(what), r.Version, r.Environment)
	if r.PreviousVersion != "" {
		w(", replacing `%s`", r.PreviousVersion)
	}
	w("\n\n")
	if r.Outcome != nil {
		w("**%s** — %s\n\n", r.Outcome.Status, mdInline(r.Outcome.Summary))
	}
	if r.Plan.Refusal != "" {
		w("> [!CAUTION]\n> **Slipway would refuse this deployment now** (%s): %s\n\n", r.Plan.RefusalKind, mdQuote(r.Plan.Refusal))
	}
	if br := breaking(r.Plan.Migrations, r.Plan.Config); len(br) > 0 {
		w("> [!WARNING]\n> **Breaking changes**\n")
		for _, s := range br {
			w("> - %s\n", s)
		}
		w("\n")
	}

	// Summary.
	w("| | |\n|---|---|\n")
	w("| Release | `%s`, %s, sha256 `%s` |\n", r.Version, Bytes(r.Plan.Artifact.Size), short(r.Plan.Artifact.SHA256, 12))
	w("| Environment | %s: %s in %s |\n", r.Environment, plural(len(r.Plan.Targets), "instance"), plural(len(r.Plan.Waves), "wave"))
	if r.PreviousVersion != "" {
		w("| Previous release | `%s` |\n", r.PreviousVersion)
	} else {
		w("| Previous release | none: the first deployment here |\n")
	}
	w("| Risk | **%d/100, %s** |\n", r.Risk.Score, r.Risk.Level)
	if r.Plan.ApprovalRequired {
		w("| Approval | required (`slipway approve`) |\n")
	}
	m := r.Plan.Migrations
	switch {
	case !m.Known:
		w("| Schema | unknown: the database could not be read |\n")
	case len(m.Pending) == 0:
		w("| Schema | at %d, no pending migration |\n", m.Current)
	default:
		w("| Schema | %d → %d, %s (%s) |\n", m.Current, m.Target, plural(len(m.Pending), "pending migration"), m.Engine)
	}
	if c := r.Plan.Config; c != nil {
		w("| Configuration | %s, fingerprint `%s` |\n", plural(len(c.Keys), "variable"), c.Fingerprint)
	}
	w("\n")

	mdMigrations(w, m)

	mdConfig(w, r.Plan.Config)

	// Deployment considerations.
	w("#### Deployment considerations\n\n")
	for _, f := range r.Risk.Factors {
		if f.Points > 0 {
			w("- %s (+%d): %s\n", f.Input, f.Points, mdInline(f.Reason))
		}
	}
	for i, wave := range r.Plan.Waves {
		w("- wave %d: %s\n", i+1, codeList(wave))
	}
	p := r.Checklist.Probe
	w("- health: `GET %s` answers %d with version `%s`, %d times in a row\n", p.Path, p.ExpectStatus, p.ExpectVersion, p.Successes)
	if len(r.Checklist.Alarms) > 0 {
		var names []string
		for _, a := range r.Checklist.Alarms {
			names = append(names, a.Name)
		}
		w("- alarms watched after each wave and for the %s bake: %s\n", formatSeconds(float64(r.Checklist.BakeSeconds)), codeList(names))
	}
	for _, c := range r.Checklist.Checks {
		if strings.HasPrefix(c.What, checkHosts) || strings.HasPrefix(c.What, checkHook) || strings.HasPrefix(c.What, checkSmoke) || strings.HasPrefix(c.What, checkCanary) {
			w("- %s\n", mdInline(c.What))
		}
	}
	for _, n := range r.Notes {
		w("- note: %s\n", mdInline(n))
	}
	w("\n")

	mdCanary(w, r.Canary)

	// Rollback procedure.
	rb := r.Rollback
	w("#### Rollback procedure\n\n%s.\n\n", capitalize(strings.TrimSuffix(mdInline(rb.Automatic), ".")))
	if rb.Target != "" {
		w("By hand, back to `%s`:\n\n```sh\n%s\n```\n\n", rb.Target, strings.Join(rb.Commands, "\n"))
	}
	if len(rb.Schema) > 0 {
		for _, s := range rb.Schema {
			w("- `%s`: %s\n", s.Migration, mdInline(s.How))
		}
		w("\n")
	}
	if rb.Restore != "" {
		snap := "the snapshot taken before the migrations"
		if rb.Snapshot != "" && r.Kind != "plan" {
			snap = "snapshot `" + rb.Snapshot + "`"
		}
		w("<details><summary>A migration is not reversible: restoring %s</summary>\n\n```\n%s\n```\n\n</details>\n", snap, rb.Restore)
	}
	return b.String()
}

// mdMigrations writes the pending migrations' table and their findings.
func mdMigrations(w func(string, ...any), m Migrations) {
	if len(m.Pending) == 0 {
		return
	}
	w("#### Migrations\n\n")
	if m.EngineWarning != "" {
		w("> [!WARNING]\n> %s\n\n", mdQuote(m.EngineWarning))
	}
	w("| Migration | Class | Reversible | Runs in | Findings |\n|---|---|---|---|---|\n")
	for _, mg := range m.Pending {
		rev := "yes"
		if !mg.Reversible {
			rev = "**no**"
		}
		class := mg.Class
		if class == "contract" || class == "destructive" {
			class = "**" + class + "**"
		}
		if mg.Allowed {
			class += " (allowed by the manifest)"
		}
		w("| `%s` | %s | %s | %s | %s |\n", mg.Key(), class, rev, mg.Mode, findingCount(mg.Findings))
	}
	var all []Finding
	for _, mg := range m.Pending {
		all = append(all, mg.Findings...)
	}
	if len(all) > 0 {
		w("\n")
		for _, f := range all {
			sev := f.Severity
			if f.Ignored {
				sev = "ignored"
			}
			w("- **%s** `%s:%d` %s: %s", sev, f.File, f.Line, f.Rule, mdInline(f.Message))
			if f.Reason != "" {
				w(" — %s", mdInline(f.Reason))
			}
			w("\n")
		}
	}
	w("\n")
}

// mdConfig writes the configuration keys and declarations that change.
func mdConfig(w func(string, ...any), c *ConfigChange) {
	if c == nil || (len(c.Added)+len(c.Removed)+len(c.Changed)+len(c.Declarations) == 0 && c.Note == "") {
		return
	}
	w("#### Configuration\n\n")
	if len(c.Added)+len(c.Removed)+len(c.Changed) > 0 {
		w("Values are compared by keyed prints and never shown.\n\n")
	}
	for _, l := range []struct {
		what string
		keys []string
	}{{"added", c.Added}, {"removed", c.Removed}, {"changed", c.Changed}} {
		if len(l.keys) > 0 {
			w("- %s: %s\n", l.what, codeList(l.keys))
		}
	}
	for _, d := range c.Declarations {
		w("- manifest: `%s` %s", d.Name, d.Change)
		if len(d.Environments) > 0 {
			w(" (%s)", strings.Join(d.Environments, ", "))
		}
		w("\n")
	}
	if c.Note != "" {
		w("- note: %s\n", mdInline(c.Note))
	}
	w("\n")
}

// breaking lists what a reviewer must not miss: contract and destructive
// migrations, irreversible ones, and configuration keys removed.
func breaking(ms Migrations, c *ConfigChange) []string {
	var out []string
	for _, m := range ms.Pending {
		var why []string
		if m.Class == "contract" || m.Class == "destructive" {
			why = append(why, m.Class)
		}
		if !m.Reversible {
			why = append(why, "not reversible")
		}
		if len(why) > 0 {
			out = append(out, fmt.Sprintf("migration `%s`: %s", m.Key(), strings.Join(why, ", ")))
		}
	}
	if c != nil && len(c.Removed) > 0 {
		out = append(out, "configuration removed: "+codeList(c.Removed))
	}
	if c != nil {
		for _, d := range c.Declarations {
			if d.Change == "removed" && !slices.Contains(c.Removed, d.Name) {
				out = append(out, "configuration variable `"+d.Name+"` no longer declared")
			}
		}
	}
	return out
}

func findingCount(fs []Finding) string {
	if len(fs) == 0 {
		return "—"
	}
	var parts []string
	bySev := map[string]int{}
	var order []string
	for _, f := range fs {
		sev := f.Severity
		if f.Ignored {
			sev = "ignored"
		}
		if bySev[sev] == 0 {
			order = append(order, sev)
		}
		bySev[sev]++
	}
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%d %s", bySev[s], s))
	}
	return strings.Join(parts, ", ")
}

func codeList(items []string) string {
	out := slices.Clone(items)
	for i, s := range out {
		out[i] = "`" + s + "`"
	}
	return strings.Join(out, ", ")
}

// mdInline keeps a message on one line of Markdown: newlines become
// spaces and table pipes are escaped.
func mdInline(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// mdQuote keeps a multi-line message inside a block quote.
func mdQuote(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n> ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// mdCanary writes the canary analysis: each sample interval's figures on
// both sides, and the verdict.
func mdCanary(w func(string, ...any), a *CanaryAnalysis) {
	if a == nil || len(a.Samples) == 0 {
		return
	}
	w("#### Canary analysis: %s\n\n", a.Status)
	w("Wave 1 (%s) against %s, not yet deployed.\n\n", codeList(a.Canary), codeList(a.Baseline))
	w("| Sample | Canary errors | Baseline errors | Canary latency | Baseline latency |\n|---|---|---|---|---|\n")
	for _, s := range a.Samples {
		lat := func(t canary.Totals) string {
			if m, ok := t.MeanLatencyMS(); ok {
				return canary.Millis(m)
			}
			return "–"
		}
		w("| %d (%s) | %s of %d | %s of %d | %s | %s |\n", s.Sample, formatSeconds(s.Seconds), canary.Percent(s.Canary.ErrorRate()), s.Canary.Requests,
			canary.Percent(s.Baseline.ErrorRate()), s.Baseline.Requests, lat(s.Canary), lat(s.Baseline))
	}
	w("\n%s\n\n", mdInline(a.Verdict.Summary()))
}
