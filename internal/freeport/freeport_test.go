package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestRangeIsFreeAndBelowEphemeral(t *testing.T) {
	for range 20 {
		base, err := Range(3)
		if err != nil {
			t.Fatal(err)
		}
		if base < floor || base+3 > ephemeralLow() {
			t.Fatalf("Range(3) = %d, want within [%d, %d)", base, floor, ephemeralLow())
		}
		for p := base; p < base+3; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				t.Fatalf("port %d of Range(3) = %d is not free: %v", p, base, err)
			}
			l.Close()
		}
	}
}

func TestRangeSkipsAPortInUse(t *testing.T) {
	base, err := Range(1)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if free(base, 1) {
		t.Errorf("free(%d) = true while a listener holds it", base)
	}
}
