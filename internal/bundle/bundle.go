// Package bundle builds and opens release bundles: one tar.gz holding the
// application build, its migrations/ and its slipway.yaml, named by version
// and stored next to its SHA-256. Build adds release.env, rendered from the
// manifest, for the host script. Open verifies the checksum before anything
// in the bundle is trusted.
package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing/fstest"
	"time"

	"github.com/slipway-deploy/slipway/internal/manifest"
)

// ReleaseEnvName is the file Build adds for the host script.
const ReleaseEnvName = "release.env"

// MaxSize bounds a bundle read into memory (a Lambda has /tmp and memory limits).
const MaxSize = 512 << 20

// Build writes a tar.gz of dir to w, adding release.env rendered from dir's
// slipway.yaml for version. Entries are sorted and carry a fixed time, so the
// same input gives the same bytes. It returns the parsed manifest.
func Build(w io.Writer, dir, version string) (*manifest.Manifest, error) {
	file := filepath.Join(dir, manifest.FileName)
	raw, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read release manifest: %w (every release needs %s at its root)", err, manifest.FileName)
	}
	if err != nil {
		return nil, fmt.Errorf("read release manifest: %w", err)
	}
	m, err := manifest.ParseFile(file, raw)
	if err != nil {
		return nil, err
	}
	var paths []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if filepath.ToSlash(rel) == ReleaseEnvName {
			return nil
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk release dir %s: %w", dir, err)
	}
	sort.Strings(paths)

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	epoch := time.Unix(0, 0).UTC()
	for _, p := range paths {
		info, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: epoch, Mode: int64(info.Mode().Perm()), Format: tar.FormatPAX}
		switch {
		case info.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		case info.Mode().IsRegular():
			hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
		default:
			return nil, fmt.Errorf("add %s to bundle: only regular files and directories are allowed", rel)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("add %s to bundle: %w", rel, err)
			}
		}
	}
	env := m.ReleaseEnv(version)
	if err := tw.WriteHeader(&tar.Header{Name: ReleaseEnvName, Typeflag: tar.TypeReg, Size: int64(len(env)), Mode: 0o644, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(env); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return m, gz.Close()
}

// CheckStart checks that the command m.Service.Start names exists in dir,
// the directory a bundle is built from, as a regular file the host can
// execute: the host script runs its first word from the release directory.
// A manifest without service.start (a systemd unit only) passes.
func CheckStart(dir string, m *manifest.Manifest) error {
	fields := strings.Fields(m.Service.Start)
	if len(fields) == 0 {
		return nil
	}
	rel := fields[0]
	p := filepath.Join(dir, filepath.FromSlash(rel))
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check service.start: %s is not in the release directory %s (service.start %q runs it from the release directory: build the app into %s first)", rel, dir, m.Service.Start, p)
	}
	if err != nil {
		return fmt.Errorf("check service.start %s: %w", rel, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("check service.start: %s is not a regular file (service.start %q must name the program to run)", p, m.Service.Start)
	}
	if info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("check service.start: %s is not executable (mode %v): run chmod +x %s", p, info.Mode().Perm(), p)
	}
	return nil
}

// ChecksumFile returns the content of the SHA-256 file written beside a
// bundle named name: the sha256sum format, so that `sha256sum -c` checks it.
func ChecksumFile(name string, data []byte) []byte {
	return []byte(SHA256(data) + "  " + filepath.Base(name) + "\n")
}

// SHA256 returns the hex SHA-256 of data.
func SHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ChecksumError reports a bundle whose bytes do not match the published SHA-256.
type ChecksumError struct {
	Name      string
	Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("bundle %s: checksum mismatch: published sha256 %s, downloaded bytes hash to %s; the artifact was changed or corrupted after publishing, publish it again", e.Name, e.Want, e.Got)
}

// Bundle is an opened, verified release bundle.
type Bundle struct {
	Manifest *manifest.Manifest
	SHA256   string
	// Unpacked is the size of its files, unpacked.
	Unpacked int64
	files    fstest.MapFS
}

// Open verifies data against wantSHA256 and reads the bundle in memory.
func Open(name string, data []byte, wantSHA256 string) (*Bundle, error) {
	got := SHA256(data)
	if !strings.EqualFold(got, wantSHA256) {
		return nil, &ChecksumError{Name: name, Want: wantSHA256, Got: got}
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("open bundle %s: not a gzip file: %w", name, err)
	}
	tr := tar.NewReader(gz)
	files := fstest.MapFS{}
	total := int64(0)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("open bundle %s: %w", name, err)
		}
		clean := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if clean == "." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			return nil, fmt.Errorf("open bundle %s: unsafe path %q", name, hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		total += hdr.Size
		if total > MaxSize {
			return nil, fmt.Errorf("open bundle %s: larger than %d MiB unpacked", name, MaxSize>>20)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("open bundle %s: read %s: %w", name, clean, err)
		}
		files[clean] = &fstest.MapFile{Data: b, Mode: fs.FileMode(hdr.Mode).Perm()}
	}
	mf, ok := files[manifest.FileName]
	if !ok {
		return nil, fmt.Errorf("open bundle %s: no %s at the root; build bundles with `slipway release build`", name, manifest.FileName)
	}
	m, err := manifest.Parse(mf.Data)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", name, err)
	}
	return &Bundle{Manifest: m, SHA256: got, Unpacked: total, files: files}, nil
}

// FS returns the bundle's files.
func (b *Bundle) FS() fs.FS { return b.files }

// Migrations returns the manifest's migrations directory as a file system
// (empty when the release has none).
func (b *Bundle) Migrations() fs.FS {
	sub, err := fs.Sub(b.files, b.Manifest.Migrations.Dir)
	if err != nil {
		return fstest.MapFS{}
	}
	return sub
}
