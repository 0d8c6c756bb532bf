package fleet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long Stop lets an app exit on SIGTERM before SIGKILL,
// the host script's grace too.
const stopGrace = 10 * time.Second

// Stop waits for the running commands, then stops every app process
// started under the root: for each instance's app.pid that names a live app
// of that instance, SIGTERM to its process group, up to 10s of grace, then
// SIGKILL. After Stop returns nil no process started by the fleet is alive.
// If ctx ends first, running scripts are killed (their invocations end
// Cancelled) and apps get SIGKILL without grace. Stop must not run
// concurrently with Send; the fleet can be used again afterwards.
func (l *Local) Stop(ctx context.Context) error {
	var errs []error
	waited := make(chan struct{})
	go func() {
		l.running.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		l.mu.Lock()
		close(l.abort)
		l.abort = make(chan struct{})
		l.mu.Unlock()
		<-waited
		errs = append(errs, fmt.Errorf("wait for running commands: %w", ctx.Err()))
	}

	dirs, err := l.instanceDirs()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("stop apps: %w", err))...)
	}
	errCh := make(chan error, len(dirs))
	var wg sync.WaitGroup
	for _, dir := range dirs {
		wg.Go(func() { errCh <- stopApp(ctx, dir) })
	}
	wg.Wait()
	close(errCh)
	for err := range errCh {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PIDs lists the process IDs of the live apps under the root, in order.
func (l *Local) PIDs() ([]int, error) {
	dirs, err := l.instanceDirs()
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, dir := range dirs {
		pid, err := readPID(dir)
		if err != nil {
			return nil, err
		}
		if pid > 0 && alive(pid) && ownedBy(pid, dir) {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// stopApp stops the app of the instance in dir, if one is running.
func stopApp(ctx context.Context, dir string) error {
	pid, err := readPID(dir)
	if err != nil || pid == 0 {
		return err
	}
	if alive(pid) && ownedBy(pid, dir) {
		if err := terminate(ctx, pid); err != nil {
			return fmt.Errorf("stop app of %s: %w", filepath.Base(dir), err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "app.pid")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stop app of %s: %w", filepath.Base(dir), err)
	}
	return nil
}

// terminate sends SIGTERM to pid's process group, waits for it to exit
// (up to stopGrace, or until ctx ends) and sends SIGKILL if it did not.
func terminate(ctx context.Context, pid int) error {
	signalGroup(pid, syscall.SIGTERM)
	if waitExit(ctx, pid, stopGrace) {
		return nil
	}
	signalGroup(pid, syscall.SIGKILL)
	if waitExit(context.WithoutCancel(ctx), pid, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("process %d is still alive after SIGKILL", pid)
}

// waitExit reports whether pid exits within d (or before ctx ends).
func waitExit(ctx context.Context, pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for alive(pid) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(25 * time.Millisecond)
	}
	return true
}

// signalGroup signals pid's process group if pid leads one (the host script
// starts apps with setsid), else pid alone.
func signalGroup(pid int, sig syscall.Signal) {
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
		if syscall.Kill(-pid, sig) == nil {
			return
		}
	}
	_ = syscall.Kill(pid, sig)
}

// readPID reads the instance's app.pid; 0 if there is none.
func readPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "app.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read app pid of %s: %w", filepath.Base(dir), err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, nil // the host script ignores a malformed app.pid too
	}
	return pid, nil
}

// alive reports whether process pid exists and is not a zombie. A killed
// app is reparented to init, which may reap it late: until then kill(pid, 0)
// still succeeds, so the state in /proc decides (on Linux).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist) || !procMounted()
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		switch s[i+2] {
		case 'Z', 'X':
			return false
		}
	}
	return true
}

// ownedBy reports whether pid is an app of the instance in dir: it runs in
// one of the instance's releases or has SLIPWAY_ROOT=<dir> in its
// environment, as the host script checks. Without /proc, app.pid is trusted.
func ownedBy(pid int, dir string) bool {
	proc := "/proc/" + strconv.Itoa(pid)
	if _, err := os.Stat(proc); err != nil {
		return !procMounted()
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	if cwd, err := os.Readlink(proc + "/cwd"); err == nil && strings.HasPrefix(cwd, filepath.Join(dir, "releases")+"/") {
		return true
	}
	environ, err := os.ReadFile(proc + "/environ")
	if err != nil {
		return false
	}
	return slices.Contains(strings.Split(string(environ), "\x00"), "SLIPWAY_ROOT="+dir)
}

func procMounted() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// Terminate stops instance id of env and removes it, as Auto Scaling
// terminates an instance whose launch was abandoned.
func (l *Local) Terminate(ctx context.Context, env, id string) error {
	dir, err := l.instance(env, id)
	if err != nil {
		return fmt.Errorf("terminate %s: %w", id, err)
	}
	if err := stopApp(ctx, dir); err != nil {
		return fmt.Errorf("terminate %s: %w", id, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("terminate %s: %w", id, err)
	}
	return nil
}
