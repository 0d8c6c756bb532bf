package report

import (
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
)

func TestPlannedRolloutInPlace(t *testing.T) {
	p := contract.PreflightOutput{Version: "v2", Waves: [][]string{{"i-1"}, {"i-2", "i-3"}}, Traffic: true, TargetGroups: []string{"web", "api"}}
	var rollout string
	for _, s := range plannedSteps(contract.KindDeploy, p, Migrations{}) {
		if s.Stage == "rollout" {
			rollout = s.Description
		}
	}
	for _, want := range []string{"wave 1: i-1 (drain from web, api, then register)", "wave 2: i-2, i-3 (drain from web, api, then register)", "reports it healthy"} {
		if !strings.Contains(rollout, want) {
			t.Errorf("rollout step = %q; want %q in it", rollout, want)
		}
	}
	p.Traffic = false
	for _, s := range plannedSteps(contract.KindDeploy, p, Migrations{}) {
		if s.Stage == "rollout" && strings.Contains(s.Description, "drain") {
			t.Errorf("without target groups: %q", s.Description)
		}
	}
}
