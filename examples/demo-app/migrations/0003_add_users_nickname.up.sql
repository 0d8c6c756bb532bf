-- Expand: a nullable column; v2 keeps working.
ALTER TABLE users ADD COLUMN nickname TEXT;
