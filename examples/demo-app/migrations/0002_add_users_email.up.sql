-- Expand: a nullable column; v1 keeps working.
ALTER TABLE users ADD COLUMN email TEXT;
