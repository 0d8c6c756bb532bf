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
		return Meta{}, fmt.Errorf("upload s3://%s/%s: %w", s.Bucket, key, err)
	}
	_, err = s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket),
		Key:    aws.String(key + ".sha256"),
		Body:   strings.NewReader(hexSum + "  " + version + ".tar.gz\n"),
	})
	if err != nil {
		return Meta{}, fmt.Errorf("upload s3://%s/%s.sha256: %w", s.Bucket, key, err)
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
		return Meta{}, &NotFoundError{App: app, Version: version, Where: "s3://" + s.Bucket + "/" + s.Prefix}
	}
	if err != nil {
		return Meta{}, fmt.Errorf("head s3://%s/%s: %w", s.Bucket, key, err)
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
		return Meta{}, fmt.Errorf("get s3://%s/%s.sha256: %w", s.Bucket, key, err)
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
		return nil, fmt.Errorf("get %s: %w", m.URI, err)
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
