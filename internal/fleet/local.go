package fleet

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultExecutionTimeout bounds one run of the host script on one
// instance when Local.ExecutionTimeout is zero.
const DefaultExecutionTimeout = 10 * time.Minute

// Errors of the embedded fleet.
var (
	// ErrUnknownInstance means an instance ID names no provisioned instance.
	ErrUnknownInstance = errors.New("unknown instance")
	// ErrUnknownCommand means a command ID names no command sent under the root.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrInvalidCommand means a Command cannot be run as given.
	ErrInvalidCommand = errors.New("invalid command")
	// ErrInvalidName means an environment, instance or command name is not
	// a safe directory name.
	ErrInvalidName = errors.New("invalid name")
)

// Local is the embedded fleet: instances are directories under root, apps
// are processes on 127.0.0.1, and every command runs the host script, the
// same bytes the SSM document runs on EC2.
//
// Layout under root:
//
//	bin/slipway-host.sh                 the host script
//	instances/<env>/<id>/               an instance: its SLIPWAY_ROOT
//	instances/<env>/<id>/host.env       host settings (process mode, PORT, extra env)
//	instances/<env>/<id>/tags.json      the instance's tags
//	instances/<env>/<id>/.knobs/        fault knobs, one file each
//	commands/<command-id>/command.json  a sent command
//	commands/<command-id>/<id>.json     its invocation on one instance
//
// Everything is on disk, so another process with a Local on the same root
// sees the instances, the knobs and the commands' results. Stop must not
// run concurrently with Send.
type Local struct {
	root   string
	script []byte

	// ScriptEnv is added to the environment of every run of the host
	// script: the configuration resolver's settings
	// (SLIPWAY_CONFIG_RESOLVER and what it needs), which the embedded
	// environment points at its own binary.
	ScriptEnv []string

	// ExecutionTimeout bounds one run of the host script on one instance;
	// zero means DefaultExecutionTimeout. A run that takes longer is
	// killed and its invocation ends TimedOut, as SSM's executionTimeout.
	ExecutionTimeout time.Duration

	running sync.WaitGroup

	mu       sync.Mutex
	commands map[string]*localCommand
	abort    chan struct{}
}

// localCommand is the in-memory state of a command this Local sent.
type localCommand struct {
	result  CommandResult // guarded by Local.mu
	pending int           // invocations not final yet; guarded by Local.mu
	done    chan struct{} // closed when every invocation is final
}

// commandRecord is commands/<id>/command.json.
type commandRecord struct {
	CommandID   string    `json:"command_id"`
	Env         string    `json:"env"`
	Command     Command   `json:"command"`
	RequestedAt time.Time `json:"requested_at"`
}

// target is one instance a command runs on, with what the knobs add.
type target struct {
	id      string
	dir     string
	offline bool
	env     []string
	note    string
}

// NewLocal returns the embedded fleet rooted at root, which runs script
// (scripts.HostScript) on its instances. The root need not exist yet.
func NewLocal(root string, script []byte) *Local {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return &Local{
		root:     root,
		script:   slices.Clone(script),
		commands: make(map[string]*localCommand),
		abort:    make(chan struct{}),
	}
}

// Root returns the fleet's root directory.
func (l *Local) Root() string {
	return l.root
}

// ScriptPath returns where the fleet writes the host script.
func (l *Local) ScriptPath() string {
	return filepath.Join(l.root, "bin", "slipway-host.sh")
}

// InstanceDir returns the directory of instance id of env: its SLIPWAY_ROOT.
func (l *Local) InstanceDir(env, id string) string {
	return filepath.Join(l.root, "instances", env, id)
}

// reservedEnv are the host settings Provision writes itself.
var reservedEnv = []string{"SLIPWAY_ROOT", "SLIPWAY_SERVICE_MODE", "SLIPWAY_HOST", "PORT"}

