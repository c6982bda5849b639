-- Whose turn it is to relay this database's outbox. One relay publishes at a time, however many
-- replicas run one, so events leave in sequence order; the holder renews its turn while it works,
-- and when it dies its turn lapses within the outbox lease (Oversight:Outbox:Lease), after which
-- another relay takes it and starts again at the first unsent event, the dead relay's batch included.
CREATE TABLE outbox_relay_turn (
    id        INT            NOT NULL CONSTRAINT pk_outbox_relay_turn PRIMARY KEY CONSTRAINT ck_outbox_relay_turn_one CHECK (id = 1),
    owner     NVARCHAR(200)  NULL,
    until_ms  BIGINT         NOT NULL
);
GO
INSERT INTO outbox_relay_turn (id, owner, until_ms) VALUES (1, NULL, 0);
GO
