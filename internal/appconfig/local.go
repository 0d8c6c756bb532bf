package appconfig

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipway-deploy/slipway/internal/secret"
)

// File is the embedded Store: the local secrets file (a JSON object of name
// to value), where a secret is found under its name and an SSM parameter
// under its path ("/demo/staging/log-level").
type File struct {
	Secrets *secret.File
}

var _ Store = (*File)(nil)

// Parameter reads an SSM parameter's stand-in from the secrets file.
func (f *File) Parameter(ctx context.Context, name string) (secret.Value, error) {
	return f.get(ctx, name, "parameter")
}

// Secret reads a secret from the secrets file.
func (f *File) Secret(ctx context.Context, name string) (secret.Value, error) {
	return f.get(ctx, name, "secret")
}

func (f *File) get(ctx context.Context, name, kind string) (secret.Value, error) {
	v, err := f.Secrets.Get(ctx, name)
	var nf *secret.NotFoundError
	if errors.As(err, &nf) {
		return secret.Value{}, fmt.Errorf("%s %q is not in %s: add it with `slipway local secret set %s` (the value on stdin), or fix the reference in slipway.yaml: %w", kind, name, f.Secrets.Path, name, ErrNotFound)
	}
	return v, err
}
