package moto_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-deploy/slipway/internal/moto"
)

func TestMain(m *testing.M) { moto.Main(m) }

// TestStartAnswersAndStops starts a server of its own, calls it through
// the SDK with Config, and checks that Stop ends it.
func TestStartAnswersAndStops(t *testing.T) {
	srv := moto.Start(t)
	ctx := context.Background()
	client := s3.NewFromConfig(srv.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("harness-check")}); err != nil {
		t.Fatalf("CreateBucket on moto = %v", err)
	}
	out, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != "harness-check" {
		t.Fatalf("ListBuckets on moto = %+v, %v; want harness-check", out, err)
	}
	srv.Stop()
	c := &http.Client{Timeout: time.Second}
	if resp, err := c.Get(srv.URL + "/moto-api/"); err == nil {
		resp.Body.Close()
		t.Errorf("GET %s after Stop answered %s, want no server", srv.URL, resp.Status)
	}
}

// TestSharedIsOnePerBinary checks that Shared returns the same server.
func TestSharedIsOnePerBinary(t *testing.T) {
	a, b := moto.Shared(t), moto.Shared(t)
	if a != b || a.URL == "" {
		t.Errorf("Shared() = %p (%s), then %p; want one server", a, a.URL, b)
	}
	if cfg := a.Config(); cfg.Region != moto.Region || aws.ToString(cfg.BaseEndpoint) != a.URL {
		t.Errorf("Config() = region %q, endpoint %q; want %s and %s", cfg.Region, aws.ToString(cfg.BaseEndpoint), moto.Region, a.URL)
	}
}
