package moto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Binary is the executable Start runs, looked up on PATH.
const Binary = "moto_server"

// Region is the region of every Config.
const Region = "us-east-1"

// AccountID is the account moto puts every resource in.
const AccountID = "123456789012"

// startTimeout bounds how long a server may take to answer.
const startTimeout = 60 * time.Second

// Server is a running moto_server on 127.0.0.1.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string

	pid    int
	exited chan struct{} // closed when the process has ended
	output *syncBuffer   // what it printed
	once   sync.Once
}

// Require skips t when moto_server is not on PATH, or fails it under
// CI=true, and returns the binary's path.
func Require(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath(Binary)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not on PATH and CI=true: install moto (pip install 'moto[server]==5.2.1')", Binary)
	}
	t.Skipf("%s is not on PATH: the tests against moto are skipped (pip install 'moto[server]==5.2.1'; under CI=true they fail)", Binary)
	return ""
}

// Start starts a moto_server for t on a free port, waits until it
// answers, and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start(Require(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

var shared struct {
	sync.Mutex
	main  bool          // Main is running the tests
	ready chan struct{} // closed once srv or err is set
	srv   *Server
	err   error
}

// Shared returns the test binary's one moto_server, which Main starts in
// the background before the tests run. A test package that calls Shared
// must run its tests through Main.
func Shared(t testing.TB) *Server {
	t.Helper()
	Require(t)
	shared.Lock()
	main, ready := shared.main, shared.ready
	shared.Unlock()
	if !main {
		t.Fatal("moto.Shared needs the package's TestMain to call moto.Main(m)")
	}
	<-ready
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

// Main starts the shared server in the background (when moto_server is on
// PATH), so that its start overlaps the tests that do not need it, runs
// m's tests, stops the server and exits with the tests' status. Call it
// from TestMain.
func Main(m *testing.M) {
	ready := make(chan struct{})
	shared.Lock()
	shared.main, shared.ready = true, ready
	shared.Unlock()
	if path, err := exec.LookPath(Binary); err == nil {
		go func() {
			srv, err := start(path)
			shared.Lock()
			shared.srv, shared.err = srv, err
			shared.Unlock()
			close(ready)
		}()
	} else {
		shared.err = fmt.Errorf("%s is not on PATH", Binary)
		close(ready)
	}
	code := m.Run()
	<-ready
	shared.Lock()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	shared.Unlock()
	os.Exit(code)
}

// Config returns a configuration for the server: static fake credentials,
// region us-east-1, the server as BaseEndpoint, and quick retries.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDMOTO", "SECRET", ""),
		BaseEndpoint: aws.String(s.URL),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 20 * time.Millisecond
			})
		},
	}
}

// Stop kills the server's process group and waits for it to end. It may
// be called more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		kill(s.pid)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
	})
}

// start runs the binary on a free port; a port taken between choosing it
// and the server binding it is retried on another.
func start(path string) (*Server, error) {
	var errs []error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", Binary, err)
		}
		s, err := run(path, port)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run starts the process and waits until it answers. The process is
// started from a goroutine locked to its OS thread for the process's
// lifetime, so that the parent-death signal (Linux) fires when the test
// binary dies and not when the Go runtime retires a thread.
func run(path string, port int) (*Server, error) {
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), exited: make(chan struct{}), output: &syncBuffer{}}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer close(s.exited)
		cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = s.output, s.output
		cmd.SysProcAttr = sysProcAttr()
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("start %s: %w", Binary, err)
			runtime.UnlockOSThread()
			return
		}
		s.pid = cmd.Process.Pid
		started <- nil
		cmd.Wait()
		// The thread stays locked: it ends with this goroutine, after the
		// process it started.
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	if err := s.wait(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// wait polls the server until it answers, it exits, or startTimeout.
func (s *Server) wait() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s on %s exited before it answered:\n%s", Binary, s.URL, s.output)
		case <-ctx.Done():
			return fmt.Errorf("%s on %s did not answer within %s:\n%s", Binary, s.URL, startTimeout, s.output)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the process's two streams.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
