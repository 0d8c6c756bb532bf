package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoRDSClient: the CLI says how to restore a snapshot but never
// takes one, so it does not link the RDS client, whose schema tables cost
// about 1.4 MB and several milliseconds of package init on every command
// (GODEBUG=inittrace=1). snapshot.RDSDatabase is what it uses instead.
func TestLinksNoRDSClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/aws/aws-sdk-go-v2/service/rds") {
			t.Errorf("cmd/slipway links %s: use snapshot.RDSDatabase, not internal/snapshot/awsrds", p)
		}
	}
}
