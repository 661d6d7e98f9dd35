-- What a clinic needs on its first day: a patient can be made inactive (imported by mistake,
-- discharged), which stops all outreach to them; and a practice may document an exemption
-- under which patients with no consent on file are contacted all the same (a revoked consent
-- always stops outreach).
ALTER TABLE patients ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE practices ADD COLUMN consent_exemption text
	CHECK (length(consent_exemption) BETWEEN 1 AND 500);
