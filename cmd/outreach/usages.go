package main

import "slices"

// The command lines, in the order the overview lists them. Each command's flags are defined
// where it runs; its --help lists them with what is written here.

var serveUsage = cmdUsage{name: "serve", summary: "HTTP server, cron scheduler and dispatcher (migrates first)", about: `
Serves the care team's pages, the JSON API, the Twilio webhooks, /healthz, /readyz and /metrics
on OUTREACH_LISTEN, starts the check-ins that fall due every minute, and sends the outbox.
It creates the database named in DATABASE_URL when it is missing and applies pending migrations
first. It needs a channel: Twilio (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and TWILIO_FROM_NUMBER
or TWILIO_MESSAGING_SERVICE_SID), or OUTREACH_CHANNEL=simulator to send nothing; with Twilio,
OUTREACH_PUBLIC_URL must be an address Twilio can reach (not localhost). A database that does
not answer at start makes it exit with status 1 and the reason. SIGTERM or Ctrl-C stops it
gracefully, within 20 seconds whatever the database does.`}

var demoUsage = cmdUsage{name: "demo", summary: "a tour with no setup: demo database, simulated patients, the server", about: `
Recreates its own database outreach_demo on the server of DATABASE_URL (never the database named
there), imports demo staff and simulated patients, starts their check-ins at once and serves as
'serve' does, with the simulator in place of Twilio: nothing leaves this machine.`}

var migrateUsage = cmdUsage{name: "migrate", summary: "create the database if missing, apply pending migrations, exit", about: `
Creates the database named in DATABASE_URL when it is missing (and the server allows it), then
applies the pending migrations and exits. Every command but serve and demo needs a database
migrated this way. Several processes may migrate at once: each migration is applied once.`}

var importAbout = `
Reads a CSV file (UTF-8, a header row, columns in any order; - reads standard input) into the
database named in DATABASE_URL. The whole file is stored in one transaction or nothing is; every
problem is reported with its line and column.
`

var importUsages = []cmdUsage{
	{name: "import patients", args: "FILE.csv", min: 1, max: 1, summary: "add or update patients (by id)", about: importAbout + `
Rows are upserted by id. Columns: id (required), first_name, last_name, phone, timezone,
language, channel, chronic_conditions, short_term_conditions, billing_npi, programs, ccm_track,
pcm_track, consent_at,
consent_method, consent_documented, consent_npi, consent_revoked_at, initiating_visit_on,
care_plan_on, script, active. The README describes each.`},
	{name: "import staff", args: "FILE.csv", min: 1, max: 1, summary: "add or update staff members (by id)", about: importAbout + `
Rows are upserted by id. Columns: id (required), name, credential, role, npi, phone, email.`},
	{name: "import services", args: "FILE.csv", min: 1, max: 1, summary: "other services billed for a patient in a month", about: importAbout + `
Columns: patient, code (CPT/HCPCS), date, npi. A service already stored is not stored twice.`},
	{name: "import time", args: "FILE.csv", min: 1, max: 1, summary: "append staff time entries", about: importAbout + `
Columns: patients (;-separated for a shared activity), staff, program, started_at, ended_at or
minutes, activity, note, mdm, interactive, changed. The same file imported twice is refused.`},
	{name: "import fhir", args: "FILE.ndjson", min: 1, max: 1, summary: "add or update patients from a FHIR Bulk Data export", about: `
Reads a FHIR R4 Bulk Data export (NDJSON: one Patient or Condition resource a line; - reads
standard input) and stores its patients as a patients file would: upserted by id (the
resource id, else the first identifier's value) in one transaction, all or nothing, every
problem named by line, resource and element. Name, phone, language (en, es) and active come
from the Patient; each active Condition coded in ICD-10-CM is one of the patient's chronic
conditions (a patient with no Condition in the file keeps theirs). Consent, programs and
the check-in script are never read from FHIR: an imported patient is enrolled in nothing
until the practice says so.`},
	{name: "import readings", args: "FILE.csv", min: 1, max: 1, summary: "remote monitoring readings from devices or patients", about: importAbout + `
Columns: patient, device, type (blood_pressure, weight, glucose, spo2, heart_rate), taken_at
(RFC 3339 with offset), systolic and diastolic (blood pressure, mmHg) or value and unit (kg, lb,
mg/dL, %, bpm), manual (true when the patient typed it in). A reading already stored (same
patient, device, type and instant) is not stored again: the same file imported twice changes
nothing. Readings out of the patients' limits raise items on the queue.`},
}

