package ledger_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/ledgertest"
)

// checkDeliveries claims, reclaims and releases webhook deliveries: the
// first claim of an id wins, a second (a redelivery) does not, another id
// or another app is its own claim, and a released delivery can be claimed
// again.
func checkDeliveries(t *testing.T, d *ledger.Dynamo) {
	t.Helper()
	ctx := context.Background()
	steps := []struct {
		name, app, id string
		release       bool
		want          bool
	}{
		{name: "first delivery", app: "demo", id: "d-1", want: true},
		{name: "redelivery", app: "demo", id: "d-1", want: false},
		{name: "another delivery", app: "demo", id: "d-2", want: true},
		{name: "same id, another app", app: "shop", id: "d-1", want: true},
		{name: "released", app: "demo", id: "d-1", release: true},
		{name: "claimed again after release", app: "demo", id: "d-1", want: true},
		{name: "and not a third time", app: "demo", id: "d-1", want: false},
	}
	for _, s := range steps {
		if s.release {
			if err := d.ReleaseDelivery(ctx, s.app, "github", s.id); err != nil {
				t.Fatalf("%s: ReleaseDelivery(%s, %s) = %v", s.name, s.app, s.id, err)
			}
			continue
		}
		got, err := d.ClaimDelivery(ctx, s.app, "github", s.id, now)
		if err != nil || got != s.want {
			t.Errorf("%s: ClaimDelivery(%s, %s) = %v, %v; want %v, nil", s.name, s.app, s.id, got, err, s.want)
		}
	}
}

func TestDeliveries(t *testing.T) {
	d, _ := newDynamo(t)
	checkDeliveries(t, d)
}

// TestClaimDeliveryRequest checks the wire: one PutItem of the delivery's
// item with its TTL, on condition that it does not exist yet.
func TestClaimDeliveryRequest(t *testing.T) {
	d, f := newDynamo(t)
	if _, err := d.ClaimDelivery(context.Background(), "demo", "github", "72d3162e-cc78-11e3-81ab-4c9367dc0958", now); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if len(calls) != 1 || calls[0].Op != "PutItem" {
		t.Fatalf("calls = %v, want one PutItem", f.Ops())
	}
	b := body(t, calls[0])
	got := map[string]any{
		"cond":  dig(b, "ConditionExpression"),
		"names": dig(b, "ExpressionAttributeNames"),
		"pk":    dig(b, "Item", "pk"),
		"sk":    dig(b, "Item", "sk"),
		"ttl":   dig(b, "Item", "ttl"),
	}
	want := map[string]any{
		"cond":  "attribute_not_exists(#pk)",
		"names": map[string]any{"#pk": "pk"},
		"pk":    s("DELIVERY#demo#github#72d3162e-cc78-11e3-81ab-4c9367dc0958"),
		"sk":    s("delivery"),
		"ttl":   n(now.Add(ledger.DeliveryRetention).Unix()),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PutItem request (-want +got):\n%s", diff)
	}
}

// TestClaimDeliveryErrors: an error other than the failed condition is
// an error, named, and with the remedy for a missing table; an empty id
// is refused before any call.
func TestClaimDeliveryErrors(t *testing.T) {
	tests := []struct {
		name, id string
		reply    *ledgertest.FakeReply
		wantErr  string
		wantOps  int
	}{
		{name: "no table", id: "d-1", reply: ledgertest.DynamoError("ResourceNotFoundException", "Requested resource not found"),
			wantErr: "claim github delivery d-1 of demo: ledger table \"slipway-ledger\" does not exist", wantOps: 1},
		{name: "validation", id: "d-1", reply: ledgertest.DynamoError("ValidationException", "One or more parameter values were invalid"),
			wantErr: "claim github delivery d-1 of demo: ", wantOps: 1},
		{name: "no id", id: "", wantErr: "no delivery id", wantOps: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f := newDynamo(t)
			f.Intercept(func(ledgertest.FakeCall) *ledgertest.FakeReply { return tt.reply })
			ok, err := d.ClaimDelivery(context.Background(), "demo", "github", tt.id, now)
			if ok || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ClaimDelivery() = %v, %v; want false and an error containing %q", ok, err, tt.wantErr)
			}
			if got := len(f.Calls()); got != tt.wantOps {
				t.Errorf("calls = %d, want %d", got, tt.wantOps)
			}
		})
	}
}
