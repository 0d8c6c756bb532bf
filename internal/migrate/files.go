package migrate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered migration.
type Migration struct {
	Version  int64
	Name     string
	UpFile   string
	DownFile string
	Up       string
	Down     string
	// NoTransaction is set by a "-- slipway:no-transaction" line: the file
	// runs statement by statement (CREATE INDEX CONCURRENTLY and the like).
	NoTransaction bool
	// Irreversible is set by a "-- slipway:irreversible" line in the up file.
	Irreversible bool
	// Checksum is chained: the hash of this file's up and down text and the
	// previous migration's checksum.
	Checksum string
}

// Reversible reports whether a down migration may be run automatically.
func (m Migration) Reversible() bool {
	return m.DownFile != "" && !m.Irreversible && strings.TrimSpace(m.Down) != ""
}

var fileRE = regexp.MustCompile(`^(\d+)_([A-Za-z0-9_-]+)\.(up|down)\.sql$`)

// Load reads the migrations in fsys's root, sorted by version, and chains
// their checksums. A missing directory means no migrations.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byVersion := map[int64]*Migration{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		m := fileRE.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migration file %s: name it NNNN_description.up.sql or NNNN_description.down.sql", name)
		}
		v, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: version must be a positive number", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		mig := byVersion[v]
		if mig == nil {
			mig = &Migration{Version: v, Name: m[2]}
			byVersion[v] = mig
		} else if mig.Name != m[2] {
			return nil, fmt.Errorf("migration version %d is used twice: %q and %q; give each migration its own number", v, mig.Name, m[2])
		}
		switch m[3] {
		case "up":
			if mig.UpFile != "" {
				return nil, fmt.Errorf("migration version %d has two up files", v)
			}
			mig.UpFile, mig.Up = name, string(b)
		case "down":
			if mig.DownFile != "" {
				return nil, fmt.Errorf("migration version %d has two down files", v)
			}
			mig.DownFile, mig.Down = name, string(b)
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		if m.UpFile == "" {
			return nil, fmt.Errorf("migration %d_%s has a down file but no up file", m.Version, m.Name)
		}
		m.NoTransaction = hasAnnotation(m.Up, "no-transaction")
		m.Irreversible = hasAnnotation(m.Up, "irreversible")
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	prev := ""
	for i := range out {
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%s", prev, out[i].Version, out[i].Name, out[i].Up, out[i].Down)
		out[i].Checksum = hex.EncodeToString(h.Sum(nil))
		prev = out[i].Checksum
	}
	return out, nil
}

func hasAnnotation(sql, name string) bool {
	for _, line := range strings.Split(sql, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "--") && strings.TrimSpace(strings.TrimPrefix(line, "--")) == "slipway:"+name {
			return true
		}
	}
	return false
}
