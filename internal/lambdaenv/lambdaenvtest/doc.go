// Package lambdaenvtest is what the functions' tests share: a World, an
// AWS account in memory (DynamoDB, S3, SSM Run Command over simulated
// instances, CloudWatch, RDS, SNS, Step Functions and Secrets Manager,
// each faked on the wire behind one endpoint), scenarios that run the
// real state machine definitions on the embedded engine against it, and a
// Recorder, an SDK middleware that notes every operation a client issues
// with the IAM grants it needs.
//
// Each functions/<name>/main_test.go calls Operations with its main's own
// wiring: the function's handler then runs every scenario with clients
// that record, and the calls it made are compared with
// infra/stack/testdata/operations/<name>.json, which the infra module
// checks against the function's IAM role. The role follows from the code:
// a call the code makes and the role does not allow fails the infra test,
// and so does a permission no call needs.
//
// It is test code: nothing outside _test.go files should import it.
package lambdaenvtest
