-- slipway:irreversible
INSERT INTO items (id, name) VALUES (1, 'one');
