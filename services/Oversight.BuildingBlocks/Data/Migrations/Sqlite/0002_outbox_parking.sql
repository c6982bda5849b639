-- An outbox row that can never be published (its type or body is unknown to every running build)
-- is parked after a few tries instead of holding back every event behind it.
ALTER TABLE outbox_message ADD COLUMN parked_at_ms INTEGER NULL;
