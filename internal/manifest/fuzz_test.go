package manifest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics, that every error names the
// file (and a line within it, when it gives one), and that what it
// accepts keeps the rules: a bake within MaxBake, sane waves that plan
// every instance exactly once, and a release.env that renders.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), FileName) {
				t.Fatalf("Parse() error = %q, want it to start with %s", err, FileName)
			}
			var perr *Error
			if errors.As(err, &perr) {
				lines := len(yamlLines(data))
				for _, p := range perr.Problems {
					if p.Line < 0 || p.Line > lines || p.Column < 0 {
						t.Fatalf("Parse() problem %+v, want a position within the file's %d lines", p, lines)
					}
				}
			}
			return
		}
		checkManifest(t, m)
	})
}

func checkManifest(t *testing.T, m *Manifest) {
	t.Helper()
	envs := []string{"staging"}
	for name := range m.Environments {
		envs = append(envs, name)
	}
	for _, env := range envs {
		waves, bake, _ := m.ForEnvironment(env)
		if bake.Duration.Duration > MaxBake || bake.Duration.Duration <= 0 {
			t.Fatalf("ForEnvironment(%s) bake = %s, want within (0, %s]", env, bake.Duration, MaxBake)
		}
		if bake.Interval.Duration < time.Second {
			t.Fatalf("ForEnvironment(%s) bake interval = %s, want at least 1s", env, bake.Interval)
		}
		for i, w := range waves {
			if math.IsNaN(w.Percent) || math.IsInf(w.Percent, 0) || w.Percent < 0 || w.Percent > 100 || (w.Percent == 0 && w.Count < 1) {
				t.Fatalf("ForEnvironment(%s) wave %d = %+v, want a count of 1 or more or a percentage in (0, 100]", env, i+1, w)
			}
		}
		for _, n := range []int{0, 1, 2, 3, 7, 20, 101} {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprint("i-", i)
			}
			var got []string
			for _, wave := range Plan(waves, ids) {
				if len(wave) == 0 {
					t.Fatalf("Plan(%v, %d hosts) has an empty wave", waves, n)
				}
				got = append(got, wave...)
			}
			if strings.Join(got, ",") != strings.Join(ids, ",") {
				t.Fatalf("Plan(%v, %d hosts) = %v, want every host once, in order", waves, n, got)
			}
		}
	}
	env := string(m.ReleaseEnv("v1"))
	if !strings.Contains(env, "SLIPWAY_VERSION=v1\n") || strings.Count(env, "\n") < 8 {
		t.Fatalf("ReleaseEnv(v1) = %q, want the release's settings", env)
	}
}
