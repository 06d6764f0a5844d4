-- audit_record.
INSERT INTO audit (at, who, action, target, result) VALUES ($1, $2, $3, $4, $5)
