package balancer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ServeEnv, set to a directory, makes a binary that links this package
// serve the balancer of that directory instead of running its main.
const ServeEnv = "SLIPWAY_BALANCER_SERVE"

func init() {
	dir := os.Getenv(ServeEnv)
	if dir == "" {
		return
	}
	os.Unsetenv(ServeEnv)
	if err := Serve(dir); err != nil {
		fmt.Fprintf(os.Stderr, "balancer: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Serve runs the balancer of dir in this process until it receives SIGTERM
// or SIGINT or a stop through the control API. It restores the groups,
// targets and listeners of dir's state file, on the same ports.
func Serve(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	st, err := loadState(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var ctl net.Listener
	if st.ControlPort != 0 {
		ctl, _ = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(st.ControlPort)))
	}
	if ctl == nil {
		if ctl, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("listen for the control API: %w", err)
		}
	}
	st.ControlPort = ctl.Addr().(*net.TCPAddr).Port
	s := newServer(dir, st)
	if err := s.restore(); err != nil {
		s.close(context.Background())
		return err
	}
	stopped := make(chan struct{}, 1)
	stop := func() {
		select {
		case stopped <- struct{}{}:
		default:
		}
	}
	s.control = &http.Server{Handler: s.routes(stop), ReadHeaderTimeout: 10 * time.Second}
	go s.control.Serve(ctl)
	if err := os.WriteFile(filepath.Join(dir, PIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "balancer: pid %d, control API on 127.0.0.1:%d\n", os.Getpid(), st.ControlPort)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	gone := watchDir(dir, dirWatchInterval)
	select {
	case <-sig:
	case <-stopped:
	case <-gone:
		fmt.Fprintf(os.Stderr, "balancer: %s was removed: stopping\n", dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.close(ctx)
	s.control.Shutdown(ctx)
	os.Remove(filepath.Join(dir, PIDFile))
	fmt.Fprintln(os.Stderr, "balancer: stopped")
	return nil
}

// dirWatchInterval is how often a balancer checks that its directory
// still exists.
const dirWatchInterval = 2 * time.Second

// watchDir closes the channel it returns once dir's PID file is gone or
// names another process: the directory was removed (a test's temporary
// directory, `make clean`) or another balancer took it over. A balancer
// then has nothing left to serve and must not outlive it.
func watchDir(dir string, every time.Duration) <-chan struct{} {
	gone := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for range t.C {
			b, err := os.ReadFile(filepath.Join(dir, PIDFile))
			if errors.Is(err, fs.ErrNotExist) || (err == nil && strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid())) {
				close(gone)
				return
			}
		}
	}()
	return gone
}

// Start starts the balancer of dir as a detached process (unless it runs
// already) and returns a client once its control API answers.
func Start(ctx context.Context, dir string) (*Client, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if c, err := Dial(abs); err == nil {
		return c, nil
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("start balancer: %w", err)
	}
	// Two commands starting it at once start one balancer: the second
	// waits for the lock, then finds the first one's.
	lock, err := os.OpenFile(filepath.Join(abs, LockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start balancer: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("start balancer: lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if c, err := Dial(abs); err == nil {
		return c, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start balancer: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(abs, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start balancer: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), ServeEnv+"="+abs)
	cmd.Dir = abs
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlive the caller's terminal
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start balancer: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reap it if it stops while we run
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		if c, err := Dial(abs); err == nil {
			if st, err := c.Status(ctx); err == nil && st.PID == cmd.Process.Pid {
				return c, nil
			}
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("start balancer: it exited (%v): %s", err, tail(filepath.Join(abs, LogFile)))
		case <-deadline:
			cmd.Process.Kill()
			return nil, fmt.Errorf("start balancer: its control API did not answer within 30s; see %s", filepath.Join(abs, LogFile))
		case <-ctx.Done():
			cmd.Process.Kill()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// PID returns the process id of dir's balancer, or 0 if none runs.
func PID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, PIDFile))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// Stop stops dir's balancer, if one runs, and waits until it has exited.
// Its state file stays, so that Start brings it back as it was.
func Stop(ctx context.Context, dir string) error {
	pid := PID(dir)
	if pid == 0 {
		return nil
	}
	if c, err := Dial(dir); err == nil {
		_ = c.do(ctx, http.MethodPost, "/v1/stop", nil, nil)
	} else if servesDir(pid, dir) {
		syscall.Kill(pid, syscall.SIGTERM)
	} else {
		// The pid file names a process that is not this balancer (it died
		// and its pid was reused): nothing to stop.
		os.Remove(filepath.Join(dir, PIDFile))
		return nil
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, PIDFile)); errors.Is(err, fs.ErrNotExist) || syscall.Kill(pid, 0) != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			if servesDir(pid, dir) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			os.Remove(filepath.Join(dir, PIDFile))
			return fmt.Errorf("stop balancer %d: it did not stop within 20s and was killed", pid)
		case <-tick.C:
		}
	}
}

// servesDir reports whether process pid was started as the balancer of
// dir, so that a pid reused by another process is never signalled.
func servesDir(pid int, dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if kv == ServeEnv+"="+abs {
			return true
		}
	}
	return false
}
