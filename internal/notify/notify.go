// Package notify tells people what Slipway did or needs: deployment
// reports and approval requests. On AWS it publishes to the SNS topic (to
// which email, chat or a pager subscribe); in the embedded environment it
// writes to the terminal. Either way the ledger already holds the record:
// a notification is a copy, never the only one.
package notify

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// Message is one notification.
type Message struct {
	// Subject is one line (SNS caps it at 100 characters).
	Subject string
	// Body is the text; Attributes let subscribers filter.
	Body       string
	Attributes map[string]string
}

// SNSAPI is the part of *sns.Client that SNS uses.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ SNSAPI = (*sns.Client)(nil)

// SNS publishes to a topic.
type SNS struct {
	Client   SNSAPI
	TopicARN string
}

// Notify publishes m.
func (s *SNS) Notify(ctx context.Context, m Message) error {
	subject := Subject(m.Subject)
	attrs := map[string]snstypes.MessageAttributeValue{}
	for k, v := range m.Attributes {
		attrs[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	_, err := s.Client.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(s.TopicARN), Subject: aws.String(subject), Message: aws.String(m.Body), MessageAttributes: attrs})
	if err != nil {
		return fmt.Errorf("publish %q to %s: %w", subject, s.TopicARN, err)
	}
	return nil
}

// Subject makes s an SNS subject: ASCII, no line breaks or control
// characters, under 100 characters (SNS rejects anything else).
func Subject(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '→':
			b.WriteString("->")
		case r == '–' || r == '—':
			b.WriteByte('-')
		case r == '…':
			b.WriteString("...")
		case r < ' ' || r == 0x7f:
			b.WriteByte(' ')
		case r > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	if len(out) > 99 {
		out = out[:96] + "..."
	}
	return out
}

// Writer writes notifications to a terminal (the embedded environment).
type Writer struct {
	mu sync.Mutex
	W  io.Writer
}

// Notify writes m.
func (w *Writer) Notify(ctx context.Context, m Message) error {
	if w == nil || w.W == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := fmt.Fprintf(w.W, "\n── %s ──\n%s\n", m.Subject, m.Body)
	return err
}
