package report

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// TestStepDetails builds reports from steps whose details say what they
// are, worded differently from what the pipeline writes: the report reads
// the details, never the messages.
func TestStepDetails(t *testing.T) {
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	until := time.Date(2026, 12, 24, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		steps []ledger.Step
		check func(t *testing.T, r *Report)
	}{
		{"hosts keep the target", []ledger.Step{{Stage: "preflight", Status: "ok", Message: "hosts: fine",
			Detail: raw(contract.HostCheck{Kind: contract.DetailHostCheck, Release: "v7"})}},
			func(t *testing.T, r *Report) {
				if r.Rollback.TargetOnHosts != "yes: every host keeps v7" {
					t.Errorf("target on hosts = %q, want yes", r.Rollback.TargetOnHosts)
				}
			}},
		{"a host lacks the target", []ledger.Step{{Stage: "preflight", Status: "failed", Message: "refused",
			Detail: raw(contract.HostCheck{Kind: contract.DetailHostCheck, Release: "v7", Missing: []string{"i-0b2", "i-0c3"}})}},
			func(t *testing.T, r *Report) {
				if f := factor(r, "rollback"); f.Points != pointsTargetMissed {
					t.Errorf("rollback risk = %+v, want %d points for the hosts without v7", f, pointsTargetMissed)
				}
			}},
		{"a freeze overridden, recorded before details had a kind", []ledger.Step{{Stage: "preflight", Status: "info", Message: "let through",
			Detail: raw(map[string]any{"what": "dates 2026-12-24 to 2026-12-26", "reason": "holidays", "until": until})}},
			func(t *testing.T, r *Report) {
				if f := factor(r, "freeze"); f.Points == 0 {
					t.Errorf("freeze risk = %+v, want points for the override", f)
				}
			}},
		{"a health gate failed on alarms", []ledger.Step{
			{Stage: "health", Status: "ok", Message: "wave 1 fine"},
			{Stage: "health", Status: "failed", Message: "wave 2: stopped", Detail: raw(contract.AlarmsFiring{Kind: contract.DetailAlarms, Alarms: []contract.FiringAlarm{{Name: "shop-5xx"}}})}},
			func(t *testing.T, r *Report) {
				probe, alarms := r.Checklist.Checks[0], r.Checklist.Checks[1]
				if probe.Status != StatusOK || alarms.Status != StatusFailed || alarms.Detail != "wave 2: stopped" {
					t.Errorf("checks = %+v, %+v; want the probe ok and the alarms failed", probe, alarms)
				}
			}},
		{"a health gate failed on its probes", []ledger.Step{
			{Stage: "health", Status: "failed", Message: "wave 1: the alarm endpoint answered 503"}},
			func(t *testing.T, r *Report) {
				probe, alarms := r.Checklist.Checks[0], r.Checklist.Checks[1]
				if probe.Status != StatusFailed || alarms.Status == StatusFailed {
					t.Errorf("checks = %+v, %+v; want the probe failed, whatever its message says", probe, alarms)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := rolledBack()
			in.Steps = tt.steps
			in.State.Preflight.RequireOnHosts = "v7"
			tt.check(t, NewDeployment(in))
		})
	}
}

func factor(r *Report, input string) Factor {
	for _, f := range r.Risk.Factors {
		if f.Input == input {
			return f
		}
	}
	return Factor{}
}
