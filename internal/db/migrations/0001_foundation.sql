-- Foundation: practices, patients with their contact settings and consents, staff, other
-- billed services, imports and the append-only audit log. Every patient-owned table carries
-- practice_id as the first column of its key (the distribution key of a sharded deployment).

CREATE FUNCTION is_time_zone(tz text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
	PERFORM now() AT TIME ZONE tz;
	RETURN tz <> '' AND tz !~* '^(utc|gmt)?[+-]';
EXCEPTION WHEN invalid_parameter_value THEN
	RETURN false;
END
$$;

CREATE FUNCTION forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
		USING ERRCODE = 'restrict_violation';
END
$$;

CREATE DOMAIN e164 AS text CHECK (VALUE ~ '^\+[1-9][0-9]{1,14}$');
CREATE DOMAIN npi AS text CHECK (VALUE ~ '^[0-9]{10}$');
CREATE DOMAIN external_id AS text CHECK (VALUE ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$');

CREATE TABLE practices (
	id          bigint PRIMARY KEY,
	name        text NOT NULL DEFAULT '',
	timezone    text NOT NULL CHECK (is_time_zone(timezone)),
	quiet_start time,
	quiet_end   time,
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

CREATE TABLE patients (
	practice_id         bigint NOT NULL REFERENCES practices (id),
	id                  bigint GENERATED ALWAYS AS IDENTITY,
	ext_id              external_id NOT NULL,
	first_name          text NOT NULL DEFAULT '' CHECK (length(first_name) <= 200),
	last_name           text NOT NULL DEFAULT '' CHECK (length(last_name) <= 200),
	phone               e164,
	timezone            text NOT NULL CHECK (is_time_zone(timezone)),
	language            text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es')),
	channel             text NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms', 'voice')),
	chronic_conditions  text[] NOT NULL DEFAULT '{}'
		CHECK (array_position(chronic_conditions, NULL) IS NULL),
	billing_npi         npi,
	programs            text[] NOT NULL DEFAULT '{}'
		CHECK (programs <@ ARRAY['ccm', 'rpm', 'pcm', 'bhi']),
	ccm_track           text NOT NULL DEFAULT 'staff' CHECK (ccm_track IN ('staff', 'practitioner')),
	initiating_visit_on date,
	care_plan_on        date,
	script_id           text CHECK (script_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
	opted_out_at        timestamptz,
	opt_out_source      text CHECK (opt_out_source IN ('sms', 'voice', 'carrier', 'staff')),
	created_at          timestamptz NOT NULL,
	updated_at          timestamptz NOT NULL,
	PRIMARY KEY (practice_id, id),
	UNIQUE (practice_id, ext_id),
	CHECK ((opted_out_at IS NULL) = (opt_out_source IS NULL))
);

-- Consents are kept as a history: a new consent is needed when the billing practitioner
-- changes, and a month is billed against the consent in force then.
CREATE TABLE consents (
	practice_id bigint NOT NULL,
	patient_id  bigint NOT NULL,
	given_at    timestamptz NOT NULL,
	npi         npi NOT NULL,
	method      text CHECK (method IN ('verbal', 'written')),
	documented  boolean NOT NULL,
	revoked_at  timestamptz CHECK (revoked_at >= given_at),
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	PRIMARY KEY (practice_id, patient_id, given_at, npi),
	FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id)
);

CREATE TABLE staff (
	practice_id bigint NOT NULL REFERENCES practices (id),
	id          bigint GENERATED ALWAYS AS IDENTITY,
	ext_id      external_id NOT NULL,
	name        text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
	credential  text NOT NULL DEFAULT '' CHECK (credential ~ '^([A-Z][A-Z0-9-]{0,15})?$'),
	role        text NOT NULL CHECK (role IN ('clinical', 'practitioner', 'non_clinical')),
	npi         npi,
	phone       e164,
	email       text CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	PRIMARY KEY (practice_id, id),
	UNIQUE (practice_id, ext_id)
);

-- Other services billed for a patient (by this or another practitioner) that decide whether
-- care management can be billed in the same month.
CREATE TABLE billed_services (
	practice_id  bigint NOT NULL,
	id           bigint GENERATED ALWAYS AS IDENTITY,
	patient_id   bigint NOT NULL,
	code         text NOT NULL CHECK (code ~ '^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$'),
	service_date date NOT NULL,
	npi          npi NOT NULL,
	created_at   timestamptz NOT NULL,
	PRIMARY KEY (practice_id, id),
	UNIQUE (practice_id, patient_id, code, service_date, npi),
	FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id)
);

-- One row per imported file, so that the same file is recognised when it comes again.
CREATE TABLE imports (
	practice_id bigint NOT NULL REFERENCES practices (id),
	id          bigint GENERATED ALWAYS AS IDENTITY,
	kind        text NOT NULL CHECK (kind IN ('patients', 'staff', 'services', 'time')),
	file_name   text NOT NULL,
	sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	rows        integer NOT NULL CHECK (rows >= 0),
	actor       text NOT NULL,
	imported_at timestamptz NOT NULL,
	PRIMARY KEY (practice_id, id)
);
CREATE INDEX imports_by_file ON imports (practice_id, kind, sha256);

-- Who did what to which record, when. Never updated or deleted.
CREATE TABLE audit_log (
	practice_id bigint NOT NULL,
	id          bigint GENERATED ALWAYS AS IDENTITY,
	at          timestamptz NOT NULL,
	actor       text NOT NULL CHECK (actor <> ''),
	action      text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
	entity      text NOT NULL,
	entity_id   text NOT NULL DEFAULT '',
	detail      jsonb NOT NULL DEFAULT '{}',
	PRIMARY KEY (practice_id, id)
);
CREATE INDEX audit_log_by_entity ON audit_log (practice_id, entity, entity_id, at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
