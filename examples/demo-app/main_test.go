package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// started runs the built demo app on a free port and returns its base URL
// and a channel that receives each line it logs.
func started(t *testing.T) (*exec.Cmd, string, <-chan string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the app")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "demo-app")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.version=vtest", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = []string{fmt.Sprintf("PORT=%d", port), "DATABASE_PATH=" + filepath.Join(dir, "app.db")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	waitLine(t, lines, "listening on")
	return cmd, fmt.Sprintf("http://127.0.0.1:%d", port), lines
}

func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the app exited before it logged %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-timeout:
			t.Fatalf("the app did not log %q within 30s", want)
		}
	}
}

// A request in flight when the app gets SIGTERM is answered in full; the
// app then exits 0 and accepts no new connection.
func TestSIGTERMFinishesRequestsInFlight(t *testing.T) {
	cmd, url, lines := started(t)
	type answer struct {
		status  int
		version string
		body    string
		err     error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get(url + "/slow?ms=1500")
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- answer{resp.StatusCode, resp.Header.Get("X-App-Version"), string(b), err}
	}()
	waitLine(t, lines, "slow request")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, "stopping")
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		t.Error("the app still accepts connections after SIGTERM")
	}
	a := <-got
	if a.err != nil || a.status != http.StatusOK || a.version != "vtest" || !strings.Contains(a.body, "slept 1500ms") {
		t.Errorf("slow request during SIGTERM = %d %q %q, %v; want 200 from vtest, in full", a.status, a.version, a.body, a.err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the app exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not exit within 30s of SIGTERM")
	}
}

func TestVersionHeaderAndSlowInput(t *testing.T) {
	_, url, _ := started(t)
	for _, tt := range []struct {
		path string
		want int
	}{
		{"/", http.StatusOK},
		{"/slow?ms=1", http.StatusOK},
		{"/slow", http.StatusBadRequest},
		{"/slow?ms=-1", http.StatusBadRequest},
		{"/slow?ms=600000", http.StatusBadRequest},
		{"/nope", http.StatusNotFound},
	} {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(url + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want || resp.Header.Get("X-App-Version") != "vtest" {
				t.Errorf("GET %s = %d, X-App-Version %q; want %d, vtest", tt.path, resp.StatusCode, resp.Header.Get("X-App-Version"), tt.want)
			}
		})
	}
}

// The tests' requests must not hang on an app that stopped.
func init() { http.DefaultClient.Timeout = 30 * time.Second }
