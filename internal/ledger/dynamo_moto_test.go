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

// motoTable creates a ledger table in the package's moto server as the
// CDK stack creates it (infra/stack: storage): pk/sk strings, the two
// indexes with projection ALL, on-demand billing, TTL on ttl. Each call
// makes a new table, so every test starts empty.
func motoTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	client := dynamodb.NewFromConfig(moto.Shared(t).Config())
	name := fmt.Sprintf("slipway-ledger-%d", motoTables.Add(1))
	ctx := context.Background()
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(pk, sk string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
		}
	}
	gsi := func(index, pk, sk string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{IndexName: aws.String(index), KeySchema: keys(pk, sk),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}
	}
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			str(ledger.DynamoPartitionKey), str(ledger.DynamoSortKey),
			str(ledger.DynamoGSIByEnvPartitionKey), str(ledger.DynamoGSIByEnvSortKey),
			str(ledger.DynamoGSIByAppPartitionKey), str(ledger.DynamoGSIByAppSortKey),
		},
		KeySchema: keys(ledger.DynamoPartitionKey, ledger.DynamoSortKey),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			gsi(ledger.DynamoGSIByEnv, ledger.DynamoGSIByEnvPartitionKey, ledger.DynamoGSIByEnvSortKey),
			gsi(ledger.DynamoGSIByApp, ledger.DynamoGSIByAppPartitionKey, ledger.DynamoGSIByAppSortKey),
		},
	})
	if err != nil {
		t.Fatalf("create table %s in moto: %v", name, err)
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ledger.DynamoTTLAttribute), Enabled: aws.Bool(true)}})
	if err != nil {
		t.Fatalf("enable TTL on %s in moto: %v", name, err)
	}
	return client, name
}

// TestDynamoConformanceOnMoto runs the ledger's conformance suite on
// DynamoDB as moto implements it.
func TestDynamoConformanceOnMoto(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledgertest.Store {
		t.Helper()
		client, name := motoTable(t)
		return &ledger.Dynamo{Client: client, Table: name}
	})
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
