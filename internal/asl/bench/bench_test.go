package bench

import (
	"context"
	"testing"
)

// TestWorkloads runs each workload once on the embedded engine: the
// benchmark must measure successful runs of the path it claims.
func TestWorkloads(t *testing.T) {
	ws, err := Workloads()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"pass-chain-10k": 10000, "map-10k": 10001}
	for _, w := range ws {
		t.Run(w.Name, func(t *testing.T) {
			w.Runs = 1
			res, err := RunEmbedded(context.Background(), w)
			if err != nil {
				t.Fatalf("RunEmbedded(%s) error: %v (for deploy: regenerate testdata/deploy-stubs.json from the statemachine stubs)", w.Name, err)
			}
			if n, ok := want[w.Name]; ok && res.Transitions != n {
				t.Errorf("RunEmbedded(%s) made %d transitions, want %d", w.Name, res.Transitions, n)
			}
			if res.TransitionsPerSecond() <= 0 {
				t.Errorf("RunEmbedded(%s) = %+v, want a throughput", w.Name, res)
			}
		})
	}
}
