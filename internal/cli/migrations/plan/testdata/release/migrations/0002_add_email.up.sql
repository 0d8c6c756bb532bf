-- Expand: nullable, so the running release keeps working.
ALTER TABLE users ADD COLUMN email text;
