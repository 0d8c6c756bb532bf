package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/ledgertest"
)

const table = "slipway-ledger"

var now = time.Date(2025, 3, 14, 9, 26, 53, 500_000_000, time.UTC)

func TestDynamoConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledgertest.Store {
		t.Helper()
		f := ledgertest.NewDynamoFake(t, table)
		f.PageSize = 2 // every read of more than two items spans pages
		return &ledger.Dynamo{Client: f.Client(), Table: table}
	})
}

// newDynamo returns a ledger on a fresh fake table.
func newDynamo(t *testing.T) (*ledger.Dynamo, *ledgertest.DynamoFake) {
	t.Helper()
	f := ledgertest.NewDynamoFake(t, table)
	return &ledger.Dynamo{Client: f.Client(), Table: table}, f
}

// body decodes a request body.
func body(t *testing.T, c ledgertest.FakeCall) map[string]any {
	t.Helper()
	var m map[string]any
	if err := c.Decode(&m); err != nil {
		t.Fatalf("decode %s request: %v", c.Op, err)
	}
	return m
}

// dig returns the value at path in a decoded JSON document, nil if absent.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func s(v string) map[string]any { return map[string]any{"S": v} }
func n(v int64) map[string]any  { return map[string]any{"N": fmt.Sprint(v)} }

func deployment(id, env string, started time.Time) ledger.Deployment {
	return ledger.Deployment{ID: id, App: "shop", Environment: env, Version: "v1", Kind: "deploy", Status: "RUNNING",
		StartedAt: started, SchemaBefore: -1, SchemaAfter: -1}
}

