-- slipway:no-transaction
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
