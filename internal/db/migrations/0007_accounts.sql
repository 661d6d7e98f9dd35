-- Staff accounts for the care team's pages: what each member may do, a password, and sessions.

-- access is what a staff member may do in the engine (role stays the billing role):
-- nurse: the queue, patients, time; practitioner: the same, with MDM on time entries;
-- manager: also reassigning items, the audit log and closing billing months; admin: also staff.
ALTER TABLE staff
	ADD COLUMN access text NOT NULL DEFAULT 'nurse' CHECK (access IN ('nurse', 'practitioner', 'manager', 'admin')),
	ADD COLUMN password_hash text,
	ADD COLUMN disabled_at timestamptz;
UPDATE staff SET access = 'practitioner' WHERE role = 'practitioner';

CREATE TABLE sessions (
	token_sha256 text PRIMARY KEY,
	practice_id  bigint NOT NULL,
	staff_id     bigint NOT NULL,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	FOREIGN KEY (practice_id, staff_id) REFERENCES staff (practice_id, id)
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
