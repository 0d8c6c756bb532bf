package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
)

// TestTrafficHooksPlan: Preflight sets BeforeTraffic and AfterTraffic for
// the release's hooks where traffic is switched (blue/green, or target
// groups); without a load balancer they do not run, and the ledger says
// why, once, under the lease.
func TestTrafficHooksPlan(t *testing.T) {
	hook := &manifest.Hook{Run: "bin/x", Timeout: manifest.Duration{Duration: time.Minute}}
	tests := []struct {
		name                string
		hooks               manifest.Hooks
		out                 contract.PreflightOutput
		underLease          bool
		wantBefore, wantAft bool
		wantStep            string
	}{
		{name: "blue/green", hooks: manifest.Hooks{BeforeTraffic: hook, AfterTraffic: hook}, out: contract.PreflightOutput{BlueGreen: &contract.BlueGreenSpec{}},
			wantBefore: true, wantAft: true},
		{name: "in place behind target groups, after_traffic only", hooks: manifest.Hooks{AfterTraffic: hook}, out: contract.PreflightOutput{Traffic: true}, wantAft: true},
		{name: "no load balancer, before the lease", hooks: manifest.Hooks{BeforeTraffic: hook}},
		{name: "no load balancer, under the lease", hooks: manifest.Hooks{BeforeTraffic: hook, AfterTraffic: hook}, underLease: true,
			wantStep: "hooks before_traffic and after_traffic do not run: environment staging has no load balancer (no target_groups, no blue_green), so no traffic is switched"},
		{name: "no traffic hook", hooks: manifest.Hooks{Validate: hook}, out: contract.PreflightOutput{Traffic: true}, underLease: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			led := pipelinetest.Ledger(t)
			h := &Preflight{Deps: &Deps{Ledger: led}}
			out := tt.out
			out.Environment = "staging"
			h.trafficHooks(context.Background(), "dep-1", &manifest.Manifest{Hooks: tt.hooks}, &out, tt.underLease)
			if out.BeforeTraffic != tt.wantBefore || out.AfterTraffic != tt.wantAft {
				t.Errorf("before_traffic, after_traffic = %v, %v; want %v, %v", out.BeforeTraffic, out.AfterTraffic, tt.wantBefore, tt.wantAft)
			}
			steps, _ := led.Steps(context.Background(), "dep-1")
			var got []string
			for _, s := range steps {
				got = append(got, s.Message)
			}
			switch {
			case tt.wantStep == "" && len(got) > 0:
				t.Errorf("steps = %q, want none", got)
			case tt.wantStep != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tt.wantStep)):
				t.Errorf("steps = %q, want one starting %q", got, tt.wantStep)
			}
		})
	}
}
