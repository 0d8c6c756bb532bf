package fleet_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/moto"
)

// hostDocument has the parameters of the stack's host-script document
// (infra/stack), for moto to accept commands that name them.
const hostDocument = `{"schemaVersion":"2.2","description":"slipway host script (moto test)",
"parameters":{"action":{"type":"String"},"version":{"type":"String","default":""},"artifactKey":{"type":"String","default":""},
"sha256":{"type":"String","default":""},"deploymentId":{"type":"String","default":""},"keep":{"type":"String","default":""},
"executionTimeout":{"type":"String","default":"600"}},
"mainSteps":[{"action":"aws:runShellScript","name":"run","inputs":{"runCommand":["true"]}}]}`

// TestSSMSendOnMoto sends an activation through SSM Run Command as moto
// implements it and reads the command back with ListCommands. Only Send is
// tested here: moto 5.2.1 has no DescribeInstanceInformation or
// ListCommandInvocations (see TestSSMInstances). The fleet package's
// TestMain is the embedded fleet's, so this test starts a moto of its own.
func TestSSMSendOnMoto(t *testing.T) {
	ctx := context.Background()
	client := ssm.NewFromConfig(moto.Start(t).Config())
	if _, err := client.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("slipway-shop-host"), Content: aws.String(hostDocument),
		DocumentType: types.DocumentTypeCommand, DocumentFormat: types.DocumentFormatJson}); err != nil {
		t.Fatalf("create document in moto: %v", err)
	}
	f := &fleet.SSM{Client: client, DocumentName: "slipway-shop-host", LogGroup: "/slipway/shop/commands", TimeoutSeconds: 600}
	id, err := f.Send(ctx, "staging", fleet.Command{DeploymentID: "staging-v2-x", Action: fleet.ActionActivate, Version: "v2",
		ArtifactURI: "s3://slipway-shop-artifacts/shop/v2.tar.gz", SHA256: "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
		InstanceIDs: []string{"i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"}})
	if err != nil || id == "" {
		t.Fatalf("Send() = %q, %v; want a command ID", id, err)
	}
	out, err := client.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: aws.String(id)})
	if err != nil || len(out.Commands) != 1 {
		t.Fatalf("ListCommands(%s) = %+v, %v; want the command", id, out, err)
	}
	c := out.Commands[0]
	slices.Sort(c.InstanceIds) // moto keeps them in no order
	got := map[string]any{"document": aws.ToString(c.DocumentName), "instances": c.InstanceIds, "parameters": c.Parameters,
		"max errors": aws.ToString(c.MaxErrors), "max concurrency": aws.ToString(c.MaxConcurrency), "comment": aws.ToString(c.Comment)}
	want := map[string]any{"document": "slipway-shop-host", "instances": []string{"i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"},
		"parameters": map[string][]string{"action": {"activate"}, "version": {"v2"}, "artifactKey": {"shop/v2.tar.gz"},
			"sha256": {"5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"}, "deploymentId": {"staging-v2-x"}, "executionTimeout": {"600"}},
		"max errors": "0", "max concurrency": "100%", "comment": "slipway staging-v2-x activate v2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the command moto holds (-want +got):\n%s", diff)
	}
}
