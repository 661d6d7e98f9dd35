-- Conversations with patients: staff write texts through the outbox (kind staff, with who wrote
-- them); a plain-language opt-out is confirmed by one text that goes though the patient opted
-- out (kind confirmation); texts from numbers that match no patient are kept (no patient) and
-- raise items of their own, found by the number; an item knows when a patient's text came that
-- nobody has read on it yet.

ALTER TABLE messages ALTER COLUMN patient_id DROP NOT NULL;
ALTER TABLE messages ADD COLUMN staff_id bigint;
ALTER TABLE messages ADD CONSTRAINT messages_staff_fkey FOREIGN KEY (practice_id, staff_id) REFERENCES staff (practice_id, id);
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check CHECK (kind IN ('question', 'reask', 'reminder', 'closing',
	'intro', 'safety', 'notice', 'reply', 'alert', 'staff', 'confirmation'));
ALTER TABLE messages ADD CONSTRAINT messages_staff_kind CHECK ((kind = 'staff') = (staff_id IS NOT NULL));
-- The thread of a number that matches no patient.
CREATE INDEX messages_by_number ON messages (practice_id, phone, created_at) WHERE patient_id IS NULL;

ALTER TABLE escalations ALTER COLUMN patient_id DROP NOT NULL;
ALTER TABLE escalations ADD COLUMN phone e164; -- the number an item with no patient came from
ALTER TABLE escalations ADD CONSTRAINT escalations_patient_or_phone CHECK (patient_id IS NOT NULL OR phone IS NOT NULL);
ALTER TABLE escalations ADD COLUMN unread_since timestamptz; -- a patient's text nobody has read on the item
ALTER TABLE escalations DROP CONSTRAINT escalations_source_check;
ALTER TABLE escalations ADD CONSTRAINT escalations_source_check CHECK (source IN ('rule', 'emergency', 'unparseable',
	'invalid_number', 'expired', 'call_request', 'message', 'opt_out_request'));
-- A number's texts attach to its open item as a patient's do to theirs.
CREATE UNIQUE INDEX escalations_open_number ON escalations (practice_id, phone, reason)
	WHERE status <> 'resolved' AND patient_id IS NULL;
