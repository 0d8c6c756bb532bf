package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/slipway-deploy/slipway/internal/moto"
)

func TestMain(m *testing.M) { moto.Main(m) }

// TestSNSOnMoto publishes to a topic in moto and reads what an HTTP
// subscriber of the topic receives: the subject and the body, as SNS
// delivers them. moto 5.2.1 leaves MessageAttributes out of HTTP
// deliveries (SNS puts them in), so the attributes are checked only on the
// wire, in TestSNSOnTheWire.
func TestSNSOnMoto(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var got []map[string]any
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		mu.Lock()
		if m["Type"] == "Notification" {
			got = append(got, m)
		}
		mu.Unlock()
	}))
	defer sub.Close()
	client := sns.NewFromConfig(moto.Shared(t).Config())
	topic, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("slipway-moto-notify")})
	if err != nil {
		t.Fatalf("create topic in moto: %v", err)
	}
	if _, err := client.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(sub.URL)}); err != nil {
		t.Fatalf("subscribe in moto: %v", err)
	}
	s := &SNS{Client: client, TopicARN: aws.ToString(topic.TopicArn)}
	subject := "production: v3 → v4 " + strings.Repeat("é", 120) // not ASCII, too long
	if err := s.Notify(ctx, Message{Subject: subject, Body: "v4 succeeded", Attributes: map[string]string{"status": "SUCCEEDED"}}); err != nil {
		t.Fatalf("Notify = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("the subscriber received %d notifications, want 1", len(got))
	}
	n := got[0]
	if n["Message"] != "v4 succeeded" || n["Subject"] != Subject(subject) || n["TopicArn"] != s.TopicARN {
		t.Errorf("delivered %v, want the body and subject %q", n, Subject(subject))
	}

	s.TopicARN = "arn:aws:sns:us-east-1:" + moto.AccountID + ":slipway-moto-missing"
	err = s.Notify(ctx, Message{Subject: "x", Body: "y"})
	var nf *snstypes.NotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), s.TopicARN) {
		t.Errorf("Notify(missing topic) = %v, want *NotFoundException naming the topic", err)
	}
}
