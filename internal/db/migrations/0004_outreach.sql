-- What the check-in engine needs beyond 0003: the practice's phone for HELP replies, a clearer
-- name for messages that skip quiet hours, and indexes for the dispatcher's sweeps.

ALTER TABLE practices ADD COLUMN phone e164;

-- Sent whatever the hour and ahead of scheduled messages: replies to a patient who just wrote,
-- safety messages, alerts.
ALTER TABLE messages RENAME COLUMN urgent TO immediate;
DROP INDEX messages_outbox;
CREATE INDEX messages_outbox ON messages (immediate DESC, next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_unknown ON messages (updated_at) WHERE status = 'unknown';
CREATE INDEX messages_by_checkin ON messages (practice_id, checkin_id) WHERE checkin_id IS NOT NULL;

-- Patients are found by the number they text from.
CREATE INDEX patients_by_phone ON patients (phone) WHERE phone IS NOT NULL;

-- The expired check-ins waiting for a human call, and the sweeps over open ones.
CREATE INDEX checkins_by_patient ON checkins (practice_id, patient_id, started_at DESC);

-- Message states only move forward: a late "sent" report never overwrites "delivered", and
-- final states stay. Equal ranks do not replace each other.
CREATE FUNCTION message_status_rank(status text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT CASE status
		WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'unknown' THEN 2 WHEN 'sent' THEN 3
		ELSE 4 -- delivered, undelivered, failed, expired, cancelled, received: final
	END
$$;
