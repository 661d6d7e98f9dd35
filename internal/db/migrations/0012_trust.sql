-- Trust: failed logins are counted in the database, by account and by address, so that every
-- replica sees the same counts and a restart forgets nothing; API tokens expire and record
-- their last use; sessions end after a while without a person's action.

CREATE TABLE login_failures (
	practice_id  bigint NOT NULL REFERENCES practices (id),
	key          text NOT NULL CHECK (key ~ '^(staff|addr):.{1,200}$'), -- an account, or an address
	failures     integer NOT NULL CHECK (failures >= 0),
	window_start timestamptz NOT NULL, -- the failures counted since then
	locked_until timestamptz,          -- no password is checked before then
	updated_at   timestamptz NOT NULL,
	PRIMARY KEY (practice_id, key)
);
CREATE INDEX login_failures_by_update ON login_failures (updated_at);

ALTER TABLE api_tokens
	ADD COLUMN expires_at   timestamptz,
	ADD COLUMN last_used_at timestamptz;

ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz; -- the person's last action
