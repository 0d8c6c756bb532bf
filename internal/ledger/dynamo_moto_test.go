package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/ledgertest"
	"github.com/slipway-deploy/slipway/internal/moto"
)

func TestMain(m *testing.M) { moto.Main(m) }

var motoTables atomic.Int64

// motoTable creates a new ledger table in the package's moto server, as
// the CDK stack creates it, so that every test starts empty.
func motoTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	name := fmt.Sprintf("slipway-ledger-%d", motoTables.Add(1))
	return moto.Shared(t).CreateLedgerTable(t, name), name
}

// TestDynamoConformanceOnMoto runs the ledger's conformance suite on
// DynamoDB as moto implements it. moto does not make a conditional write
// atomic against a concurrent one, so lease contention is checked there
// with calls in sequence (the fake and SQLite check it concurrently).
func TestDynamoConformanceOnMoto(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledgertest.Store {
		t.Helper()
		client, name := motoTable(t)
		return &ledger.Dynamo{Client: client, Table: name}
	}, ledgertest.SerialConditionalWrites())
}

// TestEmptyKeyValues sends requests that bind an empty string to a key
// attribute to the fake and to moto: both must refuse them as DynamoDB
// does, with a ValidationException that names the key.
func TestEmptyKeyValues(t *testing.T) {
	ctx := context.Background()
	requests := []struct {
		name    string
		send    func(c *dynamodb.Client, table string) error
		wantKey string
	}{
		{name: "Query with begins_with an empty prefix", wantKey: "sk", send: func(c *dynamodb.Client, table string) error {
			_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table),
				KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
				ExpressionAttributeNames:  map[string]string{"#pk": "pk", "#sk": "sk"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "APPROVALS#shop#production"}, ":prefix": &types.AttributeValueMemberS{Value: ""}}})
			return err
		}},
		{name: "Query of an empty partition key", wantKey: "pk", send: func(c *dynamodb.Client, table string) error {
			_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table),
				KeyConditionExpression:    aws.String("#pk = :pk"),
				ExpressionAttributeNames:  map[string]string{"#pk": "pk"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: ""}}})
			return err
		}},
		{name: "GetItem with an empty sort key", wantKey: "sk", send: func(c *dynamodb.Client, table string) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "APPROVALS#shop#production"}, "sk": &types.AttributeValueMemberS{Value: ""}}})
			return err
		}},
	}
	motoClient, motoName := motoTable(t)
	fake := ledgertest.NewDynamoFake(t, table)
	servers := []struct {
		name   string
		client *dynamodb.Client
		table  string
	}{
		{"fake", fake.Client(), table},
		{"moto", motoClient, motoName},
	}
	for _, srv := range servers {
		for _, tt := range requests {
			t.Run(srv.name+"/"+tt.name, func(t *testing.T) {
				err := tt.send(srv.client, srv.table)
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" ||
					!strings.Contains(ae.ErrorMessage(), "cannot contain an empty string value. Key: "+tt.wantKey) {
					t.Errorf("%s = %v, want ValidationException: ... cannot contain an empty string value. Key: %s", tt.name, err, tt.wantKey)
				}
			})
		}
	}
}

// TestDeliveriesOnMoto claims and releases webhook deliveries on DynamoDB
// as moto implements it.
func TestDeliveriesOnMoto(t *testing.T) {
	client, name := motoTable(t)
	checkDeliveries(t, &ledger.Dynamo{Client: client, Table: name})
}
