-- slipway:ignore ban-drop-table replaced by accounts in 0001; unused since v12
DROP TABLE legacy_users;
ALTER TABLE users DROP COLUMN nickname;
ALTER TABLE users ADD COLUM broken int;
