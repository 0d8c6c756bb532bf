package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/manifest"
)

// Risk is section 2: a score from 0 to 100 and the reasons for it.
type Risk struct {
	Score int `json:"score"`
	// Level is low (0-24), medium (25-49), high (50-74) or critical (75-100).
	Level   string   `json:"level"`
	Factors []Factor `json:"factors"`
}

// Factor is one input's share of the score.
type Factor struct {
	// Input is migrations, change, environment, freeze or rollback.
	Input  string `json:"input"`
	Points int    `json:"points"`
	Reason string `json:"reason"`
}

// Change is how a release differs from the one the environment serves,
// file by file (release.env, which every bundle renders for its own
// version, is left out).
type Change struct {
	// Previous is the release compared against.
	Previous string `json:"previous"`
	Added    int    `json:"added"`
	Removed  int    `json:"removed"`
	Changed  int    `json:"changed"`
	// Bytes is the size of the new release's files; BytesChanged the size
	// of the files added or changed.
	Bytes        int64 `json:"bytes"`
	BytesChanged int64 `json:"bytes_changed"`
}

// Files is the number of files added, removed or changed.
func (c Change) Files() int { return c.Added + c.Removed + c.Changed }

// Compare compares two releases' files (path to contents).
func Compare(previous string, before, after map[string][]byte) Change {
	c := Change{Previous: previous}
	for p, b := range after {
		if p == "release.env" {
			continue
		}
		c.Bytes += int64(len(b))
		old, ok := before[p]
		switch {
		case !ok:
			c.Added++
			c.BytesChanged += int64(len(b))
		case string(old) != string(b):
			c.Changed++
			c.BytesChanged += int64(len(b))
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok && p != "release.env" {
			c.Removed++
		}
	}
	return c
}

// RiskInput is what the risk score is computed from. Unknown inputs are
// nil or false, and are said to be unknown rather than guessed.
type RiskInput struct {
	// Migrations are the pending migrations with their lint verdicts;
	// MigrationsKnown is false when the database could not be read.
	Migrations      []Migration
	MigrationsKnown bool
	// Change compares the release with the one served now; nil when it
	// could not be compared. FirstDeployment means nothing is served yet.
	Change          *Change
	ChangeNote      string
	FirstDeployment bool
	Production      bool
	Environment     string
	// Freeze is the freeze schedule, nil when unknown; At is when the
	// deployment runs (now, for a plan); Overridden says a deployment went
	// ahead inside a window.
	Freeze     *manifest.Freeze
	At         time.Time
	Overridden *manifest.ActiveFreeze
	// RollbackTarget is the release a rollback returns to; MissingOn the
	// hosts that no longer keep it; TargetChecked says whether the hosts
	// were asked at all.
	RollbackTarget string
	TargetChecked  bool
	MissingOn      []string
	// Rollback says the execution is a rollback: it returns to a release
	// that served before, and freeze windows do not stop it.
	Rollback bool
}

// Points of the risk score. The score is their sum, capped at 100:
//
//	migrations  (at most 50)  per pending migration: destructive 25, contract 12, expand 2;
//	                          not reversible +10; per lint error 8, warning 3, ignored finding 1;
//	                          10 when the database could not be read
//	change      (at most 20)  files added, removed or changed: 0 → 0, 1-5 → 3, 6-25 → 6,
//	                          26-100 → 10, more → 15; +5 when over 10 MiB changed;
//	                          10 for a first deployment, 5 when not compared
//	environment               production 15
//	freeze                    inside a window (overridden) 25; one starts within 2h 10
//	rollback                  no previous release 15; target missing on a host 25
const (
	pointsDestructive   = 25
	pointsContract      = 12
	pointsExpand        = 2
	pointsIrreversible  = 10
	pointsLintError     = 8
	pointsLintWarning   = 3
	pointsLintIgnored   = 1
	pointsUnknownSchema = 10
	maxMigrationPoints  = 50

	pointsFirstDeploy  = 10
	pointsNotCompared  = 5
	pointsBigChange    = 5
	bigChangeBytes     = 10 << 20
	maxChangePoints    = 20
	pointsProduction   = 15
	pointsInFreeze     = 25
	pointsNearFreeze   = 10
	freezeHorizon      = 2 * time.Hour
	pointsNoTarget     = 15
	pointsTargetMissed = 25
)

// Assess scores a deployment's risk. The formula is in the comment on the
// points above; the same input always gives the same score.
func Assess(in RiskInput) Risk {
	var fs []Factor
	add := func(input string, points int, format string, a ...any) {
		fs = append(fs, Factor{Input: input, Points: points, Reason: fmt.Sprintf(format, a...)})
	}

	// Migrations.
	switch {
	case !in.MigrationsKnown:
		add("migrations", pointsUnknownSchema, "the database could not be read, so the pending migrations are unknown")
	case len(in.Migrations) == 0:
		add("migrations", 0, "no pending migrations")
	default:
		total := 0
		var parts []string
		for _, m := range in.Migrations {
			p := 0
			var why []string
			switch m.Class {
			case "destructive":
				p += pointsDestructive
				why = append(why, "destructive")
			case "contract":
				p += pointsContract
				why = append(why, "contract")
			case "expand":
				p += pointsExpand
				why = append(why, "expand")
			default:
				p += pointsExpand
				why = append(why, "not linted")
			}
			if !m.Reversible {
				p += pointsIrreversible
				why = append(why, "not reversible")
			}
			var errs, warns, ignored int
			for _, f := range m.Findings {
				switch {
				case f.Ignored:
					ignored++
				case f.Severity == "error":
					errs++
				default:
					warns++
				}
			}
			p += errs*pointsLintError + warns*pointsLintWarning + ignored*pointsLintIgnored
			if n := errs + warns + ignored; n > 0 {
				why = append(why, findingsText(errs, warns, ignored))
			}
			total += p
			parts = append(parts, fmt.Sprintf("%s %s (+%d)", m.Key(), strings.Join(why, ", "), p))
		}
		if total > maxMigrationPoints {
			parts = append(parts, fmt.Sprintf("capped at %d", maxMigrationPoints))
			total = maxMigrationPoints
		}
		add("migrations", total, "%s", strings.Join(parts, "; "))
	}

	// Size of the change.
	switch {
	case in.Rollback:
		add("change", 0, "a rollback returns to %s, which served before", orPlaceholder(in.RollbackTarget, "the previous release"))
	case in.FirstDeployment:
		add("change", pointsFirstDeploy, "first deployment to %s: nothing to compare with", in.Environment)
	case in.Change == nil:
		note := in.ChangeNote
		if note == "" {
			note = "the releases could not be compared"
		}
		add("change", pointsNotCompared, "%s", note)
	default:
		c := *in.Change
		p := 0
		switch n := c.Files(); {
		case n == 0:
			p = 0
		case n <= 5:
			p = 3
		case n <= 25:
			p = 6
		case n <= 100:
			p = 10
		default:
			p = 15
		}
		if c.BytesChanged > bigChangeBytes {
			p += pointsBigChange
		}
		p = min(p, maxChangePoints)
		add("change", p, "%d files changed since %s (%d added, %d removed, %d modified), %s of %s", c.Files(), c.Previous,
			c.Added, c.Removed, c.Changed, Bytes(c.BytesChanged), Bytes(c.Bytes))
	}

	// Environment.
	if in.Production {
		add("environment", pointsProduction, "%s is a production environment", in.Environment)
	} else {
		add("environment", 0, "%s is not a production environment", in.Environment)
	}

	// Freeze windows.
	switch {
	case in.Rollback:
		add("freeze", 0, "freeze windows never stop a rollback")
	case in.Overridden != nil:
		add("freeze", pointsInFreeze, "inside a freeze (%s: %s), overridden", in.Overridden.What, in.Overridden.Reason)
	case in.Freeze == nil:
		add("freeze", 0, "freeze windows not known")
	default:
		if f, ok := in.Freeze.Active(in.At); ok {
			add("freeze", pointsInFreeze, "inside a freeze until %s (%s: %s); the deployment is refused unless overridden",
				f.Until.UTC().Format(time.RFC3339), f.What, f.Reason)
		} else if f, at, ok := NextFreeze(*in.Freeze, in.At, freezeHorizon); ok {
			add("freeze", pointsNearFreeze, "a freeze starts in %s (%s: %s)", roundDuration(at.Sub(in.At)), f.What, f.Reason)
		} else {
			add("freeze", 0, "no freeze now or in the next %s", roundDuration(freezeHorizon))
		}
	}

	// Rollback target.
	switch {
	case in.Rollback && len(in.MissingOn) > 0:
		add("rollback", pointsTargetMissed, "%s is no longer on %s", in.RollbackTarget, strings.Join(in.MissingOn, ", "))
	case in.Rollback:
		add("rollback", 0, "%s is checked on every host before the lock", orPlaceholder(in.RollbackTarget, "the target"))
	case in.RollbackTarget == "":
		add("rollback", pointsNoTarget, "no previous release: a failure cannot be rolled back, only fixed forward")
	case len(in.MissingOn) > 0:
		add("rollback", pointsTargetMissed, "%s is no longer on %s: the deployment is refused until they have it", in.RollbackTarget, strings.Join(in.MissingOn, ", "))
	case in.TargetChecked:
		add("rollback", 0, "%s is on every host", in.RollbackTarget)
	default:
		add("rollback", 0, "%s served last; every host is checked for it before the lock", in.RollbackTarget)
	}

	score := 0
	for _, f := range fs {
		score += f.Points
	}
	score = min(score, 100)
	return Risk{Score: score, Level: Level(score), Factors: fs}
}

// Level names a score's band.
func Level(score int) string {
	switch {
	case score >= 75:
		return "critical"
	case score >= 50:
		return "high"
	case score >= 25:
		return "medium"
	}
	return "low"
}

func findingsText(errs, warns, ignored int) string {
	var p []string
	if errs > 0 {
		p = append(p, plural(errs, "lint error"))
	}
	if warns > 0 {
		p = append(p, plural(warns, "warning"))
	}
	if ignored > 0 {
		p = append(p, fmt.Sprintf("%d ignored", ignored))
	}
	return strings.Join(p, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// NextFreeze returns the first freeze that starts after t and within
// horizon, and when it starts (to the minute).
func NextFreeze(f manifest.Freeze, t time.Time, horizon time.Duration) (manifest.ActiveFreeze, time.Time, bool) {
	start := t.Truncate(time.Minute).Add(time.Minute)
	for at := start; !at.After(t.Add(horizon)); at = at.Add(time.Minute) {
		if a, ok := f.Active(at); ok {
			return a, at, true
		}
	}
	return manifest.ActiveFreeze{}, time.Time{}, false
}

func roundDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

// Bytes formats a size for people: 512 B, 12.0 KiB, 3.4 MiB.
func Bytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
