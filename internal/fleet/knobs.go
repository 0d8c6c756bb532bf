package fleet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Knob files under an instance's .knobs directory. The host script never
// reads them: Send applies them from outside, so the script that runs
// locally is the one that runs on EC2.
const (
	knobOffline        = "offline"
	knobFailActivation = "fail-activation"
	knobFailHealth     = "fail-health"
)

// failStart is the start command that the FailActivation knob puts in
// place of the release's: no such program exists, so the host script's
// restart fails (exit 5) before it stops the running app.
const failStart = "slipway-fault-injected-start-failure"

// SetOffline takes instance id of env offline or brings it back. An offline
// instance reports Online false, and every command sent to it ends
// DeliveryTimedOut without running, as when the SSM agent is unreachable.
func (l *Local) SetOffline(env, id string, offline bool) error {
	return l.setKnob(env, id, knobOffline, offline)
}

// FailActivation arms or disarms a failed restart on instance id of env.
// While armed, the next activate sent to the instance that would switch
// releases (not a no-op activate of the current version) runs the host
// script with host settings (SLIPWAY_HOST_ENV) that replace the start
// command with one that does not exist: the script unpacks and switches
// `current` as usual, then its restart fails and it exits 5. The app that
// was running keeps running. Sending that activate disarms the knob, so the
// rollback that follows, and later deploys, work.
func (l *Local) FailActivation(env, id string, on bool) error {
	return l.setKnob(env, id, knobFailActivation, on)
}

// FailHealth makes the apps that activate commands start on instance id of
// env fail their health check, until it is turned off. Send sets
// SLIPWAY_FAULT_HEALTH=1 in the host script's environment, which the script
// passes on to the app; a cooperating app (the demo app and the tests' app
// honour it) then answers its health endpoint with 500, so the activation
// exits 6. Rollbacks start apps without it, and an app already running is
// not affected until it is restarted.
func (l *Local) FailHealth(env, id string, on bool) error {
	return l.setKnob(env, id, knobFailHealth, on)
}

func (l *Local) setKnob(env, id, name string, on bool) error {
	dir, err := l.instance(env, id)
	if err != nil {
		return fmt.Errorf("set knob %s of %s: %w", name, id, err)
	}
	path := filepath.Join(dir, ".knobs", name)
	if !on {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clear knob %s of %s: %w", name, id, err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("set knob %s of %s: %w", name, id, err)
	}
	if err := os.WriteFile(path, []byte("on\n"), 0o644); err != nil {
		return fmt.Errorf("set knob %s of %s: %w", name, id, err)
	}
	return nil
}

// knob reports whether knob name is set on the instance in dir.
func (l *Local) knob(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, ".knobs", name))
	return err == nil
}

// failActivation disarms the FailActivation knob of the instance in dir and
// writes the host settings that make its restart fail; it returns their path.
func (l *Local) failActivation(dir string) (string, error) {
	settings, err := os.ReadFile(filepath.Join(dir, "host.env"))
	if err != nil {
		return "", fmt.Errorf("inject activation failure: %w", err)
	}
	settings = append(settings, "\n# Injected by the embedded fleet's FailActivation knob: the restart fails.\nSLIPWAY_START="+failStart+"\n"...)
	path := filepath.Join(dir, ".knobs", "host.env")
	if err := writeFileAtomic(path, settings, 0o644); err != nil {
		return "", fmt.Errorf("inject activation failure: %w", err)
	}
	if err := os.Remove(filepath.Join(dir, ".knobs", knobFailActivation)); err != nil {
		return "", fmt.Errorf("disarm activation failure: %w", err)
	}
	return path, nil
}
