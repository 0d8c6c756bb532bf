package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

func TestSNSOnTheWire(t *testing.T) {
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ = url.ParseQuery(string(b))
		if form.Get("TopicArn") == "arn:aws:sns:eu-west-1:111111111111:missing" {
			w.WriteHeader(404)
			io.WriteString(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
			return
		}
		io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>`)
	}))
	defer srv.Close()
	client := sns.New(sns.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	s := &SNS{Client: client, TopicARN: "arn:aws:sns:eu-west-1:111111111111:slipway-demo"}
	long := strings.Repeat("ü", 80) // 160 bytes
	err := s.Notify(context.Background(), Message{Subject: long, Body: "v3 rolled back", Attributes: map[string]string{"status": "ROLLED_BACK"}})
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("Action") != "Publish" || form.Get("TopicArn") != s.TopicARN || form.Get("Message") != "v3 rolled back" {
		t.Errorf("request = %v, want a Publish to the topic with the body", form)
	}
	if subj := form.Get("Subject"); len(subj) >= 100 || !isASCII(subj) {
		t.Errorf("Subject = %q (%d bytes), want ASCII under 100 characters", subj, len(subj))
	}
	if form.Get("MessageAttributes.entry.1.Name") != "status" || form.Get("MessageAttributes.entry.1.Value.StringValue") != "ROLLED_BACK" {
		t.Errorf("attributes = %v", form)
	}
	s.TopicARN = "arn:aws:sns:eu-west-1:111111111111:missing"
	if err := s.Notify(context.Background(), Message{Subject: "x", Body: "y"}); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("Notify(missing topic) error = %v, want NotFound", err)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func TestSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"v2 → v3 rolled back", "v2 -> v3 rolled back"},
		{"line\nbreak", "line break"},
		{"déploiement", "d?ploiement"},
	}
	for _, tt := range tests {
		if got := Subject(tt.in); got != tt.want {
			t.Errorf("Subject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
