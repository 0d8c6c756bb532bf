package manifest

import "testing"

func TestParseHost(t *testing.T) {
	m, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if *m.Host.DiskMargin != DefaultDiskMargin || m.Host.MinMemory != 0 || m.Host.MinInodes != 0 {
		t.Errorf("Parse(no host) host = %+v (margin %s), want the default margin and no floors", m.Host, m.Host.DiskMargin)
	}
	m, err = Parse([]byte(base + "host:\n  disk_margin: 1.5GiB\n  min_memory: 256MB\n  min_inodes: 10000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if *m.Host.DiskMargin != 3<<29 || m.Host.MinMemory != 256e6 || m.Host.MinInodes != 10000 {
		t.Errorf("Parse(host) = margin %d, memory %d, inodes %d; want %d, 256000000, 10000", *m.Host.DiskMargin, m.Host.MinMemory, m.Host.MinInodes, 3<<29)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"host:\n  disk_margin: lots\n", `host.disk_margin: "lots" is not a size such as "500MB"`},
		{"host:\n  min_memory: 2XB\n", `host.min_memory: "2XB" is not a size`},
		{"host:\n  min_memory: -1MB\n", `host.min_memory: "-1MB" is not a size`},
		{"host:\n  min_inodes: -5\n", "host.min_inodes: -5: want a count of free inodes"},
		{"host:\n  min_disk: 1GB\n", "min_disk"},
	} {
		y := base + tt.yaml
		_, err := Parse([]byte(y))
		checkErr(t, y, err, []string{tt.want})
	}
}

func TestSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Size
		str  string
	}{
		{"1048576", 1 << 20, "1MiB"},
		{"500MB", 500e6, "476.8MiB"},
		{"2GiB", 2 << 30, "2GiB"},
		{"1.5 G", 3 << 29, "1.5GiB"},
		{"10kb", 10e3, "9.8KiB"},
		{"512", 512, "512B"},
	} {
		got, err := ParseSize(tt.in)
		if err != nil || got != tt.want || got.String() != tt.str {
			t.Errorf("ParseSize(%q) = %d (%s), %v; want %d (%s)", tt.in, got, got, err, tt.want, tt.str)
		}
	}
}
