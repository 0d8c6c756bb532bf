package manifest

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const configBase = "app: demo\nservice:\n  start: bin/app\n"

func TestConfigParses(t *testing.T) {
	m, err := Parse([]byte(configBase + `config:
  LOG_LEVEL:
    description: how much the app logs
    default: info
    values: {production: warn}
  DATABASE_PASSWORD:
    secret: true
    values:
      staging: secret:demo/staging/db#password
      production: ssm:/demo/production/db-password
  FEATURE_X:
    required: false
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.ConfigNames(), []string{"DATABASE_PASSWORD", "FEATURE_X", "LOG_LEVEL"}; !cmp.Equal(got, want) {
		t.Errorf("ConfigNames() = %v, want %v", got, want)
	}
	tests := []struct {
		name, env string
		want      Source
		required  bool
	}{
		{"LOG_LEVEL", "staging", Source{Ref: Ref{Kind: RefLiteral, Name: "info"}, State: SourceDefault}, false},
		{"LOG_LEVEL", "production", Source{Ref: Ref{Kind: RefLiteral, Name: "warn"}, State: SourceSet}, false},
		{"DATABASE_PASSWORD", "staging", Source{Ref: Ref{Kind: RefSecret, Name: "demo/staging/db", Key: "password"}, State: SourceSet}, true},
		{"DATABASE_PASSWORD", "production", Source{Ref: Ref{Kind: RefSSM, Name: "/demo/production/db-password"}, State: SourceSet}, true},
		{"DATABASE_PASSWORD", "qa", Source{State: SourceMissing}, true},
		{"FEATURE_X", "qa", Source{State: SourceMissing}, false},
	}
	for _, tt := range tests {
		v := m.Config[tt.name]
		if got := v.SourceFor(tt.env); got != tt.want {
			t.Errorf("%s.SourceFor(%q) = %+v, want %+v", tt.name, tt.env, got, tt.want)
		}
		if got := v.IsRequired(); got != tt.required {
			t.Errorf("%s.IsRequired() = %v, want %v", tt.name, got, tt.required)
		}
	}
}

func TestConfigRefString(t *testing.T) {
	for _, s := range []string{"ssm:/a/b", "secret:x/y", "secret:x#k", "plain value"} {
		r, err := ParseRef(s)
		if err != nil {
			t.Fatalf("ParseRef(%q): %v", s, err)
		}
		if r.String() != s {
			t.Errorf("ParseRef(%q).String() = %q", s, r.String())
		}
	}
}

func TestConfigRefused(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"lowercase name", "  log_level: {default: x}\n", "config.log_level: \"log_level\" is not an environment variable name"},
		{"slipway prefix", "  SLIPWAY_X: {default: x}\n", "SLIPWAY_ are the host script's own"},
		{"reserved", "  PORT: {default: '80'}\n", "\"PORT\" is set by Slipway"},
		{"secret default", "  TOKEN: {secret: true, default: abc}\n", "config.TOKEN.default: a secret has no default"},
		{"secret literal", "  TOKEN:\n    secret: true\n    values: {staging: hunter2}\n", "config.TOKEN.values.staging: a secret's value is a reference"},
		{"bad ssm", "  A:\n    values: {staging: 'ssm:'}\n", "is not an SSM parameter reference"},
		{"bad secret key", "  A:\n    values: {staging: 'secret:x#'}\n", "empty or invalid JSON key"},
		{"reference default", "  A: {default: 'ssm:/x'}\n", "a default is a literal"},
		{"bad env", "  A:\n    values: {Staging: x}\n", "\"Staging\" is not a valid environment name"},
		{"unknown key", "  A: {vaule: x}\n", "vaule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(configBase + "config:\n" + tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse() error = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "abc") {
				t.Errorf("error %q shows a secret value", err)
			}
		})
	}
}

// TestBoundedNames: the name patterns, a class and a length checked
// apart, accept exactly what the bounded regexps they replace accept, at
// and around each bound (multi-byte and invalid UTF-8 counted per rune,
// as the regexp counts them).
func TestBoundedNames(t *testing.T) {
	tests := []struct {
		name    string
		got     boundedRE
		bounded string
		unit    string // one rune
	}{
		{"variable", varNameRE, `^[A-Z_][A-Z0-9_]{0,127}$`, "A"},
		{"ssm", ssmNameRE, `^[A-Za-z0-9_.\-/]{1,1000}$`, "a"},
		{"secret", secretRE, `^[A-Za-z0-9/_+=.@\-]{1,512}$`, "a"},
		{"json key", jsonKeyRE, `^[^\s#]{1,256}$`, "é"},
		{"json key, invalid UTF-8", jsonKeyRE, `^[^\s#]{1,256}$`, "\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := regexp.MustCompile(tt.bounded)
			var ins []string
			for _, n := range []int{0, 1, 2, 127, 128, 129, 255, 256, 257, 511, 512, 513, 999, 1000, 1001, 1024} {
				s := strings.Repeat(tt.unit, n)
				ins = append(ins, s, s+" ", s+"#", "_"+s, "1"+s, "a"+s, "-"+s)
			}
			ins = append(ins, "PORT", "LOG_LEVEL", "9LIVES", "log_level", "/demo/prod/db", "demo/db-password", "pass word", "key\n")
			for _, in := range ins {
				if got, w := tt.got.MatchString(in), want.MatchString(in); got != w {
					t.Errorf("MatchString(%d runes %.20q…) = %t, want %t (as %s)", len([]rune(in)), in, got, w, tt.bounded)
				}
			}
		})
	}
}
