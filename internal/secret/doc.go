// Package secret fetches credentials and keeps their values out of logs,
// outputs, the ledger and error messages. A Value prints as [REDACTED]
// through fmt, encoding/json and log/slog; only Reveal returns the text, at
// the point of use (opening a database connection).
//
// File is the embedded store (a JSON file in the state directory); Manager
// is AWS Secrets Manager, cached once per Lambda container.
package secret
