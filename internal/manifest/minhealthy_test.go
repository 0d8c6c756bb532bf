package manifest

import "testing"

func TestParseMinHealthy(t *testing.T) {
	for _, tt := range []struct {
		yaml string
		want Capacity
		min3 int // Min of 3 targets
	}{
		{base, DefaultMinHealthy, 2},
		{base + "rollout:\n  min_healthy: \"50%\"\n", Capacity{Percent: 50}, 2},
		{base + "rollout:\n  min_healthy: 1\n", Capacity{Count: 1}, 1},
		{base + "rollout:\n  min_healthy: \"0%\"\n", Capacity{}, 0},
	} {
		m, err := Parse([]byte(tt.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		if *m.Rollout.MinHealthy != tt.want || m.Rollout.MinHealthy.Min(3) != tt.min3 {
			t.Errorf("%q: min_healthy = %+v (Min(3) = %d), want %+v (%d)", tt.yaml, *m.Rollout.MinHealthy, m.Rollout.MinHealthy.Min(3), tt.want, tt.min3)
		}
	}
	for _, bad := range []string{"\"120%\"", "-1", "lots"} {
		y := base + "rollout:\n  min_healthy: " + bad + "\n"
		checkErr(t, y, func() error { _, err := Parse([]byte(y)); return err }(), []string{"rollout.min_healthy", "a percentage such as \"66%\""})
	}
}
