package up_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/downto"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/status"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/target"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/up"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/migrate/migratetest"
)

// TestUpStatusDownTo drives the commands against each engine through a
// --database-url, as a person would.
func TestUpStatusDownTo(t *testing.T) {
	for _, engine := range migratetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			_, d := migratetest.Open(t, engine)
			url := map[string]string{
				migrate.SQLite:   "sqlite://" + d.Path,
				migrate.Postgres: d.URL(),
				migrate.MySQL:    fmt.Sprintf("mysql://%s:%s@%s:%d/%s", d.Username, d.Password.Reveal(), d.Host, d.Port, d.DBName),
			}[engine]
			db := target.DB{URL: url}
			var out, errOut bytes.Buffer
			io := &factory.IOStreams{Out: &out, ErrOut: &errOut}

			if err := up.Run(ctx, &up.Options{IO: io, Dir: "testdata/migrations", DB: db}); err != nil {
				t.Fatalf("up: %v", err)
			}
			if !strings.Contains(out.String(), "schema 0 → 3: applied [1 2 3]") {
				t.Errorf("up printed %q", out.String())
			}
			out.Reset()
			if err := up.Run(ctx, &up.Options{IO: io, Dir: "testdata/migrations", DB: db}); err != nil || !strings.Contains(out.String(), "nothing to apply") {
				t.Errorf("up again = %v, %q; want nothing to apply", err, out.String())
			}
			out.Reset()
			if err := status.Run(ctx, &status.Options{IO: io, Dir: "testdata/migrations", DB: db}); err != nil {
				t.Fatalf("status: %v", err)
			}
			if !strings.Contains(out.String(), "3 migration(s) applied") || !strings.Contains(out.String(), "seed") {
				t.Errorf("status printed %q", out.String())
			}
			out.Reset()
			err := downto.Run(ctx, &downto.Options{IO: io, Version: 0, DB: db})
			if factory.ExitCode(err) != factory.ExitFailed || !strings.Contains(out.String(), "reverted [3]; kept [2 1]") || !strings.Contains(out.String(), "NOT brought down") {
				t.Errorf("down-to 0 = %v, %q; want 3 reverted and 2, 1 kept (2 is irreversible)", err, out.String())
			}
		})
	}
}
