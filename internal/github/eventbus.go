package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/slipway-deploy/slipway/internal/trigger"
)

// PutEventsAPI is the part of *eventbridge.Client that EventBus uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ PutEventsAPI = (*eventbridge.Client)(nil)

// The slipway.git push event, as the push router's rule matches it.
const (
	PushSource     = "slipway.git"
	PushDetailType = "Git Push"
	// DefaultBus is the event bus the stack's push rule listens on.
	DefaultBus = "default"
)

// EventBus puts push events on an EventBridge bus.
type EventBus struct {
	Client PutEventsAPI
	// Bus is the event bus's name; empty means the default bus.
	Bus string
}

// PutPush puts one slipway.git "Git Push" event whose detail is p. An
// entry EventBridge refuses (FailedEntryCount) is an error naming its
// code.
func (b *EventBus) PutPush(ctx context.Context, p trigger.GitPush) error {
	bus := b.Bus
	if bus == "" {
		bus = DefaultBus
	}
	detail, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("put the push event of %s: %w", p.Commit, err)
	}
	out, err := b.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String(PushSource), DetailType: aws.String(PushDetailType), Detail: aws.String(string(detail)), EventBusName: aws.String(bus),
	}}})
	if err != nil {
		var nf *ebtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return fmt.Errorf("put the push event of %s: event bus %q does not exist: %w", p.Commit, bus, err)
		}
		return fmt.Errorf("put the push event of %s: %w", p.Commit, err)
	}
	if out.FailedEntryCount > 0 {
		msg := "no reason given"
		if len(out.Entries) > 0 {
			msg = aws.ToString(out.Entries[0].ErrorCode) + ": " + aws.ToString(out.Entries[0].ErrorMessage)
		}
		return fmt.Errorf("put the push event of %s: EventBridge refused it: %s", p.Commit, msg)
	}
	return nil
}