// Provision creates n instances for env, or brings existing ones up to
// date: root/instances/<env>/<env>-<i>/ for i from 1, each with a host.env
// holding SLIPWAY_SERVICE_MODE=process, PORT=<basePort+i-1>,
// SLIPWAY_HOST=127.0.0.1 and extraEnv (e.g. DATABASE_PATH), and tags app
// (extraEnv's SLIPWAY_APP, default "app"), env and name. It writes the host
// script to root/bin/slipway-host.sh. Releases, knobs and running apps of
// existing instances are left alone; instances beyond n are kept.
func (l *Local) Provision(env string, n, basePort int, extraEnv map[string]string) error {
	if !validName(env) {
		return fmt.Errorf("provision environment %q: %w", env, ErrInvalidName)
	}
	if n < 1 {
		return fmt.Errorf("provision environment %s: instance count %d is not positive", env, n)
	}
	if basePort < 1 || basePort+n-1 > 65535 {
		return fmt.Errorf("provision environment %s: ports %d to %d are not valid", env, basePort, basePort+n-1)
	}
	for _, k := range slices.Sorted(maps.Keys(extraEnv)) {
		if !validEnvKey(k) || slices.Contains(reservedEnv, k) {
			return fmt.Errorf("provision environment %s: environment variable %q cannot be set", env, k)
		}
		if strings.ContainsAny(extraEnv[k], "\n\r\x00") {
			return fmt.Errorf("provision environment %s: value of %s holds a line break", env, k)
		}
	}
	if err := l.writeScript(); err != nil {
		return fmt.Errorf("provision environment %s: %w", env, err)
	}
	app := cmp.Or(extraEnv["SLIPWAY_APP"], "app")
	for i := 1; i <= n; i++ {
		if err := l.provisionInstance(env, fmt.Sprintf("%s-%d", env, i), basePort+i-1, app, extraEnv); err != nil {
			return err
		}
	}
	return nil
}

// AddInstance provisions one more instance of env, id, serving on port,
// as Provision does, leaving the others alone.
func (l *Local) AddInstance(env, id string, port int, extraEnv map[string]string) error {
	if !validName(env) || !validName(id) {
		return fmt.Errorf("add instance %q to %q: %w", id, env, ErrInvalidName)
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("add instance %s: port %d is not valid", id, port)
	}
	if err := l.writeScript(); err != nil {
		return fmt.Errorf("add instance %s: %w", id, err)
	}
	return l.provisionInstance(env, id, port, cmp.Or(extraEnv["SLIPWAY_APP"], "app"), extraEnv)
}

func (l *Local) provisionInstance(env, id string, port int, app string, extraEnv map[string]string) error {
	dir := l.InstanceDir(env, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("provision instance %s: %w", id, err)
	}
	var b strings.Builder
	b.WriteString("# Host settings of an embedded fleet instance, written by internal/fleet.\n")
	fmt.Fprintf(&b, "SLIPWAY_SERVICE_MODE=process\nSLIPWAY_HOST=127.0.0.1\nPORT=%d\n", port)
	for _, k := range slices.Sorted(maps.Keys(extraEnv)) {
		fmt.Fprintf(&b, "%s=%s\n", k, envValue(extraEnv[k]))
	}
	// 0600: host.env may hold credentials (a DATABASE_URL with a password).
	if err := writeFileAtomic(filepath.Join(dir, "host.env"), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("provision instance %s: %w", id, err)
	}
	tags, err := json.Marshal(map[string]string{"app": app, "env": env, "name": id})
	if err != nil {
		return fmt.Errorf("provision instance %s: %w", id, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "tags.json"), append(tags, '\n'), 0o644); err != nil {
		return fmt.Errorf("provision instance %s: %w", id, err)
	}
	return nil
}

// Instances lists the instances of env from their directories, in index
// order. An instance is Online unless SetOffline took it offline. An
// environment that was never provisioned has no instances.
func (l *Local) Instances(ctx context.Context, env string) ([]Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validName(env) {
		return nil, fmt.Errorf("list instances of %q: %w", env, ErrInvalidName)
	}
	entries, err := os.ReadDir(filepath.Join(l.root, "instances", env))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list instances of %s: %w", env, err)
	}
	var instances []Instance
	for _, e := range entries {
		if !e.IsDir() || !validName(e.Name()) {
			continue
		}
		dir := l.InstanceDir(env, e.Name())
		settings, err := readEnvFile(filepath.Join(dir, "host.env"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list instances of %s: %w", env, err)
		}
		tags := map[string]string{}
		if b, err := os.ReadFile(filepath.Join(dir, "tags.json")); err == nil {
			if err := json.Unmarshal(b, &tags); err != nil {
				return nil, fmt.Errorf("read tags of instance %s: %w", e.Name(), err)
			}
		}
		instances = append(instances, Instance{
			ID:      e.Name(),
			Address: net.JoinHostPort(cmp.Or(settings["SLIPWAY_HOST"], "127.0.0.1"), settings["PORT"]),
			Tags:    tags,
			Online:  !l.knob(dir, knobOffline),
		})
	}
	slices.SortFunc(instances, func(a, b Instance) int { return compareIDs(a.ID, b.ID) })
	return instances, nil
}

