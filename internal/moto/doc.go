// Package moto runs moto_server, an independent implementation of the AWS
// APIs, for the AWS adapters' tests: a second oracle beside the httptest
// fakes written in this repository, which agree with the adapters by
// construction.
//
// Start starts a server for one test; Shared starts one per test binary,
// which Main stops once the package's tests are done (call it from
// TestMain). Config returns an aws.Config for a server: static fake
// credentials, region us-east-1, the server as BaseEndpoint. moto keeps
// state for as long as it runs, so every test names its own resources.
//
// Without moto_server on PATH the tests that need it are skipped, except
// under CI=true, where they fail: CI must not pass by testing less.
//
// It is test code: nothing outside _test.go files should import it. It
// never talks to AWS; it is not a fake of its own (see ledgertest and the
// adapters' _test.go files for those).
package moto
