package backend

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/config"
)

const deadLetterURL = "https://sqs.eu-west-1.amazonaws.com/111111111111/slipway-shop-dead-letters"

// fakeSQS speaks SQS's JSON 1.0 protocol for GetQueueAttributes: one
// queue, or an answer given.
type fakeSQS struct {
	requests []map[string]any
	targets  []string
	status   int
	answer   string
	header   http.Header
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	json.Unmarshal(raw, &body)
	f.requests = append(f.requests, body)
	f.targets = append(f.targets, r.Header.Get("X-Amz-Target"))
	for k, v := range f.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if f.status != 0 {
		w.WriteHeader(f.status)
	}
	io.WriteString(w, f.answer)
}

func TestAWSDeadLettersOnTheWire(t *testing.T) {
	tests := []struct {
		name    string
		queue   string
		fake    fakeSQS
		want    DeadLetters
		wantErr string
		missing bool
	}{
		{name: "two waiting, one being read", queue: deadLetterURL,
			fake: fakeSQS{answer: `{"Attributes":{"ApproximateNumberOfMessages":"2","ApproximateNumberOfMessagesNotVisible":"1"}}`},
			want: DeadLetters{Queue: deadLetterURL, Waiting: 2, InFlight: 1}},
		{name: "empty", queue: deadLetterURL,
			fake: fakeSQS{answer: `{"Attributes":{"ApproximateNumberOfMessages":"0","ApproximateNumberOfMessagesNotVisible":"0"}}`},
			want: DeadLetters{Queue: deadLetterURL}},
		{name: "no such queue", queue: deadLetterURL,
			fake: fakeSQS{status: 400, header: http.Header{"X-Amzn-Query-Error": {"AWS.SimpleQueueService.NonExistentQueue;Sender"}},
				answer: `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`},
			wantErr: "it does not exist; set SLIPWAY_DEAD_LETTER_QUEUE"},
		{name: "denied", queue: deadLetterURL,
			fake:    fakeSQS{status: 400, answer: `{"__type":"com.amazon.coral.service#AccessDeniedException","message":"not authorized to perform: sqs:GetQueueAttributes"}`},
			wantErr: "sqs:GetQueueAttributes"},
		{name: "not set", missing: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.fake
			srv := httptest.NewServer(&f)
			defer srv.Close()
			b, err := NewAWS(AWSSettings{Config: &config.Config{App: "shop"}, Table: "slipway-shop", DeadLetterQueue: tt.queue},
				AWSClients{SQS: sqs.New(sqs.Options{Region: "eu-west-1", Credentials: testCreds(), BaseEndpoint: aws.String(srv.URL), Retryer: quick()})})
			if err != nil {
				t.Fatal(err)
			}
			got, err := b.DeadLetters(context.Background())
			switch {
			case tt.missing:
				if m, ok := IsMissingSetting(err); !ok || m.Name != EnvDeadLetterQueue || !strings.Contains(m.Hint(), "DeadLetterQueueUrl") {
					t.Errorf("DeadLetters() error = %v, want a missing %s naming the stack's output", err, EnvDeadLetterQueue)
				}
				if len(f.requests) != 0 {
					t.Errorf("requests = %v, want none", f.requests)
				}
				return
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DeadLetters() error = %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("DeadLetters() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); tt.wantErr == "" && diff != "" {
				t.Errorf("DeadLetters() (-want +got):\n%s", diff)
			}
			wantReq := map[string]any{"QueueUrl": deadLetterURL, "AttributeNames": []any{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}}
			if len(f.requests) == 0 || f.targets[0] != "AmazonSQS.GetQueueAttributes" {
				t.Fatalf("requests = %v %v, want AmazonSQS.GetQueueAttributes", f.targets, f.requests)
			}
			if diff := cmp.Diff(wantReq, f.requests[0]); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}
