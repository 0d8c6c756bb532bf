package backend

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/slipway-deploy/slipway/internal/config"
)

// startMoto starts moto_server, an independent implementation of the AWS
// APIs, on a free port, and returns its endpoint. Without moto_server the
// test is skipped, except in CI, which installs it.
func startMoto(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("moto_server is not installed")
		}
		t.Skip("moto_server is not installed (pip install 'moto[server]')")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAWSDeadLettersOnMoto reads a dead-letter queue as moto keeps it.
func TestAWSDeadLettersOnMoto(t *testing.T) {
	ctx := context.Background()
	client := sqs.New(sqs.Options{Region: "eu-west-1", Credentials: testCreds(), BaseEndpoint: aws.String(startMoto(t)), Retryer: quick()})
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("slipway-shop-dead-letters"),
		Attributes: map[string]string{"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": "1209600"}})
	if err != nil {
		t.Fatal(err)
	}
	read := func(url string) (DeadLetters, error) {
		b, err := NewAWS(AWSSettings{Config: &config.Config{App: "shop"}, Table: "slipway-shop", DeadLetterQueue: url}, AWSClients{SQS: client})
		if err != nil {
			t.Fatal(err)
		}
		return b.DeadLetters(ctx)
	}
	if got, err := read(aws.ToString(q.QueueUrl)); err != nil || got.Waiting != 0 || got.InFlight != 0 {
		t.Errorf("DeadLetters(empty queue) = %+v, %v; want none", got, err)
	}
	for _, body := range []string{`{"source":"slipway.git"}`, `{"requestContext":{"condition":"RetriesExhausted"}}`} {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := read(aws.ToString(q.QueueUrl)); err != nil || got.Waiting != 2 {
		t.Errorf("DeadLetters(two sent) = %+v, %v; want 2 waiting", got, err)
	}
	missing := strings.Replace(aws.ToString(q.QueueUrl), "dead-letters", "nothing-here", 1)
	if _, err := read(missing); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("DeadLetters(no such queue) error = %v, want it to say the queue does not exist", err)
	}
}
