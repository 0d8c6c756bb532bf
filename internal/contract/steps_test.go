package contract

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseStepDetails(t *testing.T) {
	raw := func(v any) []byte {
		b, _ := json.Marshal(v)
		return b
	}
	until := time.Date(2026, 12, 24, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		name                    string
		detail                  []byte
		kind                    string
		hostCheck, freeze, plan bool
	}{
		{"none", nil, "", false, false, false},
		{"a list", []byte(`[{"name":"x"}]`), "", false, false, false},
		{"host check", raw(HostCheck{Kind: DetailHostCheck, Release: "v1"}), DetailHostCheck, true, false, false},
		{"freeze override", raw(FreezeOverride{Kind: DetailFreezeOverride, What: "w", Until: until}), DetailFreezeOverride, false, true, false},
		{"freeze override without a kind", raw(map[string]any{"what": "w", "reason": "r", "until": until}), "", false, true, false},
		{"alarms", raw(AlarmsFiring{Kind: DetailAlarms, Alarms: []FiringAlarm{{Name: "a"}}}), DetailAlarms, false, false, false},
		{"preflight's plan", raw(PreflightDetail{Waves: [][]string{{"i-1"}}}), "", false, false, true},
		{"preflight's plan without waves", raw(PreflightDetail{}), "", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetailKind(tt.detail); got != tt.kind {
				t.Errorf("DetailKind(%s) = %q, want %q", tt.detail, got, tt.kind)
			}
			if _, ok := ParseHostCheck(tt.detail); ok != tt.hostCheck {
				t.Errorf("ParseHostCheck(%s) ok = %t, want %t", tt.detail, ok, tt.hostCheck)
			}
			if _, ok := ParseFreezeOverride(tt.detail); ok != tt.freeze {
				t.Errorf("ParseFreezeOverride(%s) ok = %t, want %t", tt.detail, ok, tt.freeze)
			}
			if _, ok := ParsePreflightDetail(tt.detail); ok != tt.plan {
				t.Errorf("ParsePreflightDetail(%s) ok = %t, want %t", tt.detail, ok, tt.plan)
			}
		})
	}
}
