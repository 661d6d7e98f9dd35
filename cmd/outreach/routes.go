package main

import (
	"net/http"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/fhir"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/twilio"
	"github.com/outreach-engine/outreach/staff"
	"github.com/outreach-engine/outreach/timelog"
	"github.com/outreach-engine/outreach/ui"
)

// monitoring returns remote monitoring's service, counting in the server's metrics when they
// are registered.
func (a *app) monitoring(d *sqlx.DB) *monitoring.Service {
	return &monitoring.Service{DB: d, Practice: a.cfg.practiceSettings().ID, Location: a.cfg.Location, Clock: a.now,
		Metrics: a.readings, Escalations: a.escalations, Log: a.log}
}

func (a *app) timelog(d *sqlx.DB) *timelog.Service {
	return &timelog.Service{DB: d, Practice: a.cfg.practiceSettings().ID, Location: a.cfg.Location, Clock: a.now}
}

// fhirBase is the absolute URL of the FHIR surface, as clients reach it.
func (a *app) fhirBase() string {
	if a.cfg.PublicURL == nil {
		return fhir.Prefix
	}
	return strings.TrimSuffix(a.cfg.PublicURL.String(), "/") + fhir.Prefix
}

// securedRoutes registers routes with the security headers set on their every answer.
type securedRoutes struct {
	server  *web.Server
	headers web.Headers
}

// Handle registers h for the pattern, behind the headers.
func (s securedRoutes) Handle(pattern string, h http.Handler) {
	s.server.Handle(pattern, s.headers.Wrap(h))
}

// accounts returns the care team's logins and sessions as configured.
func (a *app) accounts(d *sqlx.DB) *web.Accounts {
	return &web.Accounts{Sessions: &staff.Sessions{DB: d, Practice: a.cfg.practiceSettings().ID, Clock: a.now, Idle: a.cfg.SessionIdle},
		Secure:  a.cfg.PublicURL != nil && a.cfg.PublicURL.Scheme == "https",
		Proxies: web.Proxies{Trusted: a.cfg.TrustedProxies, Header: a.cfg.ProxyHeader}}
}

