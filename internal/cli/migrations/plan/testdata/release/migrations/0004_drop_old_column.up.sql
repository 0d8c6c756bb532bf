-- slipway:ignore ban-drop-column nickname is unused since release 12
ALTER TABLE users DROP COLUMN nickname;
