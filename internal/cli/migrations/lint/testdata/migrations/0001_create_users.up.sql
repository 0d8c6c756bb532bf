CREATE TABLE users (
    id bigint PRIMARY KEY,
    name varchar(50) NOT NULL,
    email varchar(100)
);
