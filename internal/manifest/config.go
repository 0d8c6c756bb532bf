package manifest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Variable is one setting the app reads from its environment, declared
// under config: in the manifest. Its value per environment is a literal or
// a reference (see Ref); a secret is always a reference, so that its value
// is never in the bundle.
type Variable struct {
	// Description says what the app does with it (shown by config check
	// and config diff).
	Description string `yaml:"description"`
	// Required, when true (the default unless Default is given), makes a
	// deployment to an environment that gives no value fail in Preflight.
	Required *bool `yaml:"required"`
	// Default is the literal value of environments that give none. A
	// secret has no default.
	Default *string `yaml:"default"`
	// Secret marks a value that is never shown: compared by fingerprint,
	// redacted everywhere.
	Secret bool `yaml:"secret"`
	// Values holds the value per environment: a literal, ssm:/path (SSM
	// Parameter Store, decrypted) or secret:NAME[#json-key] (Secrets
	// Manager; embedded: the local secrets file).
	Values map[string]string `yaml:"values"`
}

// IsRequired reports whether an environment must give the variable a value.
func (v Variable) IsRequired() bool {
	if v.Required != nil {
		return *v.Required
	}
	return v.Default == nil
}

// Source is where a variable's value for one environment comes from.
type Source struct {
	// Ref is the value's reference or literal; zero when State is
	// SourceMissing.
	Ref Ref
	// State is SourceSet (the environment gives a value), SourceDefault
	// (the manifest's default) or SourceMissing.
	State string
}

// Source states.
const (
	SourceSet     = "set"
	SourceDefault = "default"
	SourceMissing = "missing"
)

// SourceFor returns where the variable's value for env comes from.
func (v Variable) SourceFor(env string) Source {
	if s, ok := v.Values[env]; ok {
		r, err := ParseRef(s)
		if err == nil {
			return Source{Ref: r, State: SourceSet}
		}
	}
	if v.Default != nil {
		return Source{Ref: Ref{Kind: RefLiteral, Name: *v.Default}, State: SourceDefault}
	}
	return Source{State: SourceMissing}
}

