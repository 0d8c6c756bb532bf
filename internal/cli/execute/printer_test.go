package execute

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/report"
)

// TestPrinterRollbackLine prints a rollback stage only when it did
// something: a refusal has no rollback line.
func TestPrinterRollbackLine(t *testing.T) {
	at := time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)
	step := func(stage, msg string) backend.Event {
		return backend.Event{Kind: backend.EventStep, At: at, Stage: stage, Status: report.StatusOK, Message: msg}
	}
	skipped := func(stage, msg string) backend.Event {
		return backend.Event{Kind: backend.EventStep, At: at, Stage: stage, Status: report.StatusSkipped, Message: msg}
	}
	stage := func(name string) backend.Event {
		return backend.Event{Kind: backend.EventStage, At: at, Stage: name, Status: report.StatusOK, Duration: time.Second}
	}
	stageSkipped := func(name string) backend.Event {
		return backend.Event{Kind: backend.EventStage, At: at, Stage: name, Status: report.StatusSkipped}
	}
	tests := []struct {
		name         string
		events       []backend.Event
		wantRollback bool
	}{
		{"refused: the rollback skipped everything", []backend.Event{step("lock", "held by grace"), stage("lock"),
			skipped("rollback", "rollback after LockHeld: no instance was switched"), skipped("revert-schema", "no migration ran"), stageSkipped("rollback"),
			step("record", "FAILED"), stage("record")}, false},
		{"rolled back", []backend.Event{step("rollout", "wave 1"), stage("rollout"), step("rollback", "switched back to v1"), stage("rollback"), stage("record")}, true},
		{"rolled back, the schema untouched", []backend.Event{step("rollout", "wave 1"), stage("rollout"), skipped("revert-schema", "no migration ran"),
			step("rollback", "switched back to v1"), stage("rollback"), stage("record")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := Printer(&buf)
			for _, e := range tt.events {
				p(e)
			}
			got := strings.Contains(buf.String(), "rollback        ──") || strings.Contains(buf.String(), "revert-schema")
			if got != tt.wantRollback {
				t.Errorf("Printer printed a rollback stage line = %v, want %v:\n%s", got, tt.wantRollback, buf.String())
			}
			if !strings.Contains(buf.String(), "record          ── done in 1.0s") {
				t.Errorf("Printer left out the record stage:\n%s", buf.String())
			}
		})
	}
}
