package artifact

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipway-deploy/slipway/internal/bundle"
)

// Dir is a release store in a local folder.
type Dir struct {
	Root string
}

func (d *Dir) path(app, version string) string {
	return filepath.Join(d.Root, filepath.FromSlash(Key(app, version)))
}

// Publish stores data as app's version with its SHA-256, atomically.
func (d *Dir) Publish(ctx context.Context, app, version string, data []byte) (Meta, error) {
	if err := ValidVersion(version); err != nil {
		return Meta{}, err
	}
	p := d.path(app, version)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return Meta{}, fmt.Errorf("publish %s %s: %w", app, version, err)
	}
	sum := bundle.SHA256(data)
	if err := writeAtomic(p, data); err != nil {
		return Meta{}, fmt.Errorf("publish %s %s: %w", app, version, err)
	}
	if err := writeAtomic(p+".sha256", []byte(sum+"  "+filepath.Base(p)+"\n")); err != nil {
		return Meta{}, fmt.Errorf("publish %s %s: %w", app, version, err)
	}
	return Meta{URI: fileURI(p), SHA256: sum, Size: int64(len(data))}, nil
}

// Stat returns the published release's location and checksum.
func (d *Dir) Stat(ctx context.Context, app, version string) (Meta, error) {
	if err := ValidVersion(version); err != nil {
		return Meta{}, err
	}
	p := d.path(app, version)
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Meta{}, &NotFoundError{App: app, Version: version, Where: d.Root}
	}
	if err != nil {
		return Meta{}, fmt.Errorf("stat release %s %s: %w", app, version, err)
	}
	raw, err := os.ReadFile(p + ".sha256")
	if err != nil {
		return Meta{}, fmt.Errorf("read checksum of release %s %s: %w (publish it again)", app, version, err)
	}
	sum := strings.Fields(string(raw))
	if len(sum) == 0 || len(sum[0]) != 64 {
		return Meta{}, fmt.Errorf("read checksum of release %s %s: %s.sha256 holds no SHA-256 (publish it again)", app, version, filepath.Base(p))
	}
	return Meta{URI: fileURI(p), SHA256: sum[0], Size: info.Size()}, nil
}

// Fetch reads the bundle's bytes.
func (d *Dir) Fetch(ctx context.Context, m Meta) ([]byte, error) {
	p, err := LocalPath(m.URI)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", m.URI, err)
	}
	return b, nil
}

// LocalPath turns a file:// URI into a path.
func LocalPath(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return "", fmt.Errorf("artifact uri %q: want file:///path", uri)
	}
	return filepath.FromSlash(u.Path), nil
}

func fileURI(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = p
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

func writeAtomic(p string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}
