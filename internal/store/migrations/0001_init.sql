-- Chain store, version 1. Runs on PostgreSQL and YugabyteDB YSQL: plain
-- tables, B-tree indexes, no BRIN, no exclusion constraints, no extensions.
-- Raw JSON is kept as bytea, never json/jsonb: jsonb reorders keys and the
-- store must give back the node's exact bytes.
CREATE TABLE store_meta (
    k text PRIMARY KEY,
    v bytea NOT NULL
);
CREATE TABLE blocks (
    number    bigint PRIMARY KEY,
    hash      text   NOT NULL,
    parent    text   NOT NULL,
    tx_count  integer NOT NULL,
    raw       bytea  NOT NULL,
    raw_full  bytea  NOT NULL,
    receipts  bytea  NOT NULL
);
CREATE UNIQUE INDEX blocks_hash ON blocks (hash);
CREATE TABLE transactions (
    hash         text    PRIMARY KEY,
    block_number bigint  NOT NULL,
    tx_index     integer NOT NULL,
    raw          bytea   NOT NULL
);
CREATE UNIQUE INDEX transactions_position ON transactions (block_number, tx_index);
CREATE TABLE receipts (
    tx_hash      text    PRIMARY KEY,
    block_number bigint  NOT NULL,
    raw          bytea   NOT NULL
);
CREATE INDEX receipts_block ON receipts (block_number);
CREATE TABLE logs (
    block_number bigint  NOT NULL,
    log_index    integer NOT NULL,
    address      text    NOT NULL,
    topic0       text,
    topic1       text,
    topic2       text,
    topic3       text,
    raw          bytea   NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX logs_address ON logs (address, block_number);
CREATE INDEX logs_topic0 ON logs (topic0, block_number);
CREATE INDEX logs_topic1 ON logs (topic1, block_number);
CREATE INDEX logs_topic2 ON logs (topic2, block_number);
CREATE INDEX logs_topic3 ON logs (topic3, block_number);
