-- The clinician queue: claims with a lease, and resolutions with an outcome and a note.

ALTER TABLE escalations
	ADD COLUMN claimed_by       bigint,
	ADD COLUMN claimed_at       timestamptz,
	ADD COLUMN claim_expires_at timestamptz,
	ADD COLUMN first_claimed_at timestamptz, -- kept through releases and resolution: time to claim
	ADD COLUMN resolved_by      bigint,
	ADD COLUMN resolved_at      timestamptz,
	ADD COLUMN outcome          text CHECK (outcome IN ('reached_patient', 'left_message', 'advised_ed_911',
		'care_plan_updated', 'medication_changed', 'referred', 'no_action_needed')),
	ADD COLUMN note             text NOT NULL DEFAULT '' CHECK (length(note) <= 4000),
	ADD FOREIGN KEY (practice_id, claimed_by) REFERENCES staff (practice_id, id),
	ADD FOREIGN KEY (practice_id, resolved_by) REFERENCES staff (practice_id, id),
	ADD CHECK ((status = 'claimed') = (claimed_by IS NOT NULL AND claim_expires_at IS NOT NULL)),
	ADD CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND outcome IS NOT NULL));

-- Urgent items page the on-call clinician until someone claims them.
ALTER TABLE escalations
	ADD COLUMN alerted_at timestamptz,
	ADD COLUMN alerts     integer NOT NULL DEFAULT 0;
CREATE INDEX escalations_to_alert ON escalations (practice_id, alerted_at) WHERE severity = 'urgent' AND status <> 'resolved';
