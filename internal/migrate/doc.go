// Package migrate runs a release's database migrations on PostgreSQL,
// MySQL/MariaDB and SQLite.
//
// Files follow golang-migrate's layout (NNNN_name.up.sql, optional
// NNNN_name.down.sql) and are read from an fs.FS. The state table,
// slipway_migrations, has one row per migration: its checksum chained over
// every earlier file (so an edited or reordered applied file is detected),
// when it ran and for how long, statements applied out of total, a dirty
// flag, the deployment that applied it, and its down SQL, stored at apply
// time so that a rollback can revert it even when the older release lacks
// the file.
//
// Up and DownTo run on one dedicated connection under a lock (an advisory
// lock on PostgreSQL, GET_LOCK on MySQL, the write lock on SQLite), waiting
// up to a deadline for another runner, with lock and statement timeouts set
// on the session. Each file runs in one transaction, unless it says
// "-- slipway:no-transaction": then it runs statement by statement, its
// progress recorded after each, and a failure leaves it dirty so that the
// next run resumes at the failed statement. MySQL commits DDL implicitly, so
// there a file of several statements with DDL in it runs statement by
// statement too.
//
// It does not decide whether a migration is safe to ship; package lint does.
package migrate
