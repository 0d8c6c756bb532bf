// Package migrate runs a release's database migrations: golang-migrate's
// file layout (NNNN_name.up.sql, optional NNNN_name.down.sql) read from an
// fs.FS, a state table with one row per migration and a checksum chained
// over every earlier file (so an edited or reordered applied file is
// detected), and down migrations only where a migration is reversible.
//
// It does not decide whether a migration is safe to ship; lint does.
package migrate