// ConfigNames returns the names of the declared variables, sorted.
func (m *Manifest) ConfigNames() []string {
	names := make([]string, 0, len(m.Config))
	for n := range m.Config {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Reference kinds.
const (
	RefLiteral = "literal"
	RefSSM     = "ssm"
	RefSecret  = "secret"
)

// Ref is a configuration value as written in the manifest: a literal, or a
// reference to SSM Parameter Store or Secrets Manager. A reference is not a
// secret: it may travel through state, parameters and the ledger.
type Ref struct {
	// Kind is RefLiteral, RefSSM or RefSecret.
	Kind string
	// Name is the literal's value, the parameter's name or the secret's
	// name.
	Name string
	// Key is, for a secret holding a JSON object, the key whose value is
	// used; empty for the whole secret string.
	Key string
}

// String writes the reference as it is written in the manifest. A literal
// of a secret variable never reaches it: Parse refuses one.
func (r Ref) String() string {
	switch r.Kind {
	case RefSSM:
		return "ssm:" + r.Name
	case RefSecret:
		if r.Key != "" {
			return "secret:" + r.Name + "#" + r.Key
		}
		return "secret:" + r.Name
	}
	return r.Name
}

// The names a reference or a variable may have. Each is a character class
// and a length: the lengths are checked apart, because a bounded repeat
// such as {1,1000} compiles into that many copies of the class (most of
// the CLI's package init time when they were package-level regexps).
var (
	varNameRE   = boundedRE{regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`), 128}
	ssmNameRE   = boundedRE{regexp.MustCompile(`^[A-Za-z0-9_.\-/]+$`), 1000}
	secretRE    = boundedRE{regexp.MustCompile(`^[A-Za-z0-9/_+=.@\-]+$`), 512}
	jsonKeyRE   = boundedRE{regexp.MustCompile(`^[^\s#]+$`), 256}
	reservedVar = map[string]string{
		"PORT":          "the host gives the app its port",
		"DATABASE_PATH": "the embedded fleet gives the app its database",
	}
)

// boundedRE matches what re matches when it is at most max characters long.
type boundedRE struct {
	re  *regexp.Regexp
	max int
}

// MatchString reports whether s matches the pattern and is at most b.max
// characters (runes, as the regexp counts them) long.
func (b boundedRE) MatchString(s string) bool {
	return utf8.RuneCountInString(s) <= b.max && b.re.MatchString(s)
}

// ParseRef reads a value as written in the manifest: ssm:NAME,
// secret:NAME[#KEY], or anything else as a literal.
func ParseRef(s string) (Ref, error) {
	switch {
	case strings.HasPrefix(s, "ssm:"):
		name := strings.TrimPrefix(s, "ssm:")
		if !ssmNameRE.MatchString(name) {
			return Ref{}, fmt.Errorf("%q is not an SSM parameter reference: want ssm:/path/to/parameter", s)
		}
		return Ref{Kind: RefSSM, Name: name}, nil
	case strings.HasPrefix(s, "secret:"):
		name, key, hasKey := strings.Cut(strings.TrimPrefix(s, "secret:"), "#")
		if !secretRE.MatchString(name) {
			return Ref{}, fmt.Errorf("%q is not a secret reference: want secret:NAME or secret:NAME#json-key", s)
		}
		if hasKey && !jsonKeyRE.MatchString(key) {
			return Ref{}, fmt.Errorf("%q names an empty or invalid JSON key after #: want secret:NAME#json-key", s)
		}
		return Ref{Kind: RefSecret, Name: name, Key: key}, nil
	}
	if strings.ContainsAny(s, "\n\r\x00") {
		return Ref{}, fmt.Errorf("a literal value holds a line break or NUL: the release's environment file has one line per variable")
	}
	return Ref{Kind: RefLiteral, Name: s}, nil
}

// validateConfig checks the config: section. Which environments give a
// required value is checked per deployment (config check, Preflight): the
// manifest does not know every environment.
func (m *Manifest) validateConfig() []problem {
	var errs []problem
	for _, name := range m.ConfigNames() {
		v := m.Config[name]
		field := "config." + name
		add := func(path, format string, a ...any) {
			errs = append(errs, problem{path: path, msg: fmt.Sprintf(format, a...)})
		}
		switch {
		case !varNameRE.MatchString(name):
			add(field, "%q is not an environment variable name: use capitals, digits and _, not starting with a digit", name)
		case strings.HasPrefix(name, "SLIPWAY_"):
			add(field, "%q: names starting with SLIPWAY_ are the host script's own; choose another name", name)
		case reservedVar[name] != "":
			add(field, "%q is set by Slipway (%s); choose another name", name, reservedVar[name])
		}
		if v.Default != nil {
			if v.Secret {
				add(field+".default", "a secret has no default in the manifest (the bundle would carry it): give each environment a secret:NAME or ssm:/path reference under values")
			} else if _, err := ParseRef(*v.Default); err != nil {
				add(field+".default", "%v", err)
			} else if strings.HasPrefix(*v.Default, "ssm:") || strings.HasPrefix(*v.Default, "secret:") {
				add(field+".default", "a default is a literal; put references under values, one per environment")
			}
		}
		envs := make([]string, 0, len(v.Values))
		for env := range v.Values {
			envs = append(envs, env)
		}
		sort.Strings(envs)
		for _, env := range envs {
			path := field + ".values." + env
			if !nameRE.MatchString(env) {
				add(path, "%q is not a valid environment name", env)
				continue
			}
			r, err := ParseRef(v.Values[env])
			if err != nil {
				add(path, "%v", err)
				continue
			}
			if v.Secret && r.Kind == RefLiteral {
				add(path, "a secret's value is a reference, never a literal in the manifest: write secret:NAME[#json-key] (Secrets Manager; embedded: the local secrets file) or ssm:/path (a SecureString parameter)")
			}
		}
	}
	return errs
}