// Current returns the version instance id of env is on: the release its
// current link points at, "" if it has none yet.
func (l *Local) Current(env, id string) (string, error) {
	dir, err := l.instance(env, id)
	if err != nil {
		return "", fmt.Errorf("read current release of %s: %w", id, err)
	}
	link, err := os.Readlink(filepath.Join(dir, "current"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read current release of %s: %w", id, err)
	}
	return filepath.Base(link), nil
}

// Send starts cmd on its instances of env and returns the command's ID at
// once. Each invocation runs `sh root/bin/slipway-host.sh ACTION ARGS...`
// in its own goroutine, with SLIPWAY_ROOT set to the instance's directory,
// a file:// artifact URI turned into a path, and the fault knobs applied.
// The script's exit code gives the status: 0 Success, anything else Failed
// (with ExitCode kept); a run past ExecutionTimeout ends TimedOut and an
// offline instance's invocation ends DeliveryTimedOut without running.
// Every invocation is recorded in root/commands/<id>/<instance>.json as it
// starts and ends. ctx bounds Send only, not the invocations.
func (l *Local) Send(ctx context.Context, env string, cmd Command) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	args, err := scriptArgs(cmd)
	if err != nil {
		return "", fmt.Errorf("send %s to %s: %w", cmd.Action, env, err)
	}
	if !validName(env) {
		return "", fmt.Errorf("send %s to %q: %w", cmd.Action, env, ErrInvalidName)
	}
	if len(cmd.InstanceIDs) == 0 {
		return "", fmt.Errorf("send %s to %s: no instance IDs: %w", cmd.Action, env, ErrInvalidCommand)
	}
	seen := make(map[string]bool)
	for _, id := range cmd.InstanceIDs {
		if seen[id] {
			return "", fmt.Errorf("send %s to %s: instance %s listed twice: %w", cmd.Action, env, id, ErrInvalidCommand)
		}
		seen[id] = true
		if _, err := l.instance(env, id); err != nil {
			return "", fmt.Errorf("send %s to %s: %w", cmd.Action, env, err)
		}
	}
	if err := l.writeScript(); err != nil {
		return "", fmt.Errorf("send %s to %s: %w", cmd.Action, env, err)
	}
	targets := make([]target, len(cmd.InstanceIDs))
	for i, id := range cmd.InstanceIDs {
		t, err := l.target(env, id, cmd)
		if err != nil {
			return "", fmt.Errorf("send %s to %s: %w", cmd.Action, id, err)
		}
		targets[i] = t
	}

	commandID, err := newCommandID()
	if err != nil {
		return "", fmt.Errorf("send %s to %s: %w", cmd.Action, env, err)
	}
	dir := filepath.Join(l.root, "commands", commandID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("send %s to %s: %w", cmd.Action, env, err)
	}
	cmd.InstanceIDs = slices.Clone(cmd.InstanceIDs)
	record, err := json.MarshalIndent(commandRecord{CommandID: commandID, Env: env, Command: cmd, RequestedAt: time.Now().UTC()}, "", "  ")
	if err != nil {
		return "", fmt.Errorf("send %s to %s: %w", cmd.Action, env, err)
	}
	c := &localCommand{
		result:  CommandResult{CommandID: commandID, Status: StatusInProgress},
		pending: len(targets),
		done:    make(chan struct{}),
	}
	for _, t := range targets {
		inv := Invocation{InstanceID: t.id, Status: StatusPending, ExitCode: -1}
		c.result.Invocations = append(c.result.Invocations, inv)
		if err := l.writeInvocation(commandID, inv); err != nil {
			return "", fmt.Errorf("send %s to %s: %w", cmd.Action, env, err)
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, "command.json"), append(record, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("send %s to %s: %w", cmd.Action, env, err)
	}

	l.mu.Lock()
	l.commands[commandID] = c
	abort := l.abort
	l.mu.Unlock()
	base := context.WithoutCancel(ctx)
	for i, t := range targets {
		l.running.Add(1)
		go l.invoke(base, abort, c, i, t, args, cmd)
	}
	return commandID, nil
}

// Status returns the state of command commandID: from memory if this Local
// sent it, else from root/commands, so another process can follow it.
func (l *Local) Status(ctx context.Context, commandID string) (CommandResult, error) {
	if err := ctx.Err(); err != nil {
		return CommandResult{}, err
	}
	return l.status(commandID)
}

// Wait blocks until every invocation of command commandID is final, or ctx
// ends, and returns the command's state.
func (l *Local) Wait(ctx context.Context, commandID string) (CommandResult, error) {
	l.mu.Lock()
	c := l.commands[commandID]
	l.mu.Unlock()
	if c != nil {
		select {
		case <-c.done:
			return l.status(commandID)
		case <-ctx.Done():
			r, _ := l.status(commandID)
			return r, fmt.Errorf("wait for command %s: %w", commandID, ctx.Err())
		}
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := l.status(commandID)
		if err != nil || Final(r.Status) {
			return r, err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return r, fmt.Errorf("wait for command %s: %w", commandID, ctx.Err())
		}
	}
}

func (l *Local) status(commandID string) (CommandResult, error) {
	l.mu.Lock()
	if c, ok := l.commands[commandID]; ok {
		r := c.result
		r.Invocations = slices.Clone(r.Invocations)
		l.mu.Unlock()
		return r, nil
	}
	l.mu.Unlock()
	if !validName(commandID) {
		return CommandResult{}, fmt.Errorf("get command %q: %w", commandID, ErrUnknownCommand)
	}
	dir := filepath.Join(l.root, "commands", commandID)
	b, err := os.ReadFile(filepath.Join(dir, "command.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return CommandResult{}, fmt.Errorf("get command %s: %w", commandID, ErrUnknownCommand)
	}
	if err != nil {
		return CommandResult{}, fmt.Errorf("get command %s: %w", commandID, err)
	}
	var record commandRecord
	if err := json.Unmarshal(b, &record); err != nil {
		return CommandResult{}, fmt.Errorf("decode command %s: %w", commandID, err)
	}
	r := CommandResult{CommandID: commandID}
	for _, id := range record.Command.InstanceIDs {
		inv := Invocation{InstanceID: id, Status: StatusPending, ExitCode: -1}
		b, err := os.ReadFile(filepath.Join(dir, id+".json"))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return CommandResult{}, fmt.Errorf("get command %s on %s: %w", commandID, id, err)
		default:
			if err := json.Unmarshal(b, &inv); err != nil {
				return CommandResult{}, fmt.Errorf("decode command %s on %s: %w", commandID, id, err)
			}
		}
		r.Invocations = append(r.Invocations, inv)
	}
	r.Status = Aggregate(r.Invocations)
	return r, nil
}

// target resolves instance id of env for cmd and applies its knobs.
func (l *Local) target(env, id string, cmd Command) (target, error) {
	dir := l.InstanceDir(env, id)
	t := target{id: id, dir: dir}
	if l.knob(dir, knobOffline) {
		t.offline = true
		return t, nil
	}
	if cmd.Action != ActionActivate {
		return t, nil
	}
	if l.knob(dir, knobFailHealth) {
		t.env = append(t.env, "SLIPWAY_FAULT_HEALTH=1")
		t.note += "embedded fleet: FailHealth knob: the app starts with SLIPWAY_FAULT_HEALTH=1\n"
	}
	if l.knob(dir, knobFailActivation) {
		current, err := l.Current(env, id)
		if err != nil {
			return t, err
		}
		if current == cmd.Version {
			return t, nil // a no-op activation restarts nothing: keep the knob armed
		}
		hostEnv, err := l.failActivation(dir)
		if err != nil {
			return t, err
		}
		t.env = append(t.env, "SLIPWAY_HOST_ENV="+hostEnv)
		t.note += "embedded fleet: FailActivation knob: host settings override SLIPWAY_START, so the restart fails\n"
	}
	return t, nil
}

// invoke runs the host script for invocation i of c on t.
func (l *Local) invoke(ctx context.Context, abort <-chan struct{}, c *localCommand, i int, t target, args []string, cmd Command) {
	defer l.running.Done()
	inv := Invocation{InstanceID: t.id, Status: StatusInProgress, ExitCode: -1, StartedAt: time.Now().UTC()}
	if t.offline {
		inv.Status = StatusDeliveryTimedOut
		inv.Output = "embedded fleet: instance " + t.id + " is offline: the command was not delivered\n"
		inv.StartedAt = time.Time{}
		inv.FinishedAt = time.Now().UTC()
		l.finish(c, i, inv)
		return
	}
	l.update(c, i, inv)

	ctx, cancel := context.WithTimeout(ctx, cmp.Or(l.ExecutionTimeout, DefaultExecutionTimeout))
	defer cancel()
	aborted := make(chan struct{})
	go func() {
		select {
		case <-abort:
			close(aborted)
			cancel()
		case <-ctx.Done():
		}
	}()

	var out bytes.Buffer
	out.WriteString(t.note)
	run := exec.CommandContext(ctx, "sh", append([]string{l.ScriptPath()}, args...)...)
	run.Dir = t.dir
	extra := slices.Concat(l.ScriptEnv, t.env)
	if cmd.ConfigFingerprint != "" && (cmd.Action == ActionActivate || cmd.Action == ActionRollback) {
		extra = append(extra, "SLIPWAY_CONFIG_FINGERPRINT="+cmd.ConfigFingerprint, "SLIPWAY_CONFIG_ENV="+cmd.ConfigEnv)
	}
	run.Env = scriptEnv(t.dir, cmd.DeploymentID, extra)
	run.Stdout = &out
	run.Stderr = &out
	// The script gets its own process group so a timeout kills all of it;
	// the apps it starts are in sessions of their own and survive.
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	run.Cancel = func() error { return syscall.Kill(-run.Process.Pid, syscall.SIGKILL) }
	run.WaitDelay = 2 * time.Second
	err := run.Run()

	var exitErr *exec.ExitError
	switch {
	case isClosed(aborted):
		inv.Status = StatusCancelled
		fmt.Fprintf(&out, "\nembedded fleet: cancelled: the fleet was stopped\n")
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		inv.Status = StatusTimedOut
		fmt.Fprintf(&out, "\nembedded fleet: timed out after %s\n", cmp.Or(l.ExecutionTimeout, DefaultExecutionTimeout))
	case err == nil || errors.Is(err, exec.ErrWaitDelay):
		inv.Status, inv.ExitCode = StatusSuccess, 0
	case errors.As(err, &exitErr):
		inv.Status, inv.ExitCode = StatusFailed, exitErr.ExitCode()
	default:
		inv.Status = StatusFailed
		fmt.Fprintf(&out, "\nembedded fleet: run host script: %v\n", err)
	}
	inv.Output = truncateOutput(out.String(), MaxOutput)
	inv.FinishedAt = time.Now().UTC()
	l.finish(c, i, inv)
}

// update records a non-final state of invocation i of c.
func (l *Local) update(c *localCommand, i int, inv Invocation) {
	l.mu.Lock()
	c.result.Invocations[i] = inv
	l.mu.Unlock()
	// A failed write leaves the Pending record: readers in other processes
	// see the invocation late, and the final write tries again.
	_ = l.writeInvocation(c.result.CommandID, inv)
}

// finish records the final state of invocation i of c.
func (l *Local) finish(c *localCommand, i int, inv Invocation) {
	if err := l.writeInvocation(c.result.CommandID, inv); err != nil {
		inv.Output = truncateOutput(inv.Output+"\nembedded fleet: record invocation: "+err.Error()+"\n", MaxOutput)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c.result.Invocations[i] = inv
	c.result.Status = Aggregate(c.result.Invocations)
	c.pending--
	if c.pending == 0 {
		close(c.done)
	}
}

func (l *Local) writeInvocation(commandID string, inv Invocation) error {
	b, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		return fmt.Errorf("encode invocation on %s: %w", inv.InstanceID, err)
	}
	return writeFileAtomic(filepath.Join(l.root, "commands", commandID, inv.InstanceID+".json"), append(b, '\n'), 0o644)
}

// writeScript writes the host script to ScriptPath unless it is there already.
func (l *Local) writeScript() error {
	if len(l.script) == 0 {
		return errors.New("write host script: the script is empty")
	}
	path := l.ScriptPath()
	if b, err := os.ReadFile(path); err == nil && bytes.Equal(b, l.script) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write host script: %w", err)
	}
	if err := writeFileAtomic(path, l.script, 0o755); err != nil {
		return fmt.Errorf("write host script: %w", err)
	}
	return nil
}

