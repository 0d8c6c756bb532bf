package moto

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/slipway-deploy/slipway/internal/ledger"
)

// CreateLedgerTable creates the ledger table name in the server as the CDK
// stack creates it (infra/stack, storage): pk and sk strings, the indexes
// by_env and by_app with projection ALL, on-demand billing, TTL on ttl,
// all named by the constants of internal/ledger/dynamo.go.
func (s *Server) CreateLedgerTable(t testing.TB, name string) *dynamodb.Client {
	t.Helper()
	client := dynamodb.NewFromConfig(s.Config())
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
	return client
}
