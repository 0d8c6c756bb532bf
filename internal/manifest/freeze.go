package manifest

import (
	"fmt"
	"strings"
	"time"
)

// Freeze is when deployments are refused unless overridden: weekly windows
// and dated freezes, each in an explicit IANA time zone.
type Freeze struct {
	Windows []FreezeWindow `yaml:"windows"`
	Dates   []FreezeDates  `yaml:"dates"`
}

// FreezeWindow is a weekly window, e.g. Friday 16:00 to 23:59 in
// Europe/Paris. A window whose To is before its From runs over midnight.
type FreezeWindow struct {
	Days     []string `yaml:"days"` // mon..sun; empty means every day
	From     string   `yaml:"from"` // HH:MM
	To       string   `yaml:"to"`   // HH:MM
	TimeZone string   `yaml:"time_zone"`
	Reason   string   `yaml:"reason"`
}

// FreezeDates is a dated freeze, From and To inclusive, in TimeZone.
type FreezeDates struct {
	From     string `yaml:"from"` // YYYY-MM-DD
	To       string `yaml:"to"`
	TimeZone string `yaml:"time_zone"`
	Reason   string `yaml:"reason"`
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func clock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day such as \"16:00\"", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

func (f Freeze) validate() []problem {
	var errs []problem
	add := func(field, format string, a ...any) {
		errs = append(errs, problem{path: field, msg: fmt.Sprintf(format, a...)})
	}
	for i, w := range f.Windows {
		field := fmt.Sprintf("freeze.windows[%d]", i)
		if _, err := time.LoadLocation(w.TimeZone); err != nil || w.TimeZone == "" {
			add(field+".time_zone", "%q is not an IANA time zone such as \"Europe/Paris\" (it is required)", w.TimeZone)
		}
		for j, d := range w.Days {
			if _, ok := weekdays[strings.ToLower(d)]; !ok {
				errs = append(errs, problem{path: fmt.Sprintf("%s.days[%d]", field, j), key: field + ".days",
					msg: fmt.Sprintf("%q is not a day (mon, tue, wed, thu, fri, sat, sun)", d)})
			}
		}
		for _, t := range []struct{ name, v string }{{"from", w.From}, {"to", w.To}} {
			if _, err := clock(t.v); err != nil {
				add(field+"."+t.name, "%v", err)
			}
		}
	}
	for i, d := range f.Dates {
		field := fmt.Sprintf("freeze.dates[%d]", i)
		loc, err := time.LoadLocation(d.TimeZone)
		if err != nil || d.TimeZone == "" {
			add(field+".time_zone", "%q is not an IANA time zone such as \"Europe/Paris\" (it is required)", d.TimeZone)
			continue
		}
		from, err1 := time.ParseInLocation(time.DateOnly, d.From, loc)
		to, err2 := time.ParseInLocation(time.DateOnly, d.To, loc)
		if err1 != nil || err2 != nil {
			add(field, "from and to must be dates such as \"2026-12-24\"")
		} else if to.Before(from) {
			add(field+".to", "%s is before from (%s)", d.To, d.From)
		}
	}
	return errs
}

// ActiveFreeze describes the freeze a time falls in.
type ActiveFreeze struct {
	Reason string `json:"reason"`
	// Until is when it ends.
	Until time.Time `json:"until"`
	What  string    `json:"what"`
}

// Active returns the freeze that t falls in, if any.
func (f Freeze) Active(t time.Time) (ActiveFreeze, bool) {
	for _, d := range f.Dates {
		loc, err := time.LoadLocation(d.TimeZone)
		if err != nil {
			continue
		}
		from, err1 := time.ParseInLocation(time.DateOnly, d.From, loc)
		to, err2 := time.ParseInLocation(time.DateOnly, d.To, loc)
		if err1 != nil || err2 != nil {
			continue
		}
		end := to.AddDate(0, 0, 1)
		if !t.Before(from) && t.Before(end) {
			return ActiveFreeze{Reason: d.Reason, Until: end, What: fmt.Sprintf("dated freeze %s to %s (%s)", d.From, d.To, d.TimeZone)}, true
		}
	}
	for _, w := range f.Windows {
		loc, err := time.LoadLocation(w.TimeZone)
		if err != nil {
			continue
		}
		from, err1 := clock(w.From)
		to, err2 := clock(w.To)
		if err1 != nil || err2 != nil {
			continue
		}
		local := t.In(loc)
		minute := local.Hour()*60 + local.Minute()
		day := local
		in := false
		switch {
		case from <= to:
			in = minute >= from && minute < to
		case minute >= from: // the evening part of an overnight window
			in = true
		case minute < to: // the morning part: the window started the day before
			in, day = true, local.AddDate(0, 0, -1)
		}
		if !in || !w.onDay(day.Weekday()) {
			continue
		}
		y, m, d := day.Date()
		until := time.Date(y, m, d, to/60, to%60, 0, 0, loc)
		if from > to {
			until = until.AddDate(0, 0, 1)
		}
		return ActiveFreeze{Reason: w.Reason, Until: until, What: fmt.Sprintf("weekly freeze %s %s–%s (%s)", strings.Join(w.Days, ","), w.From, w.To, w.TimeZone)}, true
	}
	return ActiveFreeze{}, false
}

func (w FreezeWindow) onDay(d time.Weekday) bool {
	if len(w.Days) == 0 {
		return true
	}
	for _, s := range w.Days {
		if weekdays[strings.ToLower(s)] == d {
			return true
		}
	}
	return false
}

// ApprovalRequired says whether deployments to env wait for an approval.
// Production always does; other environments do only if the manifest asks.
// ignored is true when the manifest tried to turn production's off.
func (m *Manifest) ApprovalRequired(env string, production bool) (required, ignored bool) {
	e, ok := m.Environments[env]
	set := ok && e.Approval != nil
	if production {
		return true, set && !*e.Approval
	}
	return set && *e.Approval, false
}
