package fleet_test

import (
	"testing"

	"github.com/slipway-deploy/slipway/internal/fleet"
)

// TestFinal: only SSM's terminal statuses are final. Delayed (the agent
// retries the delivery) and Cancelling are not, nor is a status nobody
// knows: the pipeline keeps polling them.
func TestFinal(t *testing.T) {
	for status, want := range map[string]bool{
		"Success": true, "Failed": true, "TimedOut": true, "Cancelled": true,
		"DeliveryTimedOut": true, "Undeliverable": true, "Terminated": true,
		"Pending": false, "InProgress": false, "Delayed": false, "Cancelling": false, "": false, "SomethingNew": false,
	} {
		if got := fleet.Final(status); got != want {
			t.Errorf("Final(%q) = %v, want %v", status, got, want)
		}
	}
}
