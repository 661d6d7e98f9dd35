package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/staff"
)

// AuditHandler serves GET /api/v1/audit[?from=RFC3339][&to=RFC3339][&entity=][&entity_id=][&actor=]:
// the newest 500 audit events that match (the last 7 days by default). Reading the log is
// itself audited. The route is for managers and admins.
func AuditHandler(d *sqlx.DB, practice int64, clock func() time.Time) APIFunc {
	return func(r *http.Request, who staff.Identity) (int, any, error) {
		q := r.URL.Query()
		now := clock()
		f := audit.Filter{From: now.AddDate(0, 0, -7), To: now.Add(time.Minute), Entity: q.Get("entity"),
			EntityID: q.Get("entity_id"), Actor: q.Get("actor")}
		for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
			if v := q.Get(name); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return 0, nil, errkind.Errorf(errkind.ErrInvalid, "%s %q is not an RFC 3339 time", name, v)
				}
				*dst = t
			}
		}
		entries, err := audit.List(r.Context(), d, practice, f, 500)
		if err != nil {
			return 0, nil, err
		}
		err = audit.Record(r.Context(), d, audit.Event{PracticeID: practice, At: now, Actor: who.Actor(),
			Action: "audit_log.read", Entity: "audit_log", Detail: map[string]any{"entity": f.Entity, "actor": f.Actor}})
		return http.StatusOK, entries, err
	}
}

// exportWriteWindow is how long an audit export may take to write the next lines: the deadline
// moves on as lines go out, so that a long export is not cut by the server's write timeout
// while a stalled reader still is.
const exportWriteWindow = 30 * time.Second

// AuditExportHandler serves GET /api/v1/audit/export?from=YYYY-MM-DD&to=YYYY-MM-DD: every audit
// event of those days (both included, in the practice's zone loc), oldest first, as JSON lines
// (application/x-ndjson), streamed. The export is itself audited, before the first line. The
// route is for managers and admins.
func AuditExportHandler(d *sqlx.DB, practice int64, loc *time.Location, clock func() time.Time, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := IdentityFrom(r.Context())
		if !ok {
			WriteError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		q := r.URL.Query()
		from, to, err := audit.DayRange(q.Get("from"), q.Get("to"), loc)
		if err != nil {
			Fail(w, log, errkind.Errorf(errkind.ErrInvalid, "%w", err))
			return
		}
		if err := audit.Record(r.Context(), d, audit.Event{PracticeID: practice, At: clock(), Actor: id.Actor(),
			Action: "audit_log.export", Entity: "audit_log",
			Detail: map[string]any{"from": q.Get("from"), "to": q.Get("to")}}); err != nil {
			Fail(w, log, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="audit-`+from.Format(time.DateOnly)+`-`+to.AddDate(0, 0, -1).Format(time.DateOnly)+`.jsonl"`)
		w.Header().Set("Cache-Control", "no-store")
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
		n, err := audit.Export(r.Context(), d, practice, from, to, w, func(n int) {
			if n%1000 == 0 {
				_ = rc.Flush()
				_ = rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
			}
		})
		if err != nil && n == 0 {
			w.Header().Del("Content-Disposition")
			Fail(w, log, err)
			return
		}
		if err != nil {
			// The status is sent: the reader sees a body cut short, without its last newline.
			log.Error("audit export failed", "lines", n, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}
