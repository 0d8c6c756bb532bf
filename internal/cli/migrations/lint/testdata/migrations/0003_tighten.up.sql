ALTER TABLE users ALTER COLUMN name TYPE text;
ALTER TABLE users ALTER COLUMN email TYPE varchar(20);
ALTER TABLE users ADD COLUMN age int NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
