-- Each platform's share of a delivery that carries the data of several: the records of its datasets
-- delivered and withheld, and the least retention deadline of the pages that carried them. A platform
-- reads its share, not the others' counts, and is shown a delivery overdue by its own deadline.
ALTER TABLE delivery_controller ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE delivery_controller ADD COLUMN withheld TEXT NOT NULL DEFAULT '{}';
ALTER TABLE delivery_controller ADD COLUMN retention_deadline_ms INTEGER NULL;

-- Deliveries recorded before: each platform keeps the delivery's totals it was shown until now (its
-- deadline is then the delivery's, never later than its own).
UPDATE delivery_controller
   SET delivered = (SELECT d.delivered FROM delivery d WHERE d.id = delivery_controller.delivery_id),
       withheld = (SELECT d.withheld FROM delivery d WHERE d.id = delivery_controller.delivery_id),
       retention_deadline_ms = (SELECT d.retention_deadline_ms FROM delivery d WHERE d.id = delivery_controller.delivery_id);

CREATE INDEX ix_delivery_controller_overdue ON delivery_controller (controller_id, retention_deadline_ms, delivery_id);