// instance returns the directory of instance id of env, or
// ErrUnknownInstance if it was not provisioned.
func (l *Local) instance(env, id string) (string, error) {
	if !validName(env) || !validName(id) {
		return "", fmt.Errorf("instance %q of %q: %w", id, env, ErrInvalidName)
	}
	dir := l.InstanceDir(env, id)
	if _, err := os.Stat(filepath.Join(dir, "host.env")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("instance %s of %s: %w", id, env, ErrUnknownInstance)
		}
		return "", fmt.Errorf("instance %s of %s: %w", id, env, err)
	}
	return dir, nil
}

// instanceDirs lists the directories of every instance under the root.
func (l *Local) instanceDirs() ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(l.root, "instances", "*", "*", "host.env"))
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	dirs := make([]string, 0, len(matches))
	for _, m := range matches {
		dirs = append(dirs, filepath.Dir(m))
	}
	return dirs, nil
}

// scriptArgs returns the host script's arguments for cmd.
func scriptArgs(cmd Command) ([]string, error) {
	switch cmd.Action {
	case ActionActivate:
		if cmd.Version == "" || cmd.ArtifactURI == "" || cmd.SHA256 == "" {
			return nil, fmt.Errorf("activate needs a version, an artifact URI and a SHA-256: %w", ErrInvalidCommand)
		}
		path, err := artifactPath(cmd.ArtifactURI)
		if err != nil {
			return nil, err
		}
		return []string{ActionActivate, cmd.Version, path, cmd.SHA256}, nil
	case ActionRollback:
		if cmd.Version == "" {
			return []string{ActionRollback}, nil
		}
		return []string{ActionRollback, cmd.Version}, nil
	case ActionStatus:
		return []string{ActionStatus}, nil
	case ActionHook:
		if !TrafficHook(cmd.Hook) || cmd.Version == "" {
			return nil, fmt.Errorf("hook needs before_traffic or after_traffic (not %q) and a version: %w", cmd.Hook, ErrInvalidCommand)
		}
		return []string{ActionHook, cmd.Hook, cmd.Version}, nil
	case ActionPrune:
		switch {
		case cmd.Keep < 0:
			return nil, fmt.Errorf("prune keep %d is negative: %w", cmd.Keep, ErrInvalidCommand)
		case cmd.Keep == 0:
			return []string{ActionPrune}, nil
		}
		return []string{ActionPrune, strconv.Itoa(cmd.Keep)}, nil
	}
	return nil, fmt.Errorf("unknown action %q: %w", cmd.Action, ErrInvalidCommand)
}

