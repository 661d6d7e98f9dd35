package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/ivr"
	"github.com/outreach-engine/outreach/outreach/simulator"
	"github.com/outreach-engine/outreach/staff"
)

// demoDatabase is the database the demo owns: it is dropped and made anew on every run, so the
// demo never touches the database named in DATABASE_URL.
const demoDatabase = "outreach_demo"

// demoPassword is the demo staff's password: the demo database is local and remade on each run.
const demoPassword = "demo-nurse-password"

// demoPatient is a simulated patient of the demo: fictional, with a 555-01xx number.
type demoPatient struct {
	id, first, last, phone, zone, lang, channel string
	programs                                    string   // ;-separated, as in the patients file
	replies                                     []string // on a call: key presses or words, the menu's "1" first
	role                                        string   // what the newcomer should see
	asks                                        string   // texted after the check-in: a question for the care team
	answers                                     []string // replies to what the care team writes
}

var demoPatients = []demoPatient{
	{"DEMO-01", "Alice", "Hart", "+15555550101", "America/New_York", "en", "sms", "ccm", []string{"8", "no", "1", "no"},
		"answers everything, all fine; then asks a question: answer her from the item", "One more thing: can I take ibuprofen for my knee with my blood pressure pills?",
		[]string{"Thank you! I'll take acetaminophen instead.", "Will do, thanks again."}},
	{"DEMO-02", "Beatriz", "Luna", "+15555550102", "America/Chicago", "es", "sms", "ccm", []string{"7", "sí", "tengo más tos y me siento peor", "olvidé algunas", "sí"}, "answers in Spanish: routine items", "", nil},
	{"DEMO-03", "Carl", "Stone", "+15555550103", "America/Denver", "en", "sms", "ccm", []string{"2", "yes", "I fell yesterday and I feel dizzy", "3", "yes"}, "concerning answers: high items", "", nil},
	{"DEMO-04", "Dolores", "Rey", "+15555550104", "America/Los_Angeles", "es", "sms", "ccm", []string{"3", "sí, me duele el pecho"}, "emergency words: urgent item, told to call 911", "", nil},
	{"DEMO-05", "Ed", "Quill", "+15555550105", "America/New_York", "en", "sms", "ccm", nil, "stays silent: reminder, then expiry", "", nil},
	{"DEMO-06", "Fay", "Moss", "+15555550106", "America/New_York", "en", "sms", "ccm", []string{"STOP"}, "texts STOP: opted out, never texted again", "", nil},
	{"DEMO-07", "Gus", "Pike", "+15555550107", "America/Phoenix", "en", "sms", "ccm", []string{"banana", "??", "dunno", "no", "yes, all", "no"}, "unreadable replies: re-asked twice, then a human", "", nil},
	{"DEMO-08", "Hal", "Ortiz", "+15555550108", "America/New_York", "en", "voice", "ccm;rpm", []string{"1", "6", "", "yes", "my ankles have more swelling", "1", "no"}, "landline: a phone call, keypad and speech, one silence re-asked", "", nil},
}

