-- The position of the entry in Exchange's audit log that records a disclosure (NULL when not given).
ALTER TABLE disclosure ADD COLUMN audit_sequence INTEGER NULL;
