package artifact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-deploy/slipway/internal/provenance"
)

// ProvenanceKey is the key of a release's provenance record, beside its
// bundle.
func ProvenanceKey(app, version string) string { return Key(app, version) + ".provenance.json" }

// ProvenanceStore keeps a release's provenance record beside its bundle.
// Both stores are one.
type ProvenanceStore interface {
	PutProvenance(ctx context.Context, app, version string, r provenance.Record) error
	// Provenance returns the record, or nil when the release has none.
	Provenance(ctx context.Context, app, version string) (*provenance.Record, error)
}

func decodeProvenance(raw []byte, where string) (*provenance.Record, error) {
	var r provenance.Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("provenance record %s is not valid JSON (%v): publish the release again", where, err)
	}
	return &r, nil
}

func (d *Dir) provenancePath(app, version string) string {
	return filepath.Join(d.Root, filepath.FromSlash(ProvenanceKey(app, version)))
}

// PutProvenance writes the record beside the bundle.
func (d *Dir) PutProvenance(_ context.Context, app, version string, r provenance.Record) error {
	if err := ValidVersion(version); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(r, "", "  ")
	p := d.provenancePath(app, version)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("record the provenance of %s %s: %w", app, version, err)
	}
	if err := writeAtomic(p, append(raw, '\n')); err != nil {
		return fmt.Errorf("record the provenance of %s %s: %w", app, version, err)
	}
	return nil
}

// Provenance reads the record beside the bundle (nil when there is none).
func (d *Dir) Provenance(_ context.Context, app, version string) (*provenance.Record, error) {
	if err := ValidVersion(version); err != nil {
		return nil, err
	}
	p := d.provenancePath(app, version)
	raw, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the provenance of %s %s: %w", app, version, err)
	}
	return decodeProvenance(raw, p)
}

// PutProvenance writes the record beside the bundle.
func (s *S3) PutProvenance(ctx context.Context, app, version string, r provenance.Record) error {
	if err := ValidVersion(version); err != nil {
		return err
	}
	key := s.Prefix + ProvenanceKey(app, version)
	raw, _ := json.MarshalIndent(r, "", "  ")
	if _, err := s.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(append(raw, '\n')), ContentType: aws.String("application/json")}); err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", s.Bucket, key, s.explain(err))
	}
	return nil
}

// Provenance reads the record beside the bundle (nil when there is none).
func (s *S3) Provenance(ctx context.Context, app, version string) (*provenance.Record, error) {
	if err := ValidVersion(version); err != nil {
		return nil, err
	}
	key := s.Prefix + ProvenanceKey(app, version)
	obj, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.Bucket, key, s.explain(err))
	}
	defer obj.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(obj.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", s.Bucket, key, err)
	}
	return decodeProvenance(raw, "s3://"+s.Bucket+"/"+key)
}
