package moto

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Subnet is one of moto's default VPC's subnets.
type Subnet struct {
	ID  string `xml:"subnetId"`
	VPC string `xml:"vpcId"`
}

// DefaultSubnets returns the default VPC's subnets on the server cfg
// points at (at least two, as a load balancer needs): asked as EC2's
// DescribeSubnets, signed as EC2 so that moto routes it there; the EC2 SDK
// module is not worth linking for one describe call.
func DefaultSubnets(t testing.TB, cfg aws.Config) []Subnet {
	t.Helper()
	body := url.Values{"Action": {"DescribeSubnets"}, "Version": {"2016-11-15"}}.Encode()
	req, err := http.NewRequest(http.MethodPost, aws.ToString(cfg.BaseEndpoint), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ec2", cfg.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("EC2 DescribeSubnets on moto: %s: %s", resp.Status, b)
	}
	var out struct {
		Items []Subnet `xml:"subnetSet>item"`
	}
	if err := xml.Unmarshal(b, &out); err != nil || len(out.Items) < 2 {
		t.Fatalf("moto's default subnets: %v (%d)", err, len(out.Items))
	}
	return out.Items
}
