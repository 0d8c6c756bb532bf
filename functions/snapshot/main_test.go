package main

import (
	"testing"

	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/lambdaenv/lambdaenvtest"
)

// TestOperations runs the function's handler, as main wires it, through
// every scenario and checks the AWS calls it makes against its operations
// file (go test -update rewrites it), which the infra module checks
// against the function's IAM role.
func TestOperations(t *testing.T) {
	lambdaenvtest.Operations(t, "snapshot", func(env *lambdaenv.Env) (any, error) {
		h, err := handler(env)
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	})
}
