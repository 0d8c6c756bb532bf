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
	"github.com/google/go-cmp/cmp"

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
	ranges   []string // the Range header of each GET
	// noBucket answers every request as S3 does for a bucket that does
	// not exist; denied as it does for one the caller may not read.
	noBucket, denied bool
}

// s3Error writes S3's error document; a HEAD answer has no body.
func s3Error(w http.ResponseWriter, r *http.Request, status int, code, message, extra string) {
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>`+code+`</Code><Message>`+message+`</Message>`+extra+
		`<RequestId>4442587FB7D0A2F9</RequestId><HostId>n9cQ3kLQ0+5dSZSY0dPR0Fh1VQ9uSe0Z1nPxZbTd4w=</HostId></Error>`)
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	if r.Method == http.MethodGet {
		f.ranges = append(f.ranges, r.Header.Get("Range"))
	}
	key := strings.TrimPrefix(r.URL.Path, "/")
	bucket, _, _ := strings.Cut(key, "/")
	switch {
	case f.noBucket:
		s3Error(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", "<BucketName>"+bucket+"</BucketName>")
		return
	case f.denied:
		s3Error(w, r, http.StatusForbidden, "AccessDenied", "Access Denied", "")
		return
	}
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
			s3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", "<Key>"+strings.TrimPrefix(key, bucket+"/")+"</Key>")
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

// TestS3BucketErrors checks that a missing or forbidden bucket is reported
// as a setting to fix (*BucketError, naming the bucket and
// SLIPWAY_ARTIFACT_BUCKET), never as a release that is not published.
func TestS3BucketErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		noBucket     bool
		denied       bool
		run          func(s *S3) error
		wantMissing  bool
		wantRequests []string
	}{
		{name: "Stat in a missing bucket", noBucket: true, wantMissing: true,
			run: func(s *S3) error { _, err := s.Stat(ctx, "demo", "v1"); return err },
			// HEAD's 404 has no body: a one-byte GET tells the bucket from the key.
			wantRequests: []string{"HEAD /artifacts/demo/v1.tar.gz", "GET /artifacts/demo/v1.tar.gz"}},
		{name: "Stat in a forbidden bucket", denied: true,
			run:          func(s *S3) error { _, err := s.Stat(ctx, "demo", "v1"); return err },
			wantRequests: []string{"HEAD /artifacts/demo/v1.tar.gz"}},
		{name: "Publish to a missing bucket", noBucket: true, wantMissing: true,
			run:          func(s *S3) error { _, err := s.Publish(ctx, "demo", "v1", []byte("b")); return err },
			wantRequests: []string{"PUT /artifacts/demo/v1.tar.gz"}},
		{name: "Publish to a forbidden bucket", denied: true,
			run:          func(s *S3) error { _, err := s.Publish(ctx, "demo", "v1", []byte("b")); return err },
			wantRequests: []string{"PUT /artifacts/demo/v1.tar.gz"}},
		{name: "Fetch from a missing bucket", noBucket: true, wantMissing: true,
			run: func(s *S3) error {
				_, err := s.Fetch(ctx, Meta{URI: "s3://artifacts/demo/v1.tar.gz"})
				return err
			},
			wantRequests: []string{"GET /artifacts/demo/v1.tar.gz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeS3{objects: map[string][]byte{}, meta: map[string]string{}, noBucket: tt.noBucket, denied: tt.denied}
			err := tt.run(newS3(t, fake))
			var be *BucketError
			if !errors.As(err, &be) || be.Bucket != "artifacts" || be.Missing != tt.wantMissing {
				t.Fatalf("%s = %v, want *BucketError{Bucket: artifacts, Missing: %v}", tt.name, err, tt.wantMissing)
			}
			if isNotFoundErr(err) {
				t.Errorf("%s = %v, also a *NotFoundError: a missing bucket is not an unpublished release", tt.name, err)
			}
			for _, want := range []string{`"artifacts"`, "SLIPWAY_ARTIFACT_BUCKET", "ArtifactBucketName"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s = %q, want it to name %s", tt.name, err, want)
				}
			}
			if diff := cmp.Diff(tt.wantRequests, fake.requests); diff != "" {
				t.Errorf("requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestS3StatTellsKeyFromBucket checks that a 404 on a bucket that exists
// is still a release that is not published, and that the GET asking which
// reads one byte, not the bundle.
func TestS3StatTellsKeyFromBucket(t *testing.T) {
	fake := &fakeS3{objects: map[string][]byte{}, meta: map[string]string{}}
	_, err := newS3(t, fake).Stat(context.Background(), "demo", "v9")
	if !isNotFoundErr(err) {
		t.Fatalf("Stat(unpublished) = %v, want *NotFoundError", err)
	}
	var be *BucketError
	if errors.As(err, &be) {
		t.Errorf("Stat(unpublished) = %v, also a *BucketError", err)
	}
	if diff := cmp.Diff([]string{"bytes=0-0"}, fake.ranges); diff != "" {
		t.Errorf("GET Range headers mismatch (-want +got):\n%s", diff)
	}
}

func TestValidVersion(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"v1", true},
		{"v2.0.1_rc-7", true},
		{"3f9a1c2d3f9a1c2d3f9a1c2d3f9a1c2d3f9a1c2d", true},
		{"a" + strings.Repeat("b", 127), true},
		{"a" + strings.Repeat("b", 128), false},
		{"", false},
		{".v1", false},
		{"-v1", false},
		{"v1+build", false},
		{"v1/../x", false},
		{"v 1", false},
		{"é", false},
	}
	for _, tt := range tests {
		if err := ValidVersion(tt.v); (err == nil) != tt.want {
			t.Errorf("ValidVersion(%q) = %v, want valid %t", tt.v, err, tt.want)
		}
	}
}
