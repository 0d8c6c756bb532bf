package report

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/manifest"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC) // a Thursday

func points(r Risk) map[string]int {
	out := map[string]int{}
	for _, f := range r.Factors {
		out[f.Input] = f.Points
	}
	return out
}

func TestAssess(t *testing.T) {
	friday := manifest.Freeze{Windows: []manifest.FreezeWindow{{Days: []string{"thu"}, From: "11:00", To: "23:00", TimeZone: "UTC", Reason: "release train"}}}
	base := RiskInput{MigrationsKnown: true, Environment: "staging", At: t0, RollbackTarget: "v1", TargetChecked: true,
		Change: &Change{Previous: "v1"}, Freeze: &manifest.Freeze{}}
	with := func(f func(*RiskInput)) RiskInput {
		in := base
		f(&in)
		return in
	}
	tests := []struct {
		name      string
		in        RiskInput
		want      map[string]int
		wantScore int
		wantLevel string
	}{
		{name: "nothing to worry about", in: base,
			want: map[string]int{"migrations": 0, "change": 0, "environment": 0, "freeze": 0, "rollback": 0}, wantScore: 0, wantLevel: "low"},
		{name: "expand, reversible, a warning", in: with(func(in *RiskInput) {
			in.Migrations = []Migration{{Version: 3, Name: "add", Class: "expand", Reversible: true, Findings: []Finding{{Severity: "warning"}}}}
		}), want: map[string]int{"migrations": 2 + 3}, wantScore: 5},
		{name: "destructive and irreversible with an error and an ignored finding", in: with(func(in *RiskInput) {
			in.Migrations = []Migration{{Version: 4, Name: "drop", Class: "destructive", Findings: []Finding{{Severity: "error"}, {Severity: "error", Ignored: true}}}}
		}), want: map[string]int{"migrations": 25 + 10 + 8 + 1}, wantScore: 44, wantLevel: "medium"},
		{name: "migrations are capped at 50", in: with(func(in *RiskInput) {
			in.Migrations = []Migration{{Version: 4, Class: "destructive"}, {Version: 5, Class: "contract"}}
		}), want: map[string]int{"migrations": 50}, wantScore: 50, wantLevel: "high"},
		{name: "database not readable", in: with(func(in *RiskInput) { in.MigrationsKnown = false }), want: map[string]int{"migrations": 10}},
		{name: "a few files", in: with(func(in *RiskInput) { in.Change = &Change{Previous: "v1", Changed: 5} }), want: map[string]int{"change": 3}},
		{name: "many files and many bytes", in: with(func(in *RiskInput) {
			in.Change = &Change{Previous: "v1", Added: 101, BytesChanged: 11 << 20}
		}), want: map[string]int{"change": 20}},
		{name: "not compared", in: with(func(in *RiskInput) { in.Change = nil }), want: map[string]int{"change": 5}},
		{name: "first deployment", in: with(func(in *RiskInput) { in.FirstDeployment, in.RollbackTarget, in.Change = true, "", nil }),
			want: map[string]int{"change": 10, "rollback": 15}, wantScore: 25, wantLevel: "medium"},
		{name: "production", in: with(func(in *RiskInput) { in.Production = true }), want: map[string]int{"environment": 15}},
		{name: "inside a freeze", in: with(func(in *RiskInput) { in.Freeze, in.At = &friday, t0.Add(2*time.Hour) }), want: map[string]int{"freeze": 25}},
		{name: "a freeze within 2h", in: with(func(in *RiskInput) { in.Freeze = &friday }), want: map[string]int{"freeze": 10}},
		{name: "a freeze overridden", in: with(func(in *RiskInput) { in.Overridden = &manifest.ActiveFreeze{What: "dated", Reason: "sale"} }), want: map[string]int{"freeze": 25}},
		{name: "rollback target missing", in: with(func(in *RiskInput) { in.MissingOn = []string{"i-1"} }), want: map[string]int{"rollback": 25}},
		{name: "everything at once is capped at 100", in: RiskInput{MigrationsKnown: true, Migrations: []Migration{{Class: "destructive"}, {Class: "destructive"}},
			Production: true, Freeze: &friday, At: t0.Add(2 * time.Hour), MissingOn: []string{"i-1"}, RollbackTarget: "v1", Change: &Change{Added: 200}},
			wantScore: 100, wantLevel: "critical"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Assess(tt.in)
			gp := points(got)
			for input, want := range tt.want {
				if gp[input] != want {
					t.Errorf("Assess() %s = %d points (%v), want %d", input, gp[input], got.Factors, want)
				}
			}
			if len(got.Factors) != 5 {
				t.Errorf("Assess() has %d factors, want one per input (5): %v", len(got.Factors), got.Factors)
			}
			if tt.wantLevel != "" && got.Level != tt.wantLevel {
				t.Errorf("Assess() level = %s (score %d), want %s", got.Level, got.Score, tt.wantLevel)
			}
			sum := 0
			for _, p := range gp {
				sum += p
			}
			if want := min(sum, 100); got.Score != want {
				t.Errorf("Assess() score = %d, want the capped sum %d", got.Score, want)
			}
			if tt.wantScore != 0 && got.Score != tt.wantScore {
				t.Errorf("Assess() score = %d, want %d", got.Score, tt.wantScore)
			}
			if again := Assess(tt.in); !cmp.Equal(again, got) {
				t.Errorf("Assess() is not deterministic: %v then %v", got, again)
			}
		})
	}
}

func TestLevel(t *testing.T) {
	for score, want := range map[int]string{0: "low", 24: "low", 25: "medium", 49: "medium", 50: "high", 74: "high", 75: "critical", 100: "critical"} {
		if got := Level(score); got != want {
			t.Errorf("Level(%d) = %s, want %s", score, got, want)
		}
	}
}

func TestCompare(t *testing.T) {
	before := map[string][]byte{"bin/app": []byte("old"), "config.json": []byte("{}"), "gone.txt": []byte("x"), "release.env": []byte("V=1")}
	after := map[string][]byte{"bin/app": []byte("newer"), "config.json": []byte("{}"), "new.sql": []byte("ab"), "release.env": []byte("V=2")}
	got := Compare("v1", before, after)
	want := Change{Previous: "v1", Added: 1, Removed: 1, Changed: 1, Bytes: 9, BytesChanged: 7}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Compare() mismatch (-want +got):\n%s", diff)
	}
}

func TestNextFreeze(t *testing.T) {
	f := manifest.Freeze{Windows: []manifest.FreezeWindow{{From: "11:30", To: "12:00", TimeZone: "UTC", Reason: "lunch"}}}
	_, at, ok := NextFreeze(f, t0, 2*time.Hour)
	if !ok || !at.Equal(t0.Add(90*time.Minute)) {
		t.Errorf("NextFreeze() = %v, %v; want 11:30", at, ok)
	}
	if _, _, ok := NextFreeze(f, t0, time.Hour); ok {
		t.Errorf("NextFreeze(within 1h) found one, want none")
	}
}
