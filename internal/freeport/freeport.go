// Package freeport finds free TCP ports on 127.0.0.1 for the embedded
// environment's apps and load balancers.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// floor is the lowest port Range hands out.
const floor = 20000

// Range returns the first of n consecutive ports on 127.0.0.1 that are free
// now. It draws them below the kernel's ephemeral range (32768 and up by
// default on Linux), so that no outgoing connection — a health probe, the
// load generator, a database client — gets one as its source port between
// now and when the app listens on it: an app restarted on such a port would
// exit with "address already in use".
func Range(n int) (int, error) {
	if n < 1 {
		n = 1
	}
	top := ephemeralLow()
	if top-floor <= n {
		return 0, fmt.Errorf("no room for %d ports between %d and the ephemeral range at %d", n, floor, top)
	}
	for range 200 {
		base := floor + rand.IntN(top-floor-n)
		if free(base, n) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d consecutive free ports found between %d and %d", n, floor, top)
}

func free(base, n int) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	return true
}

// ephemeralLow is the first port of Linux's ephemeral range, 32768 when it
// cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil || lo <= floor {
		return 32768
	}
	return lo
}