// TestDynamoRequests checks what each method sends: operations, keys,
// conditions, index and direction.
func TestDynamoRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		setup   func(d *ledger.Dynamo) error
		run     func(d *ledger.Dynamo) error
		wantOps []string
		check   func(t *testing.T, calls []ledgertest.FakeCall)
	}{
		{
			name:    "PutDeployment writes the item with index keys",
			run:     func(d *ledger.Dynamo) error { return d.PutDeployment(ctx, deployment("dep-1", "staging", now)) },
			wantOps: []string{"PutItem"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				b := body(t, calls[0])
				item := dig(b, "Item").(map[string]any)
				got := map[string]any{"TableName": b["TableName"], "pk": item["pk"], "sk": item["sk"],
					"gsi1pk": item["gsi1pk"], "gsi1sk": item["gsi1sk"], "gsi2pk": item["gsi2pk"], "gsi2sk": item["gsi2sk"],
					"condition": b["ConditionExpression"]}
				want := map[string]any{"TableName": table, "pk": s("DEP#dep-1"), "sk": s("META"),
					"gsi1pk": s("ENV#shop#staging"), "gsi1sk": s("2025-03-14T09:26:53.500000000Z#dep-1"),
					"gsi2pk": s("APP#shop"), "gsi2sk": s("2025-03-14T09:26:53.500000000Z#dep-1"), "condition": nil}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("PutItem request mismatch (-want +got):\n%s", diff)
				}
				if dig(item, "rev", "S") == nil {
					t.Errorf("PutItem item has no rev attribute: %v", item)
				}
			},
		},
		{
			name:    "GetDeployment reads consistently",
			run:     func(d *ledger.Dynamo) error { _, err := d.GetDeployment(ctx, "dep-1"); return err },
			wantOps: []string{"GetItem"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				b := body(t, calls[0])
				want := map[string]any{"TableName": table, "Key": map[string]any{"pk": s("DEP#dep-1"), "sk": s("META")}, "ConsistentRead": true}
				if diff := cmp.Diff(want, b); diff != "" {
					t.Errorf("GetItem request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "UpdateDeployment writes on condition of the revision it read",
			run: func(d *ledger.Dynamo) error {
				_, err := d.UpdateDeployment(ctx, "dep-1", func(*ledger.Deployment) error { return nil })
				return err
			},
			wantOps: []string{"GetItem", "PutItem"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				b := body(t, calls[1])
				if got := b["ConditionExpression"]; got != "#rev = :rev" {
					t.Errorf("PutItem ConditionExpression = %v, want #rev = :rev", got)
				}
				if dig(b, "ExpressionAttributeValues", ":rev", "S") == nil {
					t.Errorf("PutItem has no :rev value: %v", b)
				}
			},
		},
		{
			name:    "ListDeployments of an environment queries by_env newest first",
			run:     func(d *ledger.Dynamo) error { _, err := d.ListDeployments(ctx, "shop", "staging", 5); return err },
			wantOps: []string{"Query"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				b := body(t, calls[0])
				got := map[string]any{"IndexName": b["IndexName"], "ScanIndexForward": b["ScanIndexForward"], "Limit": b["Limit"],
					"ConsistentRead": b["ConsistentRead"], "pk": dig(b, "ExpressionAttributeValues", ":pk"),
					"name": dig(b, "ExpressionAttributeNames", "#pk")}
				want := map[string]any{"IndexName": "by_env", "ScanIndexForward": false, "Limit": 5.0, "ConsistentRead": nil,
					"pk": s("ENV#shop#staging"), "name": "gsi1pk"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Query request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:    "ListDeployments of every environment queries by_app",
			run:     func(d *ledger.Dynamo) error { _, err := d.ListDeployments(ctx, "shop", "", 0); return err },
			wantOps: []string{"Query"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				b := body(t, calls[0])
				got := map[string]any{"IndexName": b["IndexName"], "ScanIndexForward": b["ScanIndexForward"], "Limit": b["Limit"],
					"pk": dig(b, "ExpressionAttributeValues", ":pk"), "name": dig(b, "ExpressionAttributeNames", "#pk")}
				want := map[string]any{"IndexName": "by_app", "ScanIndexForward": false, "Limit": nil, "pk": s("APP#shop"), "name": "gsi2pk"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Query request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "AddStep takes a number from the counter item, then writes the step",
			run: func(d *ledger.Dynamo) error {
				return d.AddStep(ctx, ledger.Step{DeploymentID: "dep-1", Stage: "lock", Status: "ok", Message: "m", At: now})
			},
			wantOps: []string{"UpdateItem", "PutItem"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				u, p := body(t, calls[0]), body(t, calls[1])
				got := map[string]any{"counter key": u["Key"], "update": u["UpdateExpression"], "returns": u["ReturnValues"],
					"step sk": dig(p, "Item", "sk"), "seq": dig(p, "Item", "seq"), "condition": p["ConditionExpression"]}
				want := map[string]any{"counter key": map[string]any{"pk": s("DEP#dep-1"), "sk": s("SEQ")}, "update": "ADD #n :n",
					"returns": "UPDATED_NEW", "step sk": s("STEP#0000000001"), "seq": n(1), "condition": "attribute_not_exists(#pk)"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("AddStep requests mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "AcquireLease is one transaction: check the freeze, put the lease on condition",
			run: func(d *ledger.Dynamo) error {
				_, err := d.AcquireLease(ctx, "shop", "production", "exec-1", "dep-1", 90*time.Second, now)
				return err
			},
			wantOps: []string{"TransactWriteItems"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				b := body(t, calls[0])
				got := map[string]any{
					"check key":       dig(b, "TransactItems", 0, "ConditionCheck", "Key"),
					"check condition": dig(b, "TransactItems", 0, "ConditionCheck", "ConditionExpression"),
					"put key":         []any{dig(b, "TransactItems", 1, "Put", "Item", "pk"), dig(b, "TransactItems", 1, "Put", "Item", "sk")},
					"put condition":   dig(b, "TransactItems", 1, "Put", "ConditionExpression"),
					"now":             dig(b, "TransactItems", 1, "Put", "ExpressionAttributeValues", ":now"),
					"expires_at":      dig(b, "TransactItems", 1, "Put", "Item", "expires_at"),
					"ttl":             dig(b, "TransactItems", 1, "Put", "Item", "ttl"),
					"old on failure":  dig(b, "TransactItems", 1, "Put", "ReturnValuesOnConditionCheckFailure"),
				}
				want := map[string]any{
					"check key":       map[string]any{"pk": s("LOCK#shop#production"), "sk": s("manual")},
					"check condition": "attribute_not_exists(#pk)",
					"put key":         []any{s("LOCK#shop#production"), s("lease")},
					"put condition":   "attribute_not_exists(#pk) OR #owner = :owner OR #expires <= :now",
					"now":             n(now.UnixNano()),
					"expires_at":      n(now.Add(90 * time.Second).UnixNano()),
					"ttl":             n(now.Add(90*time.Second).Unix() + 1), // rounded up
					"old on failure":  "ALL_OLD",
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("TransactWriteItems request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "ReleaseLease deletes on condition of the owner",
			run: func(d *ledger.Dynamo) error {
				_, err := d.ReleaseLease(ctx, "shop", "production", "exec-1")
				return err
			},
			wantOps: []string{"DeleteItem"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				b := body(t, calls[0])
				got := map[string]any{"key": b["Key"], "condition": b["ConditionExpression"], "owner": dig(b, "ExpressionAttributeValues", ":owner")}
				want := map[string]any{"key": map[string]any{"pk": s("LOCK#shop#production"), "sk": s("lease")},
					"condition": "#owner = :owner", "owner": s("exec-1")}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("DeleteItem request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			// DynamoDB rejects "" bound to a key attribute, begins_with's
			// prefix included: the whole partition is read with no sort
			// key condition.
			name:    "Approvals queries the environment's partition with no sort key condition",
			run:     func(d *ledger.Dynamo) error { _, err := d.Approvals(ctx, "shop", "production"); return err },
			wantOps: []string{"Query"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				b := body(t, calls[0])
				got := map[string]any{"condition": b["KeyConditionExpression"], "names": b["ExpressionAttributeNames"],
					"values": b["ExpressionAttributeValues"], "ConsistentRead": b["ConsistentRead"]}
				want := map[string]any{"condition": "#pk = :pk", "names": map[string]any{"#pk": "pk"},
					"values": map[string]any{":pk": s("APPROVALS#shop#production")}, "ConsistentRead": true}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Query request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:    "Steps queries the deployment's partition by the step prefix",
			run:     func(d *ledger.Dynamo) error { _, err := d.Steps(ctx, "dep-1"); return err },
			wantOps: []string{"Query"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				b := body(t, calls[0])
				got := map[string]any{"condition": b["KeyConditionExpression"], "values": b["ExpressionAttributeValues"]}
				want := map[string]any{"condition": "#pk = :pk AND begins_with(#sk, :prefix)",
					"values": map[string]any{":pk": s("DEP#dep-1"), ":prefix": s("STEP#")}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Query request mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:    "Unfreeze deletes the manual item and asks for it back",
			setup:   func(d *ledger.Dynamo) error { return d.Freeze(ctx, "shop", "production", "grace", "hold", now) },
			run:     func(d *ledger.Dynamo) error { _, err := d.Unfreeze(ctx, "shop", "production"); return err },
			wantOps: []string{"DeleteItem"},
			check: func(t *testing.T, calls []ledgertest.FakeCall) {
				b := body(t, calls[0])
				got := map[string]any{"key": b["Key"], "returns": b["ReturnValues"]}
				want := map[string]any{"key": map[string]any{"pk": s("LOCK#shop#production"), "sk": s("manual")}, "returns": "ALL_OLD"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("DeleteItem request mismatch (-want +got):\n%s", diff)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f := newDynamo(t)
			if err := d.PutDeployment(ctx, deployment("dep-1", "staging", now)); err != nil {
				t.Fatalf("PutDeployment = %v", err)
			}
			if tt.setup != nil {
				if err := tt.setup(d); err != nil {
					t.Fatalf("setup = %v", err)
				}
			}
			f.ResetCalls()
			if err := tt.run(d); err != nil {
				t.Fatalf("run = %v", err)
			}
			calls := f.Calls()
			if diff := cmp.Diff(tt.wantOps, f.Ops()); diff != "" {
				t.Fatalf("operations mismatch (-want +got):\n%s", diff)
			}
			for _, c := range calls {
				if got := c.Header.Get("X-Amz-Target"); got != "DynamoDB_20120810."+c.Op {
					t.Errorf("X-Amz-Target = %q, want DynamoDB_20120810.%s", got, c.Op)
				}
			}
			tt.check(t, calls)
		})
	}
}

// TestDynamoResponses feeds the adapter real response shapes.
func TestDynamoResponses(t *testing.T) {
	ctx := context.Background()

	t.Run("GetItem item decodes", func(t *testing.T) {
		d, f := newDynamo(t)
		f.Intercept(func(c ledgertest.FakeCall) *ledgertest.FakeReply {
			return &ledgertest.FakeReply{Status: 200, Body: `{"Item":{
				"pk":{"S":"DEP#dep-7"},"sk":{"S":"META"},"id":{"S":"dep-7"},"app":{"S":"shop"},"environment":{"S":"production"},
				"version":{"S":"v9"},"kind":{"S":"rollback"},"status":{"S":"SUCCEEDED"},
				"trigger":{"S":"{\"source\":\"alarm\",\"alarm\":\"shop-5xx\"}"},
				"started_at":{"S":"2025-03-14T09:26:53.5Z"},"schema_before":{"N":"-1"},"schema_after":{"N":"12"},
				"report":{"S":"{\"ok\":true}"},"rev":{"S":"R1"}}}`}
		})
		got, err := d.GetDeployment(ctx, "dep-7")
		if err != nil {
			t.Fatalf("GetDeployment = %v", err)
		}
		want := ledger.Deployment{ID: "dep-7", App: "shop", Environment: "production", Version: "v9", Kind: "rollback",
			Status: "SUCCEEDED", StartedAt: now, SchemaBefore: -1, SchemaAfter: 12, Report: []byte(`{"ok":true}`)}
		want.Trigger.Source, want.Trigger.Alarm = "alarm", "shop-5xx"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetDeployment mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("GetItem without an item is ErrNotFound", func(t *testing.T) {
		d, f := newDynamo(t)
		f.Intercept(func(ledgertest.FakeCall) *ledgertest.FakeReply { return &ledgertest.FakeReply{Status: 200, Body: `{}`} })
		if _, err := d.GetDeployment(ctx, "dep-7"); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("GetDeployment = %v, want ErrNotFound", err)
		}
	})

	t.Run("Query pages follow LastEvaluatedKey", func(t *testing.T) {
		d, f := newDynamo(t)
		item := func(id string) string {
			return fmt.Sprintf(`{"pk":{"S":"DEP#%[1]s"},"sk":{"S":"META"},"id":{"S":"%[1]s"},"app":{"S":"shop"},"environment":{"S":"staging"},"schema_before":{"N":"-1"},"schema_after":{"N":"-1"}}`, id)
		}
		lek := func(id string) string {
			return fmt.Sprintf(`{"pk":{"S":"DEP#%[1]s"},"sk":{"S":"META"},"gsi1pk":{"S":"ENV#shop#staging"},"gsi1sk":{"S":"x#%[1]s"}}`, id)
		}
		pages := []string{
			`{"Count":2,"ScannedCount":2,"Items":[` + item("c") + `,` + item("b") + `],"LastEvaluatedKey":` + lek("b") + `}`,
			`{"Count":1,"ScannedCount":1,"Items":[` + item("a") + `],"LastEvaluatedKey":` + lek("a") + `}`,
			`{"Count":0,"ScannedCount":0,"Items":[]}`,
		}
		var starts []any
		f.Intercept(func(c ledgertest.FakeCall) *ledgertest.FakeReply {
			var b map[string]any
			_ = c.Decode(&b)
			starts = append(starts, dig(b, "ExclusiveStartKey", "gsi1sk", "S"))
			return &ledgertest.FakeReply{Status: 200, Body: pages[len(starts)-1]}
		})
		got, err := d.ListDeployments(ctx, "shop", "staging", 0)
		if err != nil {
			t.Fatalf("ListDeployments = %v", err)
		}
		var ids []string
		for _, dep := range got {
			ids = append(ids, dep.ID)
		}
		if diff := cmp.Diff([]string{"c", "b", "a"}, ids); diff != "" {
			t.Errorf("ListDeployments IDs mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]any{nil, "x#b", "x#a"}, starts); diff != "" {
			t.Errorf("ExclusiveStartKey per page mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("a limit stops paging", func(t *testing.T) {
		d, f := newDynamo(t)
		f.PageSize = 1
		for i := range 5 {
			if err := d.PutDeployment(ctx, deployment(fmt.Sprint("dep-", i), "staging", now.Add(time.Duration(i)*time.Second))); err != nil {
				t.Fatalf("PutDeployment = %v", err)
			}
		}
		f.ResetCalls()
		got, err := d.ListDeployments(ctx, "shop", "staging", 2)
		if err != nil || len(got) != 2 || got[0].ID != "dep-4" || got[1].ID != "dep-3" {
			t.Fatalf("ListDeployments(limit 2) = %+v, %v, want dep-4, dep-3", got, err)
		}
		if diff := cmp.Diff([]string{"Query", "Query"}, f.Ops()); diff != "" {
			t.Errorf("operations mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ConditionalCheckFailed on release means not held", func(t *testing.T) {
		d, f := newDynamo(t)
		f.Intercept(func(ledgertest.FakeCall) *ledgertest.FakeReply {
			return &ledgertest.FakeReply{Status: 400, Body: `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`}
		})
		got, err := d.ReleaseLease(ctx, "shop", "production", "exec-2")
		if err != nil || got {
			t.Errorf("ReleaseLease = %v, %v, want false, nil", got, err)
		}
	})

	t.Run("TransactionCanceled names the holder from the reason's item", func(t *testing.T) {
		d, f := newDynamo(t)
		f.Intercept(func(c ledgertest.FakeCall) *ledgertest.FakeReply {
			if c.Op != "TransactWriteItems" {
				return nil
			}
			return &ledgertest.FakeReply{Status: 400, Body: `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
				"CancellationReasons":[{"Code":"None"},{"Code":"ConditionalCheckFailed","Message":"The conditional request failed",
				"Item":{"pk":{"S":"LOCK#shop#production"},"sk":{"S":"lease"},"app":{"S":"shop"},"environment":{"S":"production"},
				"kind":{"S":"lease"},"owner":{"S":"exec-1"},"deployment_id":{"S":"dep-1"},"acquired_at":{"S":"2025-03-14T09:26:53.5Z"},
				"expires_at":{"N":"` + fmt.Sprint(now.Add(time.Hour).UnixNano()) + `"},"ttl":{"N":"1741948013"}}}],
				"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"}`}
		})
		_, err := d.AcquireLease(ctx, "shop", "production", "exec-2", "dep-2", time.Hour, now)
		var held *ledger.HeldError
		if !errors.As(err, &held) {
			t.Fatalf("AcquireLease = %v, want *HeldError", err)
		}
		want := ledger.Lock{App: "shop", Environment: "production", Kind: "lease", Owner: "exec-1", DeploymentID: "dep-1",
			AcquiredAt: now, ExpiresAt: now.Add(time.Hour)}
		if diff := cmp.Diff(want, held.Lock); diff != "" {
			t.Errorf("HeldError.Lock mismatch (-want +got):\n%s", diff)
		}
		if !strings.Contains(err.Error(), "exec-1") {
			t.Errorf("AcquireLease error %q does not name the holder exec-1", err)
		}
		if diff := cmp.Diff([]string{"TransactWriteItems"}, f.Ops()); diff != "" {
			t.Errorf("operations mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("TransactionCanceled without items reads the holder", func(t *testing.T) {
		d, f := newDynamo(t)
		if err := d.Freeze(ctx, "shop", "production", "grace", "quarter end", now); err != nil {
			t.Fatalf("Freeze = %v", err)
		}
		f.ResetCalls()
		f.Intercept(func(c ledgertest.FakeCall) *ledgertest.FakeReply {
			if c.Op != "TransactWriteItems" {
				return nil
			}
			return &ledgertest.FakeReply{Status: 400, Body: `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
				"CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"},{"Code":"None"}],
				"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]"}`}
		})
		_, err := d.AcquireLease(ctx, "shop", "production", "exec-2", "dep-2", time.Hour, now)
		var held *ledger.HeldError
		if !errors.As(err, &held) || held.Lock.Kind != ledger.LockManual || held.Lock.Owner != "grace" {
			t.Fatalf("AcquireLease = %v, want *HeldError naming grace's freeze", err)
		}
		if diff := cmp.Diff([]string{"TransactWriteItems", "Query"}, f.Ops()); diff != "" {
			t.Errorf("operations mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("a transaction conflict is retried", func(t *testing.T) {
		d, f := newDynamo(t)
		conflicts := 0
		f.Intercept(func(c ledgertest.FakeCall) *ledgertest.FakeReply {
			if c.Op != "TransactWriteItems" || conflicts == 2 {
				return nil
			}
			conflicts++
			return &ledgertest.FakeReply{Status: 400, Body: `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
				"CancellationReasons":[{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}],
				"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]"}`}
		})
		l, err := d.AcquireLease(ctx, "shop", "production", "exec-1", "dep-1", time.Hour, now)
		if err != nil || l.Owner != "exec-1" {
			t.Fatalf("AcquireLease = %+v, %v, want exec-1's lease", l, err)
		}
		if diff := cmp.Diff([]string{"TransactWriteItems", "TransactWriteItems", "TransactWriteItems"}, f.Ops()); diff != "" {
			t.Errorf("operations mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("UpdateDeployment retries when someone wrote in between", func(t *testing.T) {
		d, f := newDynamo(t)
		if err := d.PutDeployment(ctx, deployment("dep-1", "staging", now)); err != nil {
			t.Fatalf("PutDeployment = %v", err)
		}
		f.ResetCalls()
		failed := false
		f.Intercept(func(c ledgertest.FakeCall) *ledgertest.FakeReply {
			if c.Op == "PutItem" && !failed {
				failed = true
				return ledgertest.DynamoError("ConditionalCheckFailedException", "The conditional request failed")
			}
			return nil
		})
		calls := 0
		got, err := d.UpdateDeployment(ctx, "dep-1", func(dep *ledger.Deployment) error {
			calls++
			dep.Status = "SUCCEEDED"
			return nil
		})
		if err != nil || got.Status != "SUCCEEDED" || calls != 2 {
			t.Fatalf("UpdateDeployment = %+v, %v with fn called %d times, want SUCCEEDED after 2", got, err, calls)
		}
		if diff := cmp.Diff([]string{"GetItem", "PutItem", "GetItem", "PutItem"}, f.Ops()); diff != "" {
			t.Errorf("operations mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("UpdateDeployment gives up on endless conflicts", func(t *testing.T) {
		d, f := newDynamo(t)
		if err := d.PutDeployment(ctx, deployment("dep-1", "staging", now)); err != nil {
			t.Fatalf("PutDeployment = %v", err)
		}
		f.Intercept(func(c ledgertest.FakeCall) *ledgertest.FakeReply {
			if c.Op == "PutItem" {
				return ledgertest.DynamoError("ConditionalCheckFailedException", "The conditional request failed")
			}
			return nil
		})
		_, err := d.UpdateDeployment(ctx, "dep-1", func(*ledger.Deployment) error { return nil })
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			t.Errorf("UpdateDeployment = %v, want a wrapped ConditionalCheckFailedException", err)
		}
	})

	t.Run("UnprocessedItems are sent again", func(t *testing.T) {
		d, f := newDynamo(t)
		var results []ledger.InstanceResult
		for i := range 30 {
			results = append(results, ledger.InstanceResult{DeploymentID: "dep-1", CommandID: "cmd-1", InstanceID: fmt.Sprintf("i-%02d", i), Status: "Success"})
		}
		f.LeaveUnprocessed(5)
		if err := d.PutInstanceResults(ctx, results); err != nil {
			t.Fatalf("PutInstanceResults = %v", err)
		}
		var sizes []int
		for _, c := range f.Calls() {
			if c.Op == "BatchWriteItem" {
				b := body(t, c)
				sizes = append(sizes, len(dig(b, "RequestItems", table).([]any)))
			}
		}
		if diff := cmp.Diff([]int{25, 5, 5}, sizes); diff != "" {
			t.Errorf("BatchWriteItem sizes mismatch (-want +got):\n%s", diff)
		}
		got, err := d.InstanceResults(ctx, "dep-1")
		if err != nil {
			t.Fatalf("InstanceResults = %v", err)
		}
		if diff := cmp.Diff(results, got); diff != "" {
			t.Errorf("InstanceResults mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestDynamoErrors checks throttling, a missing table and other failures.
func TestDynamoErrors(t *testing.T) {
	ctx := context.Background()
	throttle := func(code string, times int) func(ledgertest.FakeCall) *ledgertest.FakeReply {
		n := 0
		return func(c ledgertest.FakeCall) *ledgertest.FakeReply {
			if n >= times {
				return nil
			}
			n++
			return ledgertest.DynamoError(code, "Rate of requests exceeds the allowed throughput.")
		}
	}
	tests := []struct {
		name      string
		table     string
		intercept func(ledgertest.FakeCall) *ledgertest.FakeReply
		run       func(d *ledger.Dynamo) error
		wantCalls int
		wantErr   func(error) bool
		wantText  []string
	}{
		{
			name:      "ProvisionedThroughputExceeded once is retried",
			intercept: throttle("ProvisionedThroughputExceededException", 1),
			run:       func(d *ledger.Dynamo) error { return d.PutDeployment(ctx, deployment("dep-1", "staging", now)) },
			wantCalls: 2,
		},
		{
			name:      "ThrottlingException once is retried",
			intercept: throttle("ThrottlingException", 1),
			run:       func(d *ledger.Dynamo) error { _, err := d.Locks(ctx, "shop", "staging"); return err },
			wantCalls: 2,
		},
		{
			name:      "throttling that does not stop surfaces after the SDK's attempts",
			intercept: throttle("ProvisionedThroughputExceededException", 100),
			run:       func(d *ledger.Dynamo) error { _, err := d.GetDeployment(ctx, "dep-1"); return err },
			wantCalls: 4,
			wantErr: func(err error) bool {
				var e *types.ProvisionedThroughputExceededException
				return errors.As(err, &e)
			},
			wantText: []string{"get deployment dep-1"},
		},
		{
			name:  "a missing table says to deploy the stack",
			table: "no-such-table",
			run: func(d *ledger.Dynamo) error {
				_, err := d.AcquireLease(ctx, "shop", "staging", "o", "d", time.Minute, now)
				return err
			},
			wantCalls: 1,
			wantErr: func(err error) bool {
				var e *types.ResourceNotFoundException
				return errors.As(err, &e)
			},
			wantText: []string{`"no-such-table"`, "deploy the Slipway stack", "acquire lease on shop/staging"},
		},
		{
			name:  "a missing table on a batch write",
			table: "no-such-table",
			run: func(d *ledger.Dynamo) error {
				return d.PutInstanceResults(ctx, []ledger.InstanceResult{{DeploymentID: "x"}})
			},
			wantCalls: 1, // the counter update fails first
			wantErr: func(err error) bool {
				var e *types.ResourceNotFoundException
				return errors.As(err, &e)
			},
			wantText: []string{"deploy the Slipway stack"},
		},
		{
			name: "a validation error is not retried",
			intercept: func(ledgertest.FakeCall) *ledgertest.FakeReply {
				return ledgertest.DynamoError("ValidationException", "Item size has exceeded the maximum allowed size")
			},
			run:       func(d *ledger.Dynamo) error { return d.Freeze(ctx, "shop", "staging", "o", "m", now) },
			wantCalls: 1,
			wantErr:   func(err error) bool { return err != nil },
			wantText:  []string{"freeze shop/staging", "Item size"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ledgertest.NewDynamoFake(t, table)
			d := &ledger.Dynamo{Client: f.Client(), Table: table}
			if tt.table != "" {
				d.Table = tt.table
			}
			f.Intercept(tt.intercept)
			err := tt.run(d)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("run = %v, want success", err)
			}
			if tt.wantErr != nil && !tt.wantErr(err) {
				t.Fatalf("run = %v (%T), not the error wanted", err, errors.Unwrap(err))
			}
			for _, s := range tt.wantText {
				if !strings.Contains(fmt.Sprint(err), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if got := len(f.Calls()); got != tt.wantCalls {
				t.Errorf("requests = %d (%v), want %d", got, f.Ops(), tt.wantCalls)
			}
		})
	}
}
