package promote

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
)

// TestCheckSeesALaterRollback is finding 7 of issue 10: deploy v1, v2, v2
// again, then `rollback --to v1`; the older v2 record that SUCCEEDED must
// not make v2 promotable.
func TestCheckSeesALaterRollback(t *testing.T) {
	ctx := context.Background()
	led, err := ledgersqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	put := func(i int, d ledger.Deployment) {
		t.Helper()
		d.App, d.Environment = "demo", "staging"
		d.StartedAt, d.FinishedAt = t0.Add(time.Duration(i)*time.Minute), t0.Add(time.Duration(i)*time.Minute+30*time.Second)
		if d.Kind == "" {
			d.Kind = contract.KindDeploy
		}
		if err := led.PutDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	put(1, ledger.Deployment{ID: "d1", Version: "v1", Status: contract.StatusSucceeded})
	put(2, ledger.Deployment{ID: "d2", Version: "v2", PreviousVersion: "v1", Status: contract.StatusSucceeded})
	put(3, ledger.Deployment{ID: "d3", Version: "v2", PreviousVersion: "v2", Status: contract.StatusSucceeded})

	if d, err := Check(ctx, led, "demo", "staging", "v2"); err != nil || d.ID != "d3" {
		t.Fatalf("Check(v2) before the rollback = %s, %v, want d3", d.ID, err)
	}

	put(4, ledger.Deployment{ID: "r1", Kind: contract.KindRollback, Version: "v1", PreviousVersion: "v2", Status: contract.StatusRolledBack, TargetDeploymentID: "d3"})
	led.UpdateDeployment(ctx, "d3", func(d *ledger.Deployment) error { d.RolledBackBy = "r1"; return nil })

	d, err := Check(ctx, led, "demo", "staging", "v2")
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("Check(v2) after rollback --to v1 = %s, %v, want a refusal", d.ID, err)
	}
	if !strings.Contains(err.Error(), "r1") {
		t.Errorf("refusal %q does not name the rollback r1", err)
	}
	// v1, which the rollback returned to, succeeded and was not rolled back.
	if d, err := Check(ctx, led, "demo", "staging", "v1"); err != nil || d.ID != "d1" {
		t.Errorf("Check(v1) = %s, %v, want d1", d.ID, err)
	}
}
