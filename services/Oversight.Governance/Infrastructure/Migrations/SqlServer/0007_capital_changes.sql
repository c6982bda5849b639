-- Changes of share capital that passed proposals order, the regulator's cancellation of a
-- proposal, and appointments withdrawn before the regulator decided.

ALTER TABLE proposal ADD cancelled_at_ms BIGINT NULL;
GO

CREATE TABLE capital_change (
    id               NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_capital_change PRIMARY KEY,
    proposal_id      NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT uq_capital_change_proposal UNIQUE
                     CONSTRAINT fk_capital_change_proposal REFERENCES proposal (id),
    kind             INT            NOT NULL CONSTRAINT ck_capital_change_kind CHECK (kind IN (1, 2)),
    state            INT            NOT NULL CONSTRAINT ck_capital_change_state CHECK (state IN (1, 2, 3, 4)),
    approval_reason  NVARCHAR(1000) NULL,
    created_at_ms    BIGINT         NOT NULL,
    decided_at_ms    BIGINT         NULL,
    decision_reason  NVARCHAR(500)  NULL,
    ledger_sequence  BIGINT         NULL CONSTRAINT fk_capital_change_ledger REFERENCES share_ledger (sequence),
    version          BIGINT         NOT NULL
);
GO
CREATE INDEX ix_capital_change_state ON capital_change (state, id);
GO

-- One line per holder: the shares issued to it or cancelled from it.
CREATE TABLE capital_change_line (
    change_id  NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_capital_change_line_change REFERENCES capital_change (id),
    holder_id  NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_capital_change_line_holder REFERENCES organisation (id),
    class_id   NVARCHAR(32) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_capital_change_line_class REFERENCES share_class (id),
    quantity   BIGINT NOT NULL CONSTRAINT ck_capital_change_line_quantity CHECK (quantity > 0),
    CONSTRAINT pk_capital_change_line PRIMARY KEY (change_id, holder_id)
);
GO

CREATE INDEX ix_share_transfer_id ON share_transfer (state, id);
GO

-- Appointments gain a fifth state, WITHDRAWN.
ALTER TABLE executive_appointment DROP CONSTRAINT ck_executive_appointment_state;
GO
ALTER TABLE executive_appointment ADD CONSTRAINT ck_executive_appointment_state CHECK (state IN (1, 2, 3, 4, 5));
GO
