package ledger_test

import (
	"path/filepath"
	"testing"

	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/ledgertest"
)

func TestSQLiteConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledgertest.Store {
		t.Helper()
		s, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
		if err != nil {
			t.Fatalf("OpenSQLite = %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
