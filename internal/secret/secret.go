package secret

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Redacted is what a secret value prints as.
const Redacted = "[REDACTED]"

// Value is a secret string.
type Value struct{ v string }

// NewValue wraps s.
func NewValue(s string) Value { return Value{v: s} }

// Reveal returns the secret text. Call it only where the text is used.
func (v Value) Reveal() string { return v.v }

// IsZero reports whether the value is empty.
func (v Value) IsZero() bool { return v.v == "" }

// String prints [REDACTED].
func (Value) String() string { return Redacted }

// GoString prints [REDACTED] for %#v.
func (Value) GoString() string { return Redacted }

// MarshalJSON writes "[REDACTED]".
func (Value) MarshalJSON() ([]byte, error) { return json.Marshal(Redacted) }

// LogValue makes slog print [REDACTED].
func (Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

// Store fetches a secret by name.
type Store interface {
	Get(ctx context.Context, name string) (Value, error)
}

// NotFoundError reports a secret that does not exist.
type NotFoundError struct {
	Name, Where string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("secret %q not found in %s: create it, or fix database_secret in the Slipway configuration", e.Name, e.Where)
}

// File is a secret store in a JSON file mapping names to string values.
type File struct {
	Path string
}

// Get reads name from the file.
func (f *File) Get(ctx context.Context, name string) (Value, error) {
	raw, err := os.ReadFile(f.Path)
	if os.IsNotExist(err) {
		return Value{}, &NotFoundError{Name: name, Where: f.Path}
	}
	if err != nil {
		return Value{}, fmt.Errorf("read secrets file %s: %w", f.Path, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		// The decoder's message can quote the input; do not pass it on.
		return Value{}, fmt.Errorf("read secrets file %s: not a JSON object of name to value", f.Path)
	}
	v, ok := m[name]
	if !ok {
		return Value{}, &NotFoundError{Name: name, Where: f.Path}
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		// An object value (an RDS-style secret) is kept as its JSON text.
		s = string(v)
	}
	return NewValue(s), nil
}

// Names lists the names the file holds, sorted; none when it does not
// exist. It never reads a value out.
func (f *File) Names() ([]string, error) {
	raw, err := os.ReadFile(f.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secrets file %s: %w", f.Path, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("read secrets file %s: not a JSON object of name to value", f.Path)
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// Put writes name into the file, creating it with mode 0600.
func (f *File) Put(name, value string) error {
	m := map[string]any{}
	if raw, err := os.ReadFile(f.Path); err == nil {
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("update secrets file %s: not a JSON object of name to value", f.Path)
		}
	}
	m[name] = value
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(f.Path, b, 0o600); err != nil {
		return fmt.Errorf("write secrets file %s: %w", f.Path, err)
	}
	return nil
}

// Database is an RDS-style database secret.
type Database struct {
	Engine   string `json:"engine"` // postgres, mysql, mariadb, aurora-postgresql, aurora-mysql, sqlite
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password Value  `json:"-"`
	DBName   string `json:"dbname"`
	// Path is the database file for sqlite.
	Path string `json:"path,omitempty"`
}

// ParseDatabase reads an RDS-style JSON secret. Errors never quote the
// secret's text.
func ParseDatabase(name string, v Value) (Database, error) {
	var raw struct {
		Engine   string          `json:"engine"`
		Host     string          `json:"host"`
		Port     json.RawMessage `json:"port"`
		Username string          `json:"username"`
		Password string          `json:"password"`
		DBName   string          `json:"dbname"`
		Path     string          `json:"path"`
	}
	if err := json.Unmarshal([]byte(v.Reveal()), &raw); err != nil {
		return Database{}, fmt.Errorf("secret %q is not an RDS-style JSON secret (engine, host, port, username, password, dbname)", name)
	}
	d := Database{Engine: strings.ToLower(raw.Engine), Host: raw.Host, Username: raw.Username, Password: NewValue(raw.Password), DBName: raw.DBName, Path: raw.Path}
	if len(raw.Port) > 0 {
		p := strings.Trim(string(raw.Port), `"`)
		n, err := strconv.Atoi(p)
		if err != nil {
			return Database{}, fmt.Errorf("secret %q: port is not a number", name)
		}
		d.Port = n
	}
	switch d.Family() {
	case "sqlite":
		if d.Path == "" && d.DBName == "" {
			return Database{}, fmt.Errorf("secret %q: a sqlite secret needs path", name)
		}
		if d.Path == "" {
			d.Path = d.DBName
		}
	case "postgres", "mysql":
		var missing []string
		if d.Host == "" {
			missing = append(missing, "host")
		}
		if d.Username == "" {
			missing = append(missing, "username")
		}
		if len(missing) > 0 {
			return Database{}, fmt.Errorf("secret %q: missing %s", name, strings.Join(missing, ", "))
		}
	default:
		return Database{}, fmt.Errorf("secret %q: engine %q is not supported (postgres, mysql, mariadb, aurora-postgresql, aurora-mysql, sqlite)", name, raw.Engine)
	}
	return d, nil
}

// Family is the engine family: postgres, mysql or sqlite.
func (d Database) Family() string {
	switch d.Engine {
	case "postgres", "postgresql", "aurora-postgresql":
		return "postgres"
	case "mysql", "mariadb", "aurora-mysql", "aurora":
		return "mysql"
	case "sqlite", "sqlite3":
		return "sqlite"
	}
	return d.Engine
}

// URL returns a connection URL with the password in it. Never log it.
func (d Database) URL() string {
	switch d.Family() {
	case "postgres":
		port := d.Port
		if port == 0 {
			port = 5432
		}
		u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(d.Host, strconv.Itoa(port)), Path: "/" + d.DBName}
		if d.Password.IsZero() {
			u.User = url.User(d.Username)
		} else {
			u.User = url.UserPassword(d.Username, d.Password.Reveal())
		}
		return u.String()
	case "mysql":
		port := d.Port
		if port == 0 {
			port = 3306
		}
		return fmt.Sprintf("%s:%s@tcp(%s)/%s", d.Username, d.Password.Reveal(), net.JoinHostPort(d.Host, strconv.Itoa(port)), d.DBName)
	default:
		return d.Path
	}
}

// String describes the database without its password.
func (d Database) String() string {
	if d.Family() == "sqlite" {
		return "sqlite " + d.Path
	}
	return fmt.Sprintf("%s %s@%s:%d/%s", d.Engine, d.Username, d.Host, d.Port, d.DBName)
}

// Scrub replaces every occurrence of the secret values in s with
// [REDACTED]. Use it on text from outside (a driver's error message) that
// might echo a credential.
func Scrub(s string, values ...Value) string {
	for _, v := range values {
		if len(v.v) >= 4 {
			s = strings.ReplaceAll(s, v.v, Redacted)
		}
	}
	return s
}

// cache is a per-process cache of fetched values.
type cache struct {
	mu sync.Mutex
	m  map[string]Value
}

func (c *cache) get(k string) (Value, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *cache) put(k string, v Value) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]Value{}
	}
	c.m[k] = v
}
