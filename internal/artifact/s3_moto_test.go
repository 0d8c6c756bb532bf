package artifact

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/moto"
)

func TestMain(m *testing.M) { moto.Main(m) }

// motoS3 returns a store on moto's S3 in bucket, created first unless
// create is false.
func motoS3(t *testing.T, bucket string, create bool) (*S3, *s3.Client) {
	t.Helper()
	client := s3.NewFromConfig(moto.Shared(t).Config())
	if create {
		if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatalf("create bucket %s in moto: %v", bucket, err)
		}
	}
	return &S3{Client: client, Bucket: bucket}, client
}

// TestS3OnMoto publishes, finds and fetches a release in moto's S3.
func TestS3OnMoto(t *testing.T) {
	ctx := context.Background()
	s, client := motoS3(t, "slipway-moto-artifacts", true)
	data := bytes.Repeat([]byte("bundle bytes "), 1000)

	if _, err := s.Stat(ctx, "demo", "v9"); !isNotFoundErr(err) {
		t.Errorf("Stat(unpublished) = %v, want *NotFoundError", err)
	}
	meta, err := s.Publish(ctx, "demo", "v1", data)
	if err != nil {
		t.Fatalf("Publish = %v", err)
	}
	if meta.URI != "s3://slipway-moto-artifacts/demo/v1.tar.gz" || meta.SHA256 != bundle.SHA256(data) {
		t.Errorf("Publish = %+v, want the bucket's URI and the data's SHA-256", meta)
	}
	got, err := s.Stat(ctx, "demo", "v1")
	if err != nil || got != meta {
		t.Errorf("Stat = %+v, %v; want %+v", got, err, meta)
	}
	b, err := s.Fetch(ctx, got)
	if err != nil || !bytes.Equal(b, data) {
		t.Errorf("Fetch = %d bytes, %v; want the %d published", len(b), err, len(data))
	}

	// A bundle uploaded without the metadata: the .sha256 beside it counts.
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String("demo/v2.tar.gz"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String("demo/v2.tar.gz.sha256"),
		Body: bytes.NewReader([]byte(bundle.SHA256(data) + "  v2.tar.gz\n"))}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Stat(ctx, "demo", "v2"); err != nil || got.SHA256 != bundle.SHA256(data) || got.Size != int64(len(data)) {
		t.Errorf("Stat(no metadata) = %+v, %v; want the sum from the .sha256 object", got, err)
	}
}

// TestS3MissingBucketOnMoto checks, against moto, that a bucket that was
// never created is a *BucketError and not an unpublished release.
func TestS3MissingBucketOnMoto(t *testing.T) {
	ctx := context.Background()
	s, _ := motoS3(t, "slipway-moto-never-created", false)
	tests := []struct {
		name string
		run  func() error
	}{
		{"Stat", func() error { _, err := s.Stat(ctx, "demo", "v1"); return err }},
		{"Publish", func() error { _, err := s.Publish(ctx, "demo", "v1", []byte("b")); return err }},
		{"Fetch", func() error {
			_, err := s.Fetch(ctx, Meta{URI: "s3://slipway-moto-never-created/demo/v1.tar.gz"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			var be *BucketError
			if !errors.As(err, &be) || !be.Missing || be.Bucket != s.Bucket || isNotFoundErr(err) {
				t.Errorf("%s in a missing bucket = %v, want *BucketError{Missing: true} naming %s", tt.name, err, s.Bucket)
			}
		})
	}
}
