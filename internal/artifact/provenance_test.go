package artifact

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/provenance"
)

// TestProvenanceBesideTheBundle: both stores keep a release's record
// beside its bundle, answer nil for a release without one, and say what
// to do about a damaged one.
func TestProvenanceBesideTheBundle(t *testing.T) {
	ctx := context.Background()
	rec := provenance.Record{Version: "v1", SHA256: strings.Repeat("a", 64), Commit: "3f9a", Branch: "main", BuildURL: "https://ci/1",
		BuiltAt: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), Tests: &provenance.Tests{Passed: true, Total: 3, Source: "report.xml"}}
	dir := &Dir{Root: t.TempDir()}
	onMoto, _ := motoS3(t, "provenance-test", true)
	stores := map[string]ProvenanceStore{"dir": dir, "s3 on moto": onMoto}
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			if got, err := st.Provenance(ctx, "demo", "v1"); got != nil || err != nil {
				t.Fatalf("Provenance before any = %+v, %v; want nil, nil", got, err)
			}
			if err := st.PutProvenance(ctx, "demo", "v1", rec); err != nil {
				t.Fatal(err)
			}
			got, err := st.Provenance(ctx, "demo", "v1")
			if err != nil || got == nil || got.Commit != "3f9a" || got.Tests == nil || !got.Tests.Passed || !got.BuiltAt.Equal(rec.BuiltAt) {
				t.Fatalf("Provenance = %+v, %v; want the record put", got, err)
			}
		})
	}
	if err := os.WriteFile(filepath.Join(dir.Root, "demo", "v1.tar.gz.provenance.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dir.Provenance(ctx, "demo", "v1"); err == nil || !strings.Contains(err.Error(), "publish the release again") {
		t.Errorf("a damaged record: %v; want an error saying to publish again", err)
	}
}
