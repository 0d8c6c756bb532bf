package lint

import (
	"fmt"
	"strconv"
	"strings"
)

// Policy decides which migrations may ship: the manifest's
// migrations.policy.block and migrations.allow.
type Policy struct {
	// Block lists the classes that block a deploy.
	Block []Class
	// Allow names migrations that ship anyway: by version ("3", "0003"),
	// by name as in the file name ("0003_drop_email") or by file name.
	Allow []string
}

// NewPolicy is the policy of a manifest's migrations.allow and the classes
// it blocks (manifest.Migrations.BlockedClasses).
func NewPolicy(allow, blockedClasses []string) Policy {
	p := Policy{Allow: allow}
	for _, c := range blockedClasses {
		p.Block = append(p.Block, Class(c))
	}
	return p
}

// Allowed reports whether the manifest names r.
func (p Policy) Allowed(r Result) bool {
	for _, a := range p.Allow {
		a = strings.TrimSpace(a)
		if a == r.Key() || a == r.File {
			return true
		}
		if n, err := strconv.ParseInt(a, 10, 64); err == nil && n == r.Version {
			return true
		}
	}
	return false
}

// Blocks returns why r may not ship, or nil: its class is blocked, or it
// has lint errors, and the manifest does not name it.
func (p Policy) Blocks(r Result) []string {
	if p.Allowed(r) {
		return nil
	}
	var why []string
	for _, c := range p.Block {
		if c == r.Class {
			why = append(why, fmt.Sprintf("it is %s (%s), and migrations.policy.block holds %s", r.Class, classMeaning(r.Class), r.Class))
		}
	}
	if n := r.Errors(); n > 0 {
		why = append(why, fmt.Sprintf("it has %d lint error(s)", n))
	}
	return why
}

func classMeaning(c Class) string {
	switch c {
	case Contract:
		return "it breaks the release that is running while it is applied"
	case Destructive:
		return "it loses data"
	}
	return "the running release keeps working"
}

// Explain describes the migrations that block a deploy: each one's class,
// findings and how to let it through.
func (p Policy) Explain(blocked []Result) string {
	var b strings.Builder
	for _, r := range blocked {
		fmt.Fprintf(&b, "\n  %s (%s): %s", r.Key(), r.Class, strings.Join(p.Blocks(r), "; "))
		for _, e := range r.Effects {
			fmt.Fprintf(&b, "\n    %s", e)
		}
		for _, f := range r.Findings {
			if f.Ignored {
				fmt.Fprintf(&b, "\n    %s:%d: ignored %s: %s", f.File, f.Line, f.Rule, f.Reason)
				continue
			}
			fmt.Fprintf(&b, "\n    %s", FormatFinding(f))
		}
	}
	b.WriteString("\n  To ship a blocked migration, make sure the running release no longer depends on what it changes (expand, then contract in a later release), then name it in slipway.yaml: migrations: {allow: [\"<name>\"]}; fix a finding, or write `-- slipway:ignore <rule> <why it is safe>` above its statement.")
	return b.String()
}

// FormatFinding writes a finding as file:line: severity rule (code): message.
func FormatFinding(f Finding) string {
	code := ""
	if f.AtlasCode != "" {
		code = " (" + f.AtlasCode + ")"
	}
	return fmt.Sprintf("%s:%d: %s %s%s: %s", f.File, f.Line, f.Severity, f.Rule, code, f.Message)
}
