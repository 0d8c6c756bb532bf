package contract

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEventsRoundTrip checks that every manual-start sample decodes into its
// type with no unknown field and encodes back to the same JSON.
func TestEventsRoundTrip(t *testing.T) {
	tests := []struct {
		file string
		into any
	}{
		{"deploy-staging.json", &DeployRequest{}},
		{"rollback-staging.json", &RollbackRequest{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "events", "manual", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tt.into); err != nil {
				t.Fatalf("decode %s: %v", tt.file, err)
			}
			back, err := json.Marshal(tt.into)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			json.Unmarshal(raw, &want)
			json.Unmarshal(back, &got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip of %s (-file +encoded):\n%s", tt.file, diff)
			}
		})
	}
}

// TestErrorNames checks that each routed error type's Go name is listed in
// ErrorNames, which the definition test matches against ErrorEquals.
func TestErrorNames(t *testing.T) {
	errs := []error{&TransientError{}, &PreflightFailed{}, &LockHeld{}, &DeploymentInProgress{}, &Superseded{}, &Frozen{}, &Untested{}, &Rejected{}, &MigrationBlocked{}, &SnapshotFailed{}, &MigrationFailed{},
		&DeployFailed{}, &HealthCheckFailed{}, &SmokeCheckFailed{}, &CanaryFailed{}, &AlarmFired{}, &RollbackFailed{}, &FleetMismatch{}}
	if len(errs) != len(ErrorNames) {
		t.Fatalf("ErrorNames has %d names, want %d", len(ErrorNames), len(errs))
	}
	for i, e := range errs {
		got := typeName(e)
		if got != ErrorNames[i] {
			t.Errorf("error %d is %s, ErrorNames says %s", i, got, ErrorNames[i])
		}
	}
}
