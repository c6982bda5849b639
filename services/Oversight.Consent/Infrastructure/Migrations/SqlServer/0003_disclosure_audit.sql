-- The position of the entry in Exchange's audit log that records a disclosure (NULL when not given).
ALTER TABLE disclosure ADD audit_sequence BIGINT NULL;
GO