// artifactPath turns a file:// URI (or an absolute path) into a path; the
// embedded fleet reads no other artifact.
func artifactPath(uri string) (string, error) {
	if filepath.IsAbs(uri) {
		return filepath.Clean(uri), nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("parse artifact URI %q: %w", uri, ErrInvalidCommand)
	}
	if u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") || !filepath.IsAbs(u.Path) {
		return "", fmt.Errorf("artifact URI %q is not file:///absolute/path (the embedded fleet reads local files only): %w", uri, ErrInvalidCommand)
	}
	return filepath.Clean(u.Path), nil
}

// scriptEnv is the environment of the host script on the instance in dir:
// a small fixed one, like the SSM agent's, not the caller's.
func scriptEnv(dir, deploymentID string, extra []string) []string {
	env := []string{"SLIPWAY_ROOT=" + dir}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if os.Getenv("PATH") == "" {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	if deploymentID != "" {
		env = append(env, "SLIPWAY_DEPLOYMENT_ID="+deploymentID)
	}
	return append(env, extra...)
}

// newCommandID returns a random UUID, the shape of SSM's command IDs.
func newCommandID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make command ID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// validName reports whether s can name a directory of the fleet.
func validName(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// validEnvKey reports whether s can name an environment variable.
func validEnvKey(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// envValue quotes v when the host script would otherwise strip its quotes.
func envValue(v string) string {
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, `'`) {
		return `"` + v + `"`
	}
	return v
}

// readEnvFile reads KEY=VALUE lines the way the host script does.
func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := make(map[string]string)
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimPrefix(k, "export ")
		if !ok || !validEnvKey(k) {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	return env, nil
}

// compareIDs orders instance IDs by their trailing number, then by name.
func compareIDs(a, b string) int {
	na, erra := strconv.Atoi(a[strings.LastIndexByte(a, '-')+1:])
	nb, errb := strconv.Atoi(b[strings.LastIndexByte(b, '-')+1:])
	if erra == nil && errb == nil && na != nb {
		return cmp.Compare(na, nb)
	}
	return strings.Compare(a, b)
}

// writeFileAtomic writes data to path through a temporary file and a rename.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp.*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, perm)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
