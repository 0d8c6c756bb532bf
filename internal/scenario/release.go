package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

// BuildOptions vary a build.
type BuildOptions struct {
	// Manifest replaces the app's slipway.yaml.
	Manifest []byte
	// From names the release directory (releases/<From>) whose config to
	// use; default: the version itself. Tests build commits from it.
	From string
	// Config replaces the release's config.json (its schema must stay).
	Config []byte
	// Migrations adds migration files (name to SQL) to the bundle, beside
	// the app's own up to the release's schema.
	Migrations map[string]string
}

// BuildRelease builds the demo app's release version from appDir (the
// examples/demo-app directory) into a bundle: the binary built with its
// version stamped in, the release's config.json, slipway.yaml, and the
// migrations up to the schema the release expects.
func BuildRelease(ctx context.Context, appDir, version, workDir string, opts BuildOptions) ([]byte, error) {
	from := opts.From
	if from == "" {
		from = version
	}
	relDir := filepath.Join(appDir, "releases", from)
	manifestYAML := opts.Manifest
	cfgRaw, err := os.ReadFile(filepath.Join(relDir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("build release %s: %w", version, err)
	}
	if opts.Config != nil {
		cfgRaw = opts.Config
	}
	var cfg struct {
		Schema int64 `json:"schema"`
	}
	if err := json.Unmarshal(cfgRaw, &cfg); err != nil {
		return nil, fmt.Errorf("build release %s: config.json: %w", version, err)
	}
	out := filepath.Join(workDir, version)
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(out, "bin"), 0o755); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", filepath.Join(out, "bin", "demo-app"), ".")
	cmd.Dir = appDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build release %s: go build: %v\n%s", version, err, b)
	}
	if manifestYAML == nil {
		if manifestYAML, err = os.ReadFile(filepath.Join(appDir, manifest.FileName)); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(out, manifest.FileName), manifestYAML, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(out, "config.json"), cfgRaw, 0o644); err != nil {
		return nil, err
	}
	for name, sql := range opts.Migrations {
		if err := os.MkdirAll(filepath.Join(out, "migrations"), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(out, "migrations", name), []byte(sql), 0o644); err != nil {
			return nil, err
		}
	}
	migs, err := fs.Glob(os.DirFS(appDir), "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	for _, m := range migs {
		v, err := strconv.ParseInt(strings.SplitN(filepath.Base(m), "_", 2)[0], 10, 64)
		if err != nil || v > cfg.Schema {
			continue
		}
		if err := copyFile(filepath.Join(appDir, m), filepath.Join(out, m)); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if _, err := bundle.Build(&buf, out, version); err != nil {
		return nil, fmt.Errorf("build release %s: %w", version, err)
	}
	return buf.Bytes(), nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
