-- Whose turn it is to relay this database's outbox. One relay publishes at a time, however many
-- replicas run one, so events leave in sequence order; the holder renews its turn while it works,
-- and when it dies its turn lapses within the outbox lease (Oversight:Outbox:Lease), after which
-- another relay takes it and starts again at the first unsent event, the dead relay's batch included.
CREATE TABLE outbox_relay_turn (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    owner     TEXT    NULL,
    until_ms  INTEGER NOT NULL
);
INSERT INTO outbox_relay_turn (id, owner, until_ms) VALUES (1, NULL, 0);