// routes lists every route of the API and the webhooks, in one place.
func (a *app) routes(server *web.Server, d *sqlx.DB, eng *outreach.Engine) {
	srv := securedRoutes{server: server, headers: web.Headers{HTTPS: a.cfg.PublicURL != nil && a.cfg.PublicURL.Scheme == "https"}}
	api := func(h http.Handler) http.Handler { return web.RequireToken(d, a.now, h) }
	// jsonAPI serves a route of the JSON API (see web.API).
	jsonAPI := func(f web.APIFunc) http.Handler { return api(web.API(a.log, f)) }
	signed := twilio.Verify(a.cfg.Twilio.AuthToken, a.cfg.PublicURL)

	// A webhook answers within its deadline, even when its text waits behind others in the inbox.
	srv.Handle("POST /webhooks/twilio/sms", signed(web.Within(outreach.WebhookDeadline,
		"the message could not be stored; try again", http.HandlerFunc(eng.SMSWebhook))))
	srv.Handle("POST /webhooks/twilio/status", signed(web.Within(outreach.WebhookDeadline,
		"the report could not be stored; try again", http.HandlerFunc(eng.StatusWebhook))))
	srv.Handle("POST /webhooks/twilio/voice/", signed(twilio.VoiceHandler(eng, a.cfg.PublicURL, a.log)))
	srv.Handle("GET /api/v1/patients/{id}/checkins", jsonAPI(eng.CheckinsHandler))
	srv.Handle("GET /api/v1/patients/{id}/messages", jsonAPI(eng.MessagesHandler))
	srv.Handle("POST /api/v1/patients/{id}/messages", api(web.APIBody(a.log, eng.SendMessageHandler)))
	srv.Handle("POST /api/v1/escalations/{id}/attach", api(web.APIBody(a.log, eng.AttachHandler)))
	srv.Handle("GET /api/v1/audit", web.RequireToken(d, a.now, web.RequireAccess(
		web.API(a.log, web.AuditHandler(d, int64(a.cfg.practiceSettings().ID), a.now)), staff.AccessManager, staff.AccessAdmin)))
	srv.Handle("GET /api/v1/audit/export", web.RequireToken(d, a.now, web.RequireAccess(
		web.AuditExportHandler(d, int64(a.cfg.practiceSettings().ID), a.cfg.Location, a.now, a.log), staff.AccessManager, staff.AccessAdmin)))

	queue := &escalation.Queue{DB: d, Practice: a.cfg.practiceSettings().ID, Clock: a.now, Metrics: a.escalations}
	qh := &escalation.Handlers{Queue: queue}
	srv.Handle("GET /api/v1/escalations", jsonAPI(qh.List))
	srv.Handle("GET /api/v1/escalations/{id}", jsonAPI(qh.Get))
	srv.Handle("POST /api/v1/escalations/{id}/claim", jsonAPI(qh.Claim))
	srv.Handle("POST /api/v1/escalations/{id}/release", jsonAPI(qh.Release))
	srv.Handle("POST /api/v1/escalations/{id}/reassign", web.RequireToken(d, a.now,
		web.RequireAccess(web.APIBody(a.log, qh.Reassign), staff.AccessManager, staff.AccessAdmin)))
	srv.Handle("POST /api/v1/escalations/{id}/resolve", api(web.APIBody(a.log, qh.Resolve)))

	th := &timelog.Handlers{Svc: a.timelog(d), Log: a.log, Location: a.cfg.Location}
	srv.Handle("POST /api/v1/time-entries", api(web.APIBody(a.log, th.Create)))
	srv.Handle("GET /api/v1/time-entries", jsonAPI(th.List))
	srv.Handle("GET /api/v1/time-entries/export", api(http.HandlerFunc(th.Export)))
	srv.Handle("GET /api/v1/time-entries/conflicts", jsonAPI(th.Conflicts))
	srv.Handle("GET /api/v1/time-entries/{id}/history", jsonAPI(th.History))
	srv.Handle("POST /api/v1/time-entries/{id}/amend", api(web.APIBody(a.log, th.Amend)))
	srv.Handle("POST /api/v1/time-entries/{id}/void", api(web.APIBody(a.log, th.Void)))
	srv.Handle("POST /api/v1/timers", api(web.APIBody(a.log, th.StartTimer)))
	srv.Handle("POST /api/v1/timers/{id}/stop", api(web.APIBody(a.log, th.StopTimer)))

	bh := &billing.Handlers{Store: a.billingStore(d), Log: a.log}
	srv.Handle("GET /api/v1/billing/report", api(http.HandlerFunc(bh.ReportHandler)))
	srv.Handle("GET /api/v1/billing/worklist", jsonAPI(bh.WorklistHandler))

	mh := &monitoring.Handlers{Svc: a.monitoring(d)}
	srv.Handle("POST /api/v1/readings", api(web.APIBody(a.log, mh.Receive)))
	srv.Handle("GET /api/v1/patients/{id}/reading-limits", jsonAPI(mh.Limits))
	srv.Handle("PUT /api/v1/patients/{id}/reading-limits", api(web.APIBody(a.log, mh.SetLimits)))

	fh := &fhir.Server{DB: d, Engine: eng, Readings: a.monitoring(d), Queue: queue, Base: a.fhirBase(), Log: a.log}
	srv.Handle(fhir.Prefix+"/", fh.Handler(api))
	srv.Handle(fhir.Prefix, fh.Handler(api))

	pages := &ui.Pages{DB: d, Practice: a.cfg.practiceSettings().ID, Queue: queue, Engine: eng,
		Time: a.timelog(d), Billing: a.billingStore(d), Location: a.cfg.Location, Log: a.log,
		Accounts: a.accounts(d), Readings: a.monitoring(d)}
	srv.Handle("/", pages.Handler())

	srv.Handle("/api/", jsonAPI(func(r *http.Request, _ staff.Identity) (int, any, error) {
		return 0, nil, errkind.Errorf(errkind.ErrNotFound, "no such API route: %s %s", r.Method, r.URL.Path)
	}))
}
