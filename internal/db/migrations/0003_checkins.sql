-- Check-ins, their answers, every message in and out (the outbox), and escalation items.

CREATE TABLE checkins (
	practice_id  bigint NOT NULL,
	id           bigint GENERATED ALWAYS AS IDENTITY,
	patient_id   bigint NOT NULL,
	script_id    text NOT NULL,
	period       text NOT NULL, -- the schedule slot, in the patient's zone
	language     text NOT NULL CHECK (language IN ('en', 'es')),
	channel      text NOT NULL CHECK (channel IN ('sms', 'voice')),
	status       text NOT NULL CHECK (status IN ('open', 'completed', 'expired', 'cancelled')),
	question_id  text, -- the question waiting for an answer; null before the first and after the last
	reasks       smallint NOT NULL DEFAULT 0 CHECK (reasks >= 0),
	started_at   timestamptz NOT NULL,
	last_sent_at timestamptz NOT NULL,
	reminded_at  timestamptz,
	ended_at     timestamptz,
	PRIMARY KEY (practice_id, id),
	UNIQUE (practice_id, patient_id, script_id, period),
	FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id),
	CHECK ((status = 'open') = (ended_at IS NULL))
);
-- A patient is in at most one conversation at a time.
CREATE UNIQUE INDEX checkins_one_open ON checkins (practice_id, patient_id) WHERE status = 'open';
CREATE INDEX checkins_open_by_sent ON checkins (last_sent_at) WHERE status = 'open';

CREATE TABLE checkin_answers (
	practice_id bigint NOT NULL,
	checkin_id  bigint NOT NULL,
	question_id text NOT NULL,
	value       text NOT NULL,
	raw         text NOT NULL,
	answered_at timestamptz NOT NULL,
	PRIMARY KEY (practice_id, checkin_id, question_id),
	FOREIGN KEY (practice_id, checkin_id) REFERENCES checkins (practice_id, id)
);

CREATE TABLE messages (
	practice_id     bigint NOT NULL,
	id              bigint GENERATED ALWAYS AS IDENTITY,
	patient_id      bigint NOT NULL,
	checkin_id      bigint,
	direction       text NOT NULL CHECK (direction IN ('out', 'in')),
	kind            text NOT NULL CHECK (kind IN ('question', 'reask', 'reminder', 'closing', 'intro',
		'safety', 'notice', 'reply', 'alert')),
	phone           e164 NOT NULL,
	body            text NOT NULL CHECK (length(body) <= 1600),
	status          text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered',
		'failed', 'unknown', 'expired', 'cancelled', 'received')),
	twilio_sid      text,
	error_code      integer,
	attempts        smallint NOT NULL DEFAULT 0,
	urgent          boolean NOT NULL DEFAULT false, -- sent whatever the hour (safety replies, alerts)
	next_attempt_at timestamptz,
	lease_until     timestamptz,
	created_at      timestamptz NOT NULL,
	sent_at         timestamptz,
	updated_at      timestamptz NOT NULL,
	PRIMARY KEY (practice_id, id),
	FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id),
	FOREIGN KEY (practice_id, checkin_id) REFERENCES checkins (practice_id, id),
	CHECK ((direction = 'in') = (status = 'received'))
);
CREATE UNIQUE INDEX messages_by_sid ON messages (twilio_sid) WHERE twilio_sid IS NOT NULL;
CREATE INDEX messages_outbox ON messages (next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_sending ON messages (lease_until) WHERE status = 'sending';
CREATE INDEX messages_by_patient ON messages (practice_id, patient_id, created_at);

CREATE TABLE escalations (
	practice_id bigint NOT NULL,
	id          bigint GENERATED ALWAYS AS IDENTITY,
	patient_id  bigint NOT NULL,
	checkin_id  bigint,
	severity    text NOT NULL CHECK (severity IN ('urgent', 'high', 'routine')),
	reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
	source      text NOT NULL CHECK (source IN ('rule', 'emergency', 'unparseable', 'invalid_number',
		'expired', 'call_request', 'message')),
	details     jsonb NOT NULL DEFAULT '[]',
	status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'claimed', 'resolved')),
	firings     integer NOT NULL DEFAULT 1,
	created_at  timestamptz NOT NULL,
	due_at      timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	PRIMARY KEY (practice_id, id),
	FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id),
	FOREIGN KEY (practice_id, checkin_id) REFERENCES checkins (practice_id, id)
);
-- A rule that fires again for an open item of the same patient and reason attaches to it.
CREATE UNIQUE INDEX escalations_open_reason ON escalations (practice_id, patient_id, reason) WHERE status <> 'resolved';
CREATE INDEX escalations_queue ON escalations (practice_id, status, severity, created_at);
