package artifact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/slipway-deploy/slipway/internal/bundle"
)

// S3API is the part of *s3.Client that S3 uses.
type S3API interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// S3 is a release store in the artifact bucket. The SHA-256 is kept in the
// object's metadata (sha256) and in a <key>.sha256 object beside it.
type S3 struct {
	Client S3API
	Bucket string
	Prefix string // optional, e.g. "releases/"
}

func (s *S3) key(app, version string) string { return s.Prefix + Key(app, version) }

// Publish uploads data and its checksum.
func (s *S3) Publish(ctx context.Context, app, version string, data []byte) (Meta, error) {
	if err := ValidVersion(version); err != nil {
		return Meta{}, err
	}
	key := s.key(app, version)
	sum := sha256.Sum256(data)
	hexSum := bundle.SHA256(data)
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:         aws.String(s.Bucket),
		Key:            aws.String(key),
		Body:           bytes.NewReader(data),
		ContentType:    aws.String("application/gzip"),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
		Metadata:       map[string]string{"sha256": hexSum},
	})
	if err != nil {
		return Meta{}, fmt.Errorf("upload s3://%s/%s: %w", s.Bucket, key, s.explain(err))
	}
	_, err = s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket),
		Key:    aws.String(key + ".sha256"),
		Body:   strings.NewReader(hexSum + "  " + version + ".tar.gz\n"),
	})
	if err != nil {
		return Meta{}, fmt.Errorf("upload s3://%s/%s.sha256: %w", s.Bucket, key, s.explain(err))
	}
	return Meta{URI: "s3://" + s.Bucket + "/" + key, SHA256: hexSum, Size: int64(len(data))}, nil
}

// Stat returns the published release's location and checksum.
func (s *S3) Stat(ctx context.Context, app, version string) (Meta, error) {
	if err := ValidVersion(version); err != nil {
		return Meta{}, err
	}
	key := s.key(app, version)
	head, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if isNotFound(err) {
		return Meta{}, s.notFound(ctx, app, version, key)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("head s3://%s/%s: %w", s.Bucket, key, s.explain(err))
	}
	m := Meta{URI: "s3://" + s.Bucket + "/" + key, Size: aws.ToInt64(head.ContentLength), SHA256: head.Metadata["sha256"]}
	if len(m.SHA256) == 64 {
		return m, nil
	}
	obj, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key + ".sha256")})
	if isNotFound(err) {
		return Meta{}, fmt.Errorf("release %s of %s has no published checksum (s3://%s/%s.sha256): publish it again", version, app, s.Bucket, key)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("get s3://%s/%s.sha256: %w", s.Bucket, key, s.explain(err))
	}
	defer obj.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(obj.Body, 1024))
	if err != nil {
		return Meta{}, fmt.Errorf("read s3://%s/%s.sha256: %w", s.Bucket, key, err)
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 || len(f[0]) != 64 {
		return Meta{}, fmt.Errorf("release %s of %s: s3://%s/%s.sha256 holds no SHA-256: publish it again", version, app, s.Bucket, key)
	}
	m.SHA256 = f[0]
	return m, nil
}

// Fetch downloads the bundle's bytes.
func (s *S3) Fetch(ctx context.Context, m Meta) ([]byte, error) {
	u, err := url.Parse(m.URI)
	if err != nil || u.Scheme != "s3" {
		return nil, fmt.Errorf("artifact uri %q: want s3://bucket/key", m.URI)
	}
	key := strings.TrimPrefix(u.Path, "/")
	obj, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Host), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", m.URI, explainBucket(u.Host, err))
	}
	defer obj.Body.Close()
	b, err := io.ReadAll(io.LimitReader(obj.Body, bundle.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", m.URI, err)
	}
	if len(b) > bundle.MaxSize {
		return nil, fmt.Errorf("get %s: bundle larger than %d MiB", m.URI, bundle.MaxSize>>20)
	}
	return b, nil
}

// notFound tells a release that is not published from a bucket that does
// not exist. HeadObject's 404 has no body, so it cannot say which; a
// GetObject of the same key (one byte) answers NoSuchKey or NoSuchBucket.
// If the object is there by then, it was published in between: it was not
// when HeadObject looked, and that is what Stat reports.
func (s *S3) notFound(ctx context.Context, app, version, key string) error {
	nf := &NotFoundError{App: app, Version: version, Where: "s3://" + s.Bucket + "/" + s.Prefix}
	obj, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), Range: aws.String("bytes=0-0")})
	if err == nil {
		obj.Body.Close()
		return nf
	}
	if be := bucketError(s.Bucket, err); be != nil {
		return fmt.Errorf("get s3://%s/%s: %w", s.Bucket, key, be)
	}
	if isNotFound(err) {
		return nf
	}
	return fmt.Errorf("get s3://%s/%s: %w", s.Bucket, key, err)
}

// BucketError reports an artifact bucket that does not exist or that the
// caller may not read: a setting to fix, not a release to publish.
type BucketError struct {
	// Bucket is the bucket's name.
	Bucket string
	// Missing is true when S3 says the bucket does not exist, false when
	// it denied access.
	Missing bool
	// Err is S3's error.
	Err error
}

func (e *BucketError) Error() string {
	if e.Missing {
		return fmt.Sprintf("artifact bucket %q does not exist in this account and region: check SLIPWAY_ARTIFACT_BUCKET against the stack's ArtifactBucketName output, and the region: %v", e.Bucket, e.Err)
	}
	return fmt.Sprintf("access to artifact bucket %q denied: check that SLIPWAY_ARTIFACT_BUCKET is the stack's ArtifactBucketName output (another account's bucket answers this way) and that these credentials may read it (s3:GetObject, s3:ListBucket): %v", e.Bucket, e.Err)
}

func (e *BucketError) Unwrap() error { return e.Err }

// explain turns S3's answers about the bucket itself into a *BucketError.
func (s *S3) explain(err error) error { return explainBucket(s.Bucket, err) }

func explainBucket(bucket string, err error) error {
	if be := bucketError(bucket, err); be != nil {
		return be
	}
	return err
}

// bucketError returns a *BucketError for NoSuchBucket, AccessDenied and a
// bodiless 403 (HeadObject's), nil for anything else.
func bucketError(bucket string, err error) *BucketError {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return nil
	}
	switch ae.ErrorCode() {
	case "NoSuchBucket":
		return &BucketError{Bucket: bucket, Missing: true, Err: err}
	case "AccessDenied", "Forbidden", "AllAccessDisabled":
		return &BucketError{Bucket: bucket, Err: err}
	}
	return nil
}

func isNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotFound", "NoSuchKey", "404":
			return true
		}
	}
	return false
}
