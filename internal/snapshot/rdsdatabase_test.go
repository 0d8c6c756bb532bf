package snapshot

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestRDSDatabase: without a client, it says how to restore and refuses
// to take or read a snapshot.
func TestRDSDatabase(t *testing.T) {
	for _, db := range []RDSDatabase{{DBInstance: "app-db"}, {DBCluster: "app-cluster"}} {
		if _, err := db.Create(context.Background(), "s"); !errors.Is(err, ErrNoClient) {
			t.Errorf("%s: Create = %v; want ErrNoClient", db.Name(), err)
		}
		if _, err := db.Status(context.Background(), "s"); !errors.Is(err, ErrNoClient) {
			t.Errorf("%s: Status = %v; want ErrNoClient", db.Name(), err)
		}
		if p := db.RestoreProcedure("slipway-demo-staging-d1"); !strings.Contains(p, db.Name()) || !strings.Contains(p, "slipway-demo-staging-d1") {
			t.Errorf("RestoreProcedure = %q; want the database and the snapshot named", p)
		}
	}
}