// demo runs a tour that needs nothing set up: its own database with demo staff and patients,
// the simulator (whose patients answer), quiet hours off, and the server.
func (a *app) demo(ctx context.Context, args []string) error {
	if _, err := a.parse(demoUsage, nil, args); err != nil {
		return err
	}
	conn, err := db.ReplaceDatabase(a.cfg.DatabaseURL, demoDatabase)
	if err != nil {
		return err
	}
	if err := db.Drop(ctx, conn); err != nil {
		return fmt.Errorf("error resetting the demo database: %w", err)
	}
	a.cfg.DatabaseURL = conn
	a.cfg.Channel, a.cfg.ChannelSet = channelSimulator, true
	a.cfg.Quiet = practice.QuietHours{}
	if len(a.cfg.OnCall) == 0 {
		a.cfg.OnCall = []string{"RN-DEMO"} // the demo nurse is paged about urgent items
	}
	if a.cfg.Practice.Name == "" {
		a.cfg.Practice = outreach.Contact{Name: "Demo Family Medicine", Phone: "+15555550100"}
	}
	ln, d, err := a.listenAndOpen(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	token, err := a.seedDemo(ctx, d)
	if err != nil {
		ln.Close()
		return err
	}
	recorded, skipped, err := a.seedDemoMonth(ctx, d)
	if err != nil {
		ln.Close()
		return err
	}
	lib, err := a.loadScripts()
	if err != nil {
		ln.Close()
		return err
	}
	var eng *outreach.Engine
	sim := simulator.New(ctx, a.log, simulator.Hooks{
		Delivered: func(ctx context.Context, id int64, sid string) {
			if _, err := eng.UpdateStatus(ctx, outreach.Report{Message: id, SID: sid, Status: "delivered"}); err != nil && ctx.Err() == nil {
				a.log.Error("simulated delivery report failed", "message", id, "err", err)
			}
		},
		Replied: func(ctx context.Context, in outreach.Inbound) {
			h, err := eng.Receive(ctx, in)
			if err != nil && ctx.Err() == nil {
				a.log.Error("simulated reply failed", "sid", in.SID, "err", err)
				return
			}
			a.log.Info("simulated reply", "sid", in.SID, "handled", string(h))
		},
		Answered: func(ctx context.Context, call int64, sid, by string) (ivr.Turn, error) {
			return eng.CallAnswered(ctx, call, sid, by)
		},
		Input: func(ctx context.Context, call int64, step string, in ivr.Input) (ivr.Turn, error) {
			return eng.CallInput(ctx, call, step, in)
		},
		CallStatus: func(ctx context.Context, r outreach.CallReport) {
			if _, err := eng.UpdateCallStatus(ctx, r); err != nil && ctx.Err() == nil {
				a.log.Error("simulated call status failed", "call", r.Call, "err", err)
			}
		},
	})
	for _, p := range demoPatients {
		sim.AddPatient(p.phone, simulator.Patient{Replies: p.replies, Asks: p.asks, Answers: p.answers})
	}
	eng = a.engine(d, lib, sim)

	srv, rt := a.newServer(d, eng)
	a.routes(srv, d, eng)

	// The demo patients' monthly check-ins start now rather than on the 1st.
	for _, p := range demoPatients {
		var id int64
		if err := d.GetContext(ctx, &id, "SELECT id FROM patients WHERE ext_id = $1", p.id); err != nil {
			return fmt.Errorf("error finding demo patient %s: %w", p.id, err)
		}
		if _, err := eng.StartNow(ctx, outreach.PatientID(id), outreach.DefaultScript); err != nil {
			return err
		}
	}
	a.printDemo(token, recorded, skipped)
	go a.demoSummary(ctx, d)
	return a.run(ctx, srv, ln, eng, rt)
}

// seedDemo imports the demo staff and patients and returns an API token for the demo nurse.
func (a *app) seedDemo(ctx context.Context, d *sqlx.DB) (string, error) {
	opt := imports.Options{Practice: a.cfg.practiceSettings(), Actor: audit.ActorSystem, Now: a.now()}
	staffCSV := "id,name,credential,role,npi,phone\nRN-DEMO,Nora Demo,RN,clinical,,+15555550199\nMD-DEMO,Mark Demo,MD,practitioner,1234567893,\n"
	if _, err := staff.ImportFile(ctx, d, "demo-staff.csv", strings.NewReader(staffCSV), opt); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("id,first_name,last_name,phone,timezone,language,channel,chronic_conditions,billing_npi,programs,consent_at,consent_method,initiating_visit_on,care_plan_on\n")
	since := a.now().In(a.cfg.Location).AddDate(0, -2, 0).Format("2006-01-02")
	for _, p := range demoPatients {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,I10;E11.9,1234567893,%s,%s,verbal,%s,%s\n",
			p.id, p.first, p.last, p.phone, p.zone, p.lang, p.channel, p.programs, since, since, since)
	}
	if _, err := outreach.ImportPatients(ctx, d, "demo-patients.csv", strings.NewReader(b.String()), opt); err != nil {
		return "", err
	}
	for member, access := range map[string]staff.Access{"RN-DEMO": staff.AccessNurse, "MD-DEMO": staff.AccessAdmin} {
		if err := staff.SetPassword(ctx, d, int64(opt.Practice.ID), member, demoPassword, string(access), audit.ActorSystem, a.now()); err != nil {
			return "", err
		}
	}
	return staff.NewToken(ctx, d, int64(opt.Practice.ID), "RN-DEMO", audit.ActorSystem, a.now())
}