var billingUsages = []cmdUsage{
	{name: "billing report", flags: "--month YYYY-MM [--format json|csv|text] [--all]", summary: "the month's billing report (a closed month's snapshot)", about: `
The month's billing report in the practice's time zone: one row per patient and program with
the counted time, the status, the codes and amounts, the reasons and the next code within reach.
A closed month shows its stored snapshot. Rows of enrolled patients with no time this month and
nothing else to report are left out (counted in hidden_rows); --all shows them.`},
	{name: "billing close", flags: "--month YYYY-MM", summary: "store the month's report as an immutable snapshot", about: `
Stores the month's report as an immutable snapshot and prints it as text; only once, and only
after the month ended.`},
	{name: "billing worklist", flags: "[--month YYYY-MM] [--within MINUTES]", summary: "patients close to their next threshold, most valuable first", about: `
Patients within reach of their next code while the month has days left, most valuable first,
as JSON. A patient is listed when the next code needs at most MINUTES more minutes (10 by
default). A patient with no counted time this month is never listed, however large MINUTES is:
nothing has been started, so they are no closer to a code than anyone enrolled (billing report
--all lists them). An RPM item whose code needs an interactive contact says so
("needs": "interactive_contact"); minutes_needed 0 there means the time is already enough.`},
}

var timeUsages = []cmdUsage{
	{name: "time history", args: "ENTRY_ID", min: 1, max: 1, summary: "an entry's versions: the original, amendments, a void", about: `
Prints a time entry's versions as JSON: the original, its amendments and a void, each with who,
when and why.`},
	{name: "time export", flags: "--month YYYY-MM", summary: "the month's entries with every audit element, as CSV", about: `
Prints the month's time entries as CSV with every element an auditor asks for: staff and
credential at the time, instants with the zone, activity, note, each patient's share,
amendments and voids.`},
	{name: "time conflicts", flags: "--month YYYY-MM", summary: "overlapping entries of one staff member", about: `
Prints, as JSON, the month's entries of one staff member that overlap, each with its patients:
their overlapping time counts for neither until one is amended.`},
	{name: "time amend", args: "ENTRY_ID", min: 1, max: 1,
		flags:   "[--minutes N | --started-at RFC3339 --ended-at RFC3339] [--activity A] [--note TEXT] [--changed C] [--mdm LEVEL] [--interactive true|false] --reason TEXT --as STAFF_ID",
		summary: "correct a time entry: a new version that supersedes it", about: `
Records a corrected version of a current time entry, acting as the staff member --as names:
the fields given replace the entry's, the others stay; the original stays stored, marked
superseded, with the reason. The staff member's rights apply as on the API: their own time, or
anyone's for a manager or an admin; only a practitioner documents their own MDM. The trail and
the audit log name them. Prints the new version as JSON, with its warnings (an overlap, a closed
month). Without --reason or --as it exits 2; an unknown entry or staff id, an entry already
amended or voided, a change that is not valid or an act the staff member may not do exits 1;
either way nothing is stored.`},
	{name: "time void", args: "ENTRY_ID", min: 1, max: 1, flags: "--reason TEXT --as STAFF_ID",
		summary: "withdraw a time entry, with the reason", about: `
Voids a current time entry, acting as the staff member --as names (their own time, or anyone's
for a manager or an admin): the entry stays stored and counts for nothing from then on; the
trail and the audit log name who voided it, when and why. Prints the void as JSON. Without
--reason or --as it exits 2; an unknown entry or staff id, an entry already voided or amended
or an act the staff member may not do exits 1; either way nothing is stored.`},
}

var auditUsages = []cmdUsage{
	{name: "audit export", flags: "--from YYYY-MM-DD --to YYYY-MM-DD [--out FILE]", summary: "the audit log of those days as JSON lines", about: `
Writes every audit event of the days from --from to --to (both included, in the practice's time
zone), oldest first, one JSON object a line: id, at, actor, staff, staff_name, action, entity,
entity_id, record, detail. The export is itself recorded in the audit log. Standard output, or
--out FILE (created with mode 0600; an existing file is refused).`},
}

