// Package localenv is the embedded environment: everything Slipway needs
// from AWS, on one machine, in one state directory. Instances are
// directories with releases/ and a current link, each running the app as a
// process on its own 127.0.0.1 port, moved by the same host script the SSM
// document runs on EC2. The database is a SQLite file (or, with
// Options.Database, a database per environment on a PostgreSQL or
// MySQL/MariaDB server, created by Init and dropped by Down), secrets are a JSON
// file, alarms are a JSON file, the ledger is SQLite and releases are
// bundles in a local folder.
//
// Layout of the state directory:
//
//	slipway.json              configuration (app, environments)
//	secrets.json              secrets (mode 0600)
//	alarms.json               alarm states
//	ledger.db                 deployments, steps, instance results, locks
//	artifacts/<app>/<v>.tar.gz(.sha256)
//	db/<env>.db               each environment's database (SQLite)
//	databases.json            the databases Init created on a server (Options.Database)
//	snapshots/<env>/<id>.db   pre-migration snapshots
//	instances/<env>/<id>/     one host each (see scripts/slipway-host.sh)
//	commands/<id>/            per-instance command results
//	balancer/                 the load balancer's state, pid and log (Options.Balancer)
//
// Handlers returns the pipeline's handlers wrapped exactly as Lambda wraps
// them, keyed by the ARNs it substitutes into statemachine/*.asl.json.
package localenv
