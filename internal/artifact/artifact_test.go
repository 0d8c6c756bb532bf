package artifact

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-deploy/slipway/internal/bundle"
)

func TestDir(t *testing.T) {
	ctx := context.Background()
	d := &Dir{Root: t.TempDir()}
	if _, err := d.Stat(ctx, "demo", "v1"); !isNotFoundErr(err) {
		t.Errorf("Stat(unpublished) error = %v, want *NotFoundError", err)
	}
	meta, err := d.Publish(ctx, "demo", "v1", []byte("bundle bytes"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Stat(ctx, "demo", "v1")
	if err != nil || got != meta || got.SHA256 != bundle.SHA256([]byte("bundle bytes")) {
		t.Errorf("Stat = %+v, %v; want %+v", got, err, meta)
	}
	b, err := d.Fetch(ctx, got)
	if err != nil || string(b) != "bundle bytes" {
		t.Errorf("Fetch = %q, %v", b, err)
	}
	if _, err := d.Publish(ctx, "demo", "../etc", nil); err == nil {
		t.Errorf("Publish(../etc) succeeded, want a version error")
	}
}

func isNotFoundErr(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// fakeS3 answers the S3 REST API for a few objects, path style.
type fakeS3 struct {
	mu       sync.Mutex
	objects  map[string][]byte
	meta     map[string]string
	requests []string
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	key := strings.TrimPrefix(r.URL.Path, "/")
	switch r.Method {
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		f.objects[key] = b
		if m := r.Header.Get("X-Amz-Meta-Sha256"); m != "" {
			f.meta[key] = m
		}
		w.Header().Set("ETag", `"etag"`)
	case http.MethodHead, http.MethodGet:
		b, ok := f.objects[key]
		if !ok {
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>`+key+`</Key><RequestId>R1</RequestId></Error>`)
			return
		}
		if m, ok := f.meta[key]; ok {
			w.Header().Set("X-Amz-Meta-Sha256", m)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if r.Method == http.MethodGet {
			w.Write(b)
		}
	}
}

func newS3(t *testing.T, h http.Handler) *S3 {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	return &S3{Client: client, Bucket: "artifacts"}
}

func TestS3OnTheWire(t *testing.T) {
	ctx := context.Background()
	fake := &fakeS3{objects: map[string][]byte{}, meta: map[string]string{}}
	s := newS3(t, fake)

	if _, err := s.Stat(ctx, "demo", "v9"); !isNotFoundErr(err) {
		t.Errorf("Stat(unpublished) error = %v, want *NotFoundError", err)
	}
	meta, err := s.Publish(ctx, "demo", "v1", []byte("bundle bytes"))
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if meta.URI != "s3://artifacts/demo/v1.tar.gz" {
		t.Errorf("Publish URI = %q", meta.URI)
	}
	if got := string(fake.objects["artifacts/demo/v1.tar.gz.sha256"]); !strings.HasPrefix(got, meta.SHA256) {
		t.Errorf("checksum object = %q, want it to start with %s", got, meta.SHA256)
	}
	got, err := s.Stat(ctx, "demo", "v1")
	if err != nil || got.SHA256 != meta.SHA256 || got.Size != int64(len("bundle bytes")) {
		t.Errorf("Stat = %+v, %v; want sha %s from the object metadata", got, err, meta.SHA256)
	}

	// Without metadata, the .sha256 object beside the bundle is read.
	delete(fake.meta, "artifacts/demo/v1.tar.gz")
	got, err = s.Stat(ctx, "demo", "v1")
	if err != nil || got.SHA256 != meta.SHA256 {
		t.Errorf("Stat without metadata = %+v, %v; want the sum from the .sha256 object", got, err)
	}
	b, err := s.Fetch(ctx, got)
	if err != nil || string(b) != "bundle bytes" {
		t.Errorf("Fetch = %q, %v", b, err)
	}
	want := []string{"PUT /artifacts/demo/v1.tar.gz", "PUT /artifacts/demo/v1.tar.gz.sha256"}
	for _, w := range want {
		found := false
		for _, r := range fake.requests {
			found = found || r == w
		}
		if !found {
			t.Errorf("requests %v lack %q", fake.requests, w)
		}
	}
}
