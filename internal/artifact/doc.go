// Package artifact stores and fetches release bundles and their published
// SHA-256: Dir keeps them in a local folder (the embedded environment), S3
// in the artifact bucket. Both lay a release out as <app>/<version>.tar.gz
// with <app>/<version>.tar.gz.sha256 beside it.
//
// It moves bytes and checksums; it does not open bundles (see bundle).
package artifact
