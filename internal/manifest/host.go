package manifest

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Host is what a host must have free before a deployment takes the lock:
// Preflight asks every host and refuses, naming the host and the figure,
// when one has less.
type Host struct {
	// DiskMargin is the free disk the release volume must keep beyond what
	// the release needs there (its bundle, and the bundle unpacked); default
	// DefaultDiskMargin.
	DiskMargin *Size `yaml:"disk_margin"`
	// MinMemory is the available memory floor (MemAvailable); 0, the
	// default, checks none.
	MinMemory Size `yaml:"min_memory"`
	// MinInodes is the free inodes floor of the release volume; 0, the
	// default, checks none.
	MinInodes int64 `yaml:"min_inodes"`
}

// DefaultDiskMargin is host.disk_margin when the manifest does not say.
const DefaultDiskMargin Size = 100 << 20

// Size is a number of bytes written as 500MB, 1.5GiB, 1048576 (bytes).
type Size int64

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"k": 1 << 10, "m": 1 << 20, "g": 1 << 30,
}

// ParseSize reads a size such as "500MB", "2GiB" or "1048576".
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	f, err := strconv.ParseFloat(num, 64)
	mult, ok := sizeUnits[unit]
	if err != nil || !ok || f < 0 || math.IsInf(f*mult, 0) || f*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is not a size such as \"500MB\", \"2GiB\" or a number of bytes", s)
	}
	return Size(f * mult), nil
}

// UnmarshalYAML reads a size.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &nodeError{line: n.Line, col: n.Column, msg: "want a size such as \"500MB\" or \"2GiB\""}
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return &nodeError{line: n.Line, col: n.Column, msg: err.Error()}
	}
	*s = v
	return nil
}

// String writes the size in the largest binary unit it fills, to one
// decimal.
func (s Size) String() string {
	v := float64(s)
	for _, u := range []struct {
		name string
		size float64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v >= u.size {
			return strings.TrimSuffix(strconv.FormatFloat(v/u.size, 'f', 1, 64), ".0") + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

func (h Host) validate() []problem {
	var errs []problem
	if h.MinInodes < 0 {
		errs = append(errs, problem{path: "host.min_inodes", msg: fmt.Sprintf("%d: want a count of free inodes, 0 or more (0 checks none)", h.MinInodes)})
	}
	return errs
}
