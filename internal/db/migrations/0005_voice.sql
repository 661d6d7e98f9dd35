-- Voice check-ins: every call placed for a check-in, one row per attempt, which is also the
-- outbox of calls waiting to be placed.

CREATE TABLE calls (
	practice_id     bigint NOT NULL,
	id              bigint GENERATED ALWAYS AS IDENTITY,
	patient_id      bigint NOT NULL,
	checkin_id      bigint NOT NULL,
	attempt         smallint NOT NULL CHECK (attempt >= 1), -- the check-in's first, second, … call
	phone           e164 NOT NULL,
	status          text NOT NULL CHECK (status IN ('queued', 'sending', 'unknown', 'initiated', 'ringing',
		'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'cancelled')),
	twilio_sid      text,
	tries           smallint NOT NULL DEFAULT 0, -- requests to the provider to place this call
	error_code      integer,
	answered_by     text CHECK (length(answered_by) <= 40), -- the provider's answering-machine detection
	reached_at      timestamptz, -- the patient started the check-in on this call
	duration_seconds integer CHECK (duration_seconds >= 0), -- how long the call lasted: activity, not staff time
	next_attempt_at timestamptz,
	lease_until     timestamptz,
	created_at      timestamptz NOT NULL,
	placed_at       timestamptz,
	ended_at        timestamptz,
	updated_at      timestamptz NOT NULL,
	PRIMARY KEY (practice_id, id),
	UNIQUE (practice_id, checkin_id, attempt),
	FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id),
	FOREIGN KEY (practice_id, checkin_id) REFERENCES checkins (practice_id, id)
);
CREATE UNIQUE INDEX calls_by_sid ON calls (twilio_sid) WHERE twilio_sid IS NOT NULL;
CREATE INDEX calls_outbox ON calls (next_attempt_at) WHERE status = 'queued';
CREATE INDEX calls_in_doubt ON calls (updated_at) WHERE status IN ('sending', 'unknown');

-- Call states only move forward; the final ones stay.
CREATE FUNCTION call_status_rank(status text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT CASE status
		WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'unknown' THEN 2 WHEN 'initiated' THEN 3
		WHEN 'ringing' THEN 4 WHEN 'in-progress' THEN 5
		ELSE 6 -- completed, busy, no-answer, failed, cancelled: final
	END
$$;

-- A check-in handed to a human before its end: the patient asked for a nurse on a call, or was
-- told to hang up and dial 911.
ALTER TABLE checkins DROP CONSTRAINT checkins_status_check;
ALTER TABLE checkins ADD CONSTRAINT checkins_status_check
	CHECK (status IN ('open', 'completed', 'expired', 'cancelled', 'handed_off'));
