// Package appconfig turns the manifest's config: section into the values an
// app reads at start, for one environment: it lists where each variable
// comes from (Entries), resolves the references through a Store (Resolve),
// fingerprints the resolved set with a key so that it can be recorded and
// compared without being shown (Fingerprint, KeyPrints), and renders the
// release's environment file (EnvFile).
//
// Values are secret.Value throughout: they print as [REDACTED]. Only
// references (manifest.Ref) and fingerprints leave this package in
// anything that is logged, recorded or passed between states.
//
// It does not know which machine it runs on: the host resolves with the
// instance role, the CLI and Preflight resolve to check and compare.
package appconfig
