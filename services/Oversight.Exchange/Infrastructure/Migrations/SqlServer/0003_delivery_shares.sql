-- Each platform's share of a delivery that carries the data of several: the records of its datasets
-- delivered and withheld, and the least retention deadline of the pages that carried them. A platform
-- reads its share, not the others' counts, and is shown a delivery overdue by its own deadline.
ALTER TABLE delivery_controller ADD
    delivered             BIGINT        NOT NULL CONSTRAINT df_delivery_controller_delivered DEFAULT 0,
    withheld              NVARCHAR(MAX) NOT NULL CONSTRAINT df_delivery_controller_withheld DEFAULT N'{}',
    retention_deadline_ms BIGINT        NULL;
GO

-- Deliveries recorded before: each platform keeps the delivery's totals it was shown until now (its
-- deadline is then the delivery's, never later than its own).
UPDATE c
   SET delivered = d.delivered, withheld = d.withheld, retention_deadline_ms = d.retention_deadline_ms
  FROM delivery_controller c
  JOIN delivery d ON d.id = c.delivery_id;
GO

CREATE INDEX ix_delivery_controller_overdue ON delivery_controller (controller_id, retention_deadline_ms, delivery_id);
GO