func (a *app) printDemo(token string, recorded, skipped int) {
	base := a.cfg.PublicURL.String()
	var b strings.Builder
	fmt.Fprintf(&b, "\nOutreach demo: %d simulated patients get their monthly check-in now, by text or by phone.\n", len(demoPatients))
	fmt.Fprintf(&b, "Nothing leaves this machine: the simulator stands in for Twilio, and its patients answer.\n\n")
	for _, p := range demoPatients {
		fmt.Fprintf(&b, "  %s  %-3s %-5s %s\n", p.id, p.lang, p.channel, p.role)
	}
	fmt.Fprintf(&b, "\nThe queue fills as patients answer: open %s/ and log in as RN-DEMO (a nurse) or MD-DEMO\n", base)
	fmt.Fprintf(&b, "(a practitioner with admin access: also the audit log and staff), password %s.\n", demoPassword)
	if recorded > 0 {
		fmt.Fprintf(&b, "\nThe care team's time this month so far (%d entries, from worked items and timers) is billed on\n", recorded)
		fmt.Fprintf(&b, "%s/billing (as MD-DEMO): codes, amounts, and the worklist of patients a few minutes short.\n", base)
	}
	if skipped > 0 {
		fmt.Fprintf(&b, "The month began too recently to hold %d more pieces of the demo's work: its billing is partial.\n", skipped)
	}
	fmt.Fprintf(&b, "\nWatch the log below, then ask the API (token of the demo nurse RN-DEMO):\n")
	fmt.Fprintf(&b, "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/patients/DEMO-03/checkins\n", token, base)
	fmt.Fprintf(&b, "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/patients/DEMO-08/checkins   # the phone call\n", token, base)
	fmt.Fprintf(&b, "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/patients/DEMO-01/messages   # her question, after her check-in\n", token, base)
	fmt.Fprintf(&b, "  curl -s -H 'Authorization: Bearer %s' -d '{\"body\": \"Please take acetaminophen instead.\"}' %s/api/v1/patients/DEMO-01/messages   # answer her\n", token, base)
	fmt.Fprintf(&b, "  curl -s %s/metrics | grep ^outreach\n", base)
	fmt.Fprintf(&b, "Database: %s (recreated on each run). Stop with Ctrl-C.\n\n", demoDatabase)
	fmt.Fprint(a.stdout, b.String())
}

// demoSummary prints counts (never patient data) every few seconds until ctx ends.
func (a *app) demoSummary(ctx context.Context, d *sqlx.DB) {
	var last string
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(3 * time.Second):
		}
		line, err := demoSummaryLine(ctx, d)
		if err == nil && line != last {
			fmt.Fprintln(a.stdout, line)
			last = line
		}
	}
}

const selectDemoCounts = `
SELECT
	(SELECT count(*) FROM checkins WHERE status = 'open') AS open,
	(SELECT count(*) FROM checkins WHERE status = 'completed') AS completed,
	(SELECT count(*) FROM messages WHERE direction = 'out' AND status IN ('sent', 'delivered')) AS sent,
	(SELECT count(*) FROM messages WHERE direction = 'in') AS received,
	(SELECT count(*) FROM calls WHERE status = 'completed') AS calls,
	(SELECT count(*) FROM patients WHERE opted_out_at IS NOT NULL) AS opted_out,
	(SELECT count(*) FROM escalations WHERE status <> 'resolved' AND severity = 'urgent') AS urgent,
	(SELECT count(*) FROM escalations WHERE status <> 'resolved' AND severity = 'high') AS high,
	(SELECT count(*) FROM escalations WHERE status <> 'resolved' AND severity = 'routine') AS routine,
	(SELECT count(*) FROM escalations WHERE status = 'resolved') AS resolved`

// demoSummaryLine counts where the demo stands; the queue's counts are the items still to work.
func demoSummaryLine(ctx context.Context, d *sqlx.DB) (string, error) {
	var s struct {
		Open      int `db:"open"`
		Completed int `db:"completed"`
		Sent      int `db:"sent"`
		Received  int `db:"received"`
		Calls     int `db:"calls"`
		OptedOut  int `db:"opted_out"`
		Urgent    int `db:"urgent"`
		High      int `db:"high"`
		Routine   int `db:"routine"`
		Resolved  int `db:"resolved"`
	}
	if err := d.GetContext(ctx, &s, selectDemoCounts); err != nil {
		return "", fmt.Errorf("error counting the demo's progress: %w", err)
	}
	return fmt.Sprintf("demo: check-ins %d open, %d completed | texts %d sent, %d received | calls %d completed | %d opted out | "+
		"queue: %d urgent, %d high, %d routine to work, %d resolved",
		s.Open, s.Completed, s.Sent, s.Received, s.Calls, s.OptedOut, s.Urgent, s.High, s.Routine, s.Resolved), nil
}