var historyUsages = []cmdUsage{
	{name: "history partitions", summary: "the monthly partitions of texts, answers, audit events and time entries, with sizes", about: `
Lists the partitions of the tables of history (messages, checkin_answers, audit_log,
time_entries): one per UTC calendar month and a DEFAULT one each, with the planner's estimate of
their rows and their size on disk (table, indexes and TOAST), and the totals. Runs as the user of
DATABASE_URL.`},
	{name: "history retain", flags: "[--dry-run] [--archive DIR]", summary: "detach, or archive and drop, the months past retention", about: `
Applies the retention policy in one transaction: every monthly partition that ends on or before
the horizon (now less OUTREACH_RECORD_RETENTION_YEARS, at least 10) is detached from its table;
with --archive, it is also written to DIR/<partition>.jsonl.gz (one JSON object a line; a time
entry with its patients) and dropped, with the patients of its time entries. A month inside the
horizon is never touched. Texts older than OUTREACH_MESSAGE_RETENTION_MONTHS lose their words
(the rows stay, for threads and the record). Prints what it did, and records it in the audit
log; --dry-run prints what it would do and changes nothing. Runs as the user of DATABASE_URL.`},
}

var checkinsRunUsage = cmdUsage{name: "checkins run", flags: "[--at RFC3339]", summary: "one scheduling pass and dispatch until nothing is due", about: `
One scheduling pass (due check-ins, reminders, expiry) and dispatch passes until nothing more is
due, then prints what was done and exits. It sends through the channel serve would use, and
likewise refuses to start without one (Twilio, or OUTREACH_CHANNEL=simulator).`}

var scriptsValidateUsage = cmdUsage{name: "scripts validate", args: "FILE.yaml...", min: 1, max: -1, summary: "check check-in scripts and print what is wrong", about: `
Checks check-in script files and prints every problem with its line, or a summary of each valid
script; exits 1 when any file has a problem. Needs no database.`}

var staffUsages = []cmdUsage{
	{name: "staff token", flags: "[--ttl DURATION]", args: "STAFF_ID", min: 1, max: 1, summary: "print a new API token for that staff member", about: `
Prints a new API token for the staff member (for Authorization: Bearer TOKEN). Only its digest is
stored; keep it safe. It expires after --ttl (90 days unless given); an expired token is
refused. Disabling the account, a new password and 'staff revoke' revoke it.`},
	{name: "staff revoke", args: "STAFF_ID", min: 1, max: 1, summary: "revoke every API token and session of that staff member", about: `
Revokes every API token of the staff member and ends their sessions on the pages, at once; the
audit log records it. New tokens can be made with 'staff token'.`},
	{name: "staff password", args: "STAFF_ID [nurse|practitioner|manager|admin]", min: 1, max: 2, summary: "set a staff member's password for the pages", about: `
Sets the staff member's password for the pages (12 to 72 characters) and, when given, their
access. At a terminal it asks for the password twice without showing it; otherwise it reads one
line from standard input. The staff member's open sessions end and their API tokens are revoked.`},
}

var healthcheckUsage = cmdUsage{name: "healthcheck", summary: "ask the local server's /healthz (for container health checks)", about: `
Asks the server on this machine (the port of OUTREACH_LISTEN) for /healthz; exits 0 when it
answers 200. Made for container health checks.`}

// commands lists every command line, in the overview's order.
var commands = slices.Concat(
	[]cmdUsage{serveUsage, demoUsage, migrateUsage},
	importUsages, billingUsages, timeUsages, auditUsages, historyUsages,
	[]cmdUsage{checkinsRunUsage, scriptsValidateUsage}, staffUsages,
	[]cmdUsage{healthcheckUsage},
)

// groupAbout says what each group of commands is for, in the group's --help.
var groupAbout = map[string]string{
	"import":   "Imports a CSV file of patients, staff, services, time entries or readings.",
	"billing":  "The monthly billing report, its close, and the worklist of patients near a code.",
	"time":     "Staff time entries: an entry's history, the month's audit export, overlaps, amendments and voids.",
	"audit":    "The audit log: who did what to which record, and when.",
	"history":  "The monthly partitions of history and their retention.",
	"checkins": "Runs the check-ins from the command line.",
	"scripts":  "Check-in scripts.",
	"staff":    "Staff credentials: API tokens, their revocation and passwords for the pages.",
}
