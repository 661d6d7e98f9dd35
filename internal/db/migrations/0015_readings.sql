-- Remote monitoring: device readings (blood pressure, weight, glucose, SpO2, heart rate), each
-- stored once per patient, type, instant and device; the per-patient limits a practitioner sets;
-- each patient's last device reading and the follow-up of a silent device.

CREATE TABLE readings (
	practice_id bigint NOT NULL,
	id          bigint GENERATED ALWAYS AS IDENTITY,
	patient_id  bigint NOT NULL,
	type        text NOT NULL CHECK (type IN ('blood_pressure', 'weight', 'glucose', 'spo2', 'heart_rate')),
	device      text NOT NULL DEFAULT '' CHECK (length(device) <= 100),
	taken_at    timestamptz NOT NULL,
	systolic    smallint,
	diastolic   smallint,
	value       numeric(7, 2),
	unit        text CHECK (unit IN ('kg', 'lb', 'mg/dL', '%', 'bpm')),
	manual      boolean NOT NULL, -- typed in by the patient: not device data
	received_at timestamptz NOT NULL,
	PRIMARY KEY (practice_id, id),
	FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id),
	CHECK (CASE WHEN type = 'blood_pressure' THEN systolic IS NOT NULL AND diastolic IS NOT NULL AND value IS NULL AND unit IS NULL
		ELSE systolic IS NULL AND diastolic IS NULL AND value IS NOT NULL AND unit IS NOT NULL END)
);
-- A reading sent again (a vendor re-sends a batch, a file imported twice) is not stored again;
-- the index also reads a patient's readings of a type by time.
CREATE UNIQUE INDEX readings_once ON readings (practice_id, patient_id, type, taken_at, device);
-- The days with device data of a period, for every patient at once (billing's device codes).
CREATE INDEX readings_device_days ON readings (practice_id, taken_at, patient_id) WHERE NOT manual;

-- The limits a practitioner set for a patient, by measure (systolic, diastolic, weight in kg,
-- glucose, spo2, heart_rate); a measure not set keeps the practice's default.
CREATE TABLE reading_limits (
	practice_id bigint NOT NULL,
	patient_id  bigint NOT NULL,
	limits      jsonb NOT NULL,
	set_by      bigint NOT NULL,
	set_at      timestamptz NOT NULL,
	PRIMARY KEY (practice_id, patient_id),
	FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id),
	FOREIGN KEY (practice_id, set_by) REFERENCES staff (practice_id, id)
);

-- Each patient's last device reading, kept as readings arrive, and the silence it was last
-- followed up for: a reminder text, then an item. A reading after the silence moves
-- last_reading_at, so a new silence is followed up again.
CREATE TABLE device_status (
	practice_id     bigint NOT NULL,
	patient_id      bigint NOT NULL,
	last_reading_at timestamptz NOT NULL,
	reminded_for    timestamptz, -- the last_reading_at whose silence got the reminder
	escalated_for   timestamptz, -- the last_reading_at whose silence raised an item
	PRIMARY KEY (practice_id, patient_id),
	FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id)
);
CREATE INDEX device_status_by_last ON device_status (practice_id, last_reading_at);

ALTER TABLE escalations DROP CONSTRAINT escalations_source_check;
ALTER TABLE escalations ADD CONSTRAINT escalations_source_check CHECK (source IN ('rule', 'emergency', 'unparseable',
	'invalid_number', 'expired', 'call_request', 'message', 'opt_out_request', 'reading', 'device_silent'));

ALTER TABLE imports DROP CONSTRAINT imports_kind_check;
ALTER TABLE imports ADD CONSTRAINT imports_kind_check CHECK (kind IN ('patients', 'staff', 'services', 'time', 'readings'));
