package manifest

import (
	"strings"
	"testing"
	"time"
)

func TestFreezeActive(t *testing.T) {
	m, err := Parse([]byte(`
app: demo
service: {start: x}
freeze:
  windows:
    - {days: [fri], from: "16:00", to: "23:59", time_zone: Europe/Paris, reason: friday afternoon}
    - {days: [sat], from: "22:00", to: "06:00", time_zone: America/New_York, reason: night batch}
  dates:
    - {from: 2026-12-24, to: 2026-12-26, time_zone: Europe/Paris, reason: holidays}
`))
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name   string
		at     time.Time
		want   string
		frozen bool
	}{
		{"friday 17:00 in Paris", time.Date(2026, 11, 27, 17, 0, 0, 0, paris), "friday afternoon", true},
		{"friday 15:59 in Paris", time.Date(2026, 11, 27, 15, 59, 0, 0, paris), "", false},
		{"friday 16:30 UTC is 17:30 in Paris", time.Date(2026, 11, 27, 16, 30, 0, 0, time.UTC), "friday afternoon", true},
		{"thursday 17:00 in Paris", time.Date(2026, 11, 26, 17, 0, 0, 0, paris), "", false},
		{"saturday 23:00 in New York", time.Date(2026, 11, 28, 23, 0, 0, 0, ny), "night batch", true},
		{"sunday 05:00 in New York, the same night", time.Date(2026, 11, 29, 5, 0, 0, 0, ny), "night batch", true},
		{"sunday 23:00 in New York", time.Date(2026, 11, 29, 23, 0, 0, 0, ny), "", false},
		{"christmas day", time.Date(2026, 12, 25, 10, 0, 0, 0, paris), "holidays", true},
		{"the day after the dated freeze", time.Date(2026, 12, 27, 0, 0, 1, 0, paris), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, frozen := m.Freeze.Active(tt.at)
			if frozen != tt.frozen || got.Reason != tt.want {
				t.Errorf("Active(%s) = %+v, %v; want %q, %v", tt.at, got, frozen, tt.want, tt.frozen)
			}
		})
	}
	got, _ := m.Freeze.Active(time.Date(2026, 11, 28, 23, 0, 0, 0, ny))
	if want := time.Date(2026, 11, 29, 6, 0, 0, 0, ny); !got.Until.Equal(want) {
		t.Errorf("overnight window ends %s, want %s", got.Until, want)
	}
}

func TestFreezeValidation(t *testing.T) {
	_, err := Parse([]byte("app: demo\nservice: {start: x}\nfreeze:\n  windows:\n    - {days: [funday], from: \"25:00\", to: \"10:00\"}\n"))
	for _, want := range []string{"time_zone", "funday", "25:00"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(bad freeze) error = %v, want it to mention %q", err, want)
		}
	}
}

func TestApprovalRequired(t *testing.T) {
	m, err := Parse([]byte("app: demo\nservice: {start: x}\nenvironments:\n  staging: {approval: true}\n  production: {approval: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env                    string
		production             bool
		wantRequired, wantIgnr bool
	}{
		{"production", true, true, true},
		{"staging", false, true, false},
		{"dev", false, false, false},
	}
	for _, tt := range tests {
		req, ign := m.ApprovalRequired(tt.env, tt.production)
		if req != tt.wantRequired || ign != tt.wantIgnr {
			t.Errorf("ApprovalRequired(%s, %v) = %v, %v; want %v, %v", tt.env, tt.production, req, ign, tt.wantRequired, tt.wantIgnr)
		}
	}
}
