-- Inbound texts and opt-outs find patients by practice and phone: one index that leads with the
-- practice, as every patient-owned lookup does, so that no plan ever scans a practice's patients.
CREATE INDEX patients_by_practice_phone ON patients (practice_id, phone) WHERE phone IS NOT NULL;
DROP INDEX patients_by_phone;
